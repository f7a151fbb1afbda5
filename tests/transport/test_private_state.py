"""`lean_async.transport._private_state`: every shortcut is on with the pinned versions, agrees
with httpx's public path, no other module touches a private attribute, and the client
works the same with every shortcut off."""

from __future__ import annotations

import ast
import asyncio
import datetime as dt
import json
import socket
import types
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import lean_async
from lean_async import LeanClient
from lean_async._config import Backend
from lean_async.sandbox import DropAfterCommit, Sandbox, running_server
from lean_async.testing import set_testing
from lean_async.transport import _private_state
from tests.e2e.conftest import gig_args, new_customer

PACKAGE = Path(lean_async.__file__).parent
REQUEST = httpx.Request("GET", "http://127.0.0.1/x")


def test_every_shortcut_is_on_with_the_pinned_versions() -> None:
    """httpx and the json module still have the shapes the shortcuts rely on."""
    assert set(_private_state.ACTIVE) == set(_private_state.PUBLIC)
    for name, public in _private_state.PUBLIC.items():
        assert getattr(_private_state, name) is not public, name


def test_no_other_module_touches_another_librarys_private_attributes() -> None:
    """Outside `_private_state` no code reads or writes a private name of httpx, aiohttp, asyncio,
    httpcore, anyio or OpenTelemetry.

    Checked on the syntax tree: an attribute starting with one underscore on anything
    but ``self``/``cls``, a lean_async module or a lean_async object.
    """
    private = {
        "_list",
        "_content",
        "_request",
        "_num_bytes_downloaded",
        "_uri_reference",
        "_TRACER_PROVIDER",
        "_METER_PROVIDER",
        "_ProxyMeterProvider",
        "_internal",
        "_real_tracer",
        "_tracer",
        # what dropping a pool without its loop reads (asyncio, aiohttp, httpcore, anyio)
        "_ssl_protocol",
        "_sock",
        "_closing",
        "_conns",
        "_acquired",
        "_cleanup_closed_transports",
        "_pool",
        "_connections",
        "_network_stream",
        "_stream",
        "_transport",
    }
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "_private_state.py":
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in private:
                owner = node.value
                if isinstance(owner, ast.Name) and owner.id in {"self", "cls"}:
                    continue
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} .{node.attr}")
            if isinstance(node, ast.ImportFrom) and node.module and "._internal" in node.module:
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.module}")
    assert found == []


def test_a_read_response_holds_its_content_either_way() -> None:
    """The fast path stores the body on the same object; the public one builds a new one."""

    def fresh() -> httpx.Response:
        headers = [(b"Content-Encoding", b"gzip"), (b"Content-Type", b"application/json")]
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(b""), request=REQUEST)

    original = fresh()
    fast = _private_state.read_response(original, b'{"a":1}', REQUEST)
    public = _private_state.PUBLIC["read_response"](fresh(), b'{"a":1}', REQUEST)
    assert fast is original
    assert fast.json() == public.json() == {"a": 1}
    assert public.request is REQUEST
    assert "content-encoding" not in public.headers  # the content is decoded already


def test_built_requests_agree() -> None:
    """The request without its constructor's copies is the request httpx builds."""
    headers = httpx.Headers({"Host": "h", "Content-Length": "2"})
    url = httpx.URL("https://h/api/gig")
    args = ("POST", url, headers, b"{}", {"timeout": None})
    fast, public = _private_state.new_request(*args), _private_state.PUBLIC["new_request"](*args)
    assert vars(fast).keys() == vars(public).keys()
    assert (fast.method, fast.url, fast.content) == (public.method, public.url, public.content)
    assert fast.headers.multi_items() == public.headers.multi_items()
    assert fast.url is public.url is url  # shared, not copied: the aiohttp base keys on it
    assert fast.headers is headers  # the call's own, not copied


@pytest.mark.parametrize("path", ["gig", "gig/g-1", "customer/uid%2F1", "specialpayment/a_b~c"])
def test_joined_paths_agree(path: str) -> None:
    """A plain relative path below the base gives the URL httpx parses."""
    text = "https://app.staging.withlean.com/api/"
    base = httpx.URL(text)
    fast = _private_state.join_path(base, text, path)
    assert fast == _private_state.PUBLIC["join_path"](base, text, path)
    assert str(fast) == text + path


@pytest.fixture
def public_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every shortcut off: what a future httpx without those shapes gets."""
    for name, public in _private_state.PUBLIC.items():
        monkeypatch.setattr(_private_state, name, public)
    set_testing(True)
    yield
    set_testing(False)


@pytest.mark.parametrize("backend", ["aiohttp", "httpx"])
async def test_the_client_works_the_same_with_every_shortcut_off(
    public_only: None, backend: Backend
) -> None:
    """Create (with a lost answer reconciled), get, list and the key redaction, on a socket."""
    async with (
        Sandbox() as sandbox,
        running_server(sandbox) as url,
        LeanClient(api_key=sandbox.api_key, base_url=url, backend=backend) as lean,
    ):
        await new_customer(lean)
        sandbox.activate_customer("uid_1")
        sandbox.faults.add(DropAfterCommit(), route="POST /gig")
        gig = await lean.gigs.create(**gig_args(1))
        assert (await lean.gigs.get(gig.gig_id)) == gig
        assert [g.gig_id for g in await lean.gigs.list()] == [gig.gig_id]
        response = await lean.request("GET", "gig")
        assert response.request.headers["authorization"] == "Basic [REDACTED]"
        assert json.loads(response.content)[0]["gigId"] == gig.gig_id
        payment = await lean.special_payments.create(
            partner_user_id="uid_1", amount="1.00", type="bonus", description="caf\u00e9 \u2028"
        )
        assert payment.description == "caf\u00e9 \u2028"
    assert len(sandbox.gigs) == 1
    assert gig.start_time.tzinfo is dt.UTC


# The private function behind each shortcut, by the shortcut's name.
FAST_FUNCTIONS = {
    "new_request": "_fast_request",
    "read_response": "_fast_read",
    "join_path": "_fast_join",
}


@pytest.mark.parametrize("name", sorted(FAST_FUNCTIONS))
def test_a_shortcut_whose_private_shape_is_gone_falls_back_to_the_public_path(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An httpx that renamed what a shortcut reaches for turns that shortcut alone off."""

    def renamed(*args: object) -> object:
        raise AttributeError(f"'{name}' object has no attribute '_renamed_in_a_new_release'")

    monkeypatch.setattr(_private_state, FAST_FUNCTIONS[name], renamed)
    active = _private_state._agreeing()
    assert active == _private_state.ACTIVE - {name}
    assert _private_state._chosen(name, active) is _private_state.PUBLIC[name]


def test_a_shortcut_that_disagrees_with_the_public_path_is_left_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A shortcut that runs but builds something else than httpx does is not used."""
    elsewhere = httpx.URL("https://elsewhere.invalid/")
    monkeypatch.setattr(_private_state, "_fast_join", lambda base, text, path: elsewhere)
    active = _private_state._agreeing()
    assert "join_path" not in active
    base = httpx.URL("https://h/api/")
    joined = _private_state._chosen("join_path", active)(base, "https://h/api/", "gig/g-1")
    assert joined == httpx.URL("https://h/api/gig/g-1")


class _Transport:
    """The few attributes of an asyncio transport that closing its socket looks at."""

    def __init__(self, sock: object, *, closing: bool | None = None) -> None:
        self._sock = sock
        if closing is not None:
            self._closing = closing


def test_close_socket_closes_the_socket_under_a_transport() -> None:
    """The socket is closed and let go; a transport that tracks closing is marked closing."""
    with socket.socket() as sock:
        transport = _Transport(sock, closing=False)
        assert _private_state.close_socket(transport) is True  # type: ignore[arg-type]
        assert sock.fileno() == -1
        assert (transport._sock, transport._closing) == (None, True)


def test_close_socket_without_a_closing_flag() -> None:
    """A transport with no closing flag gets none: only its socket is closed."""
    with socket.socket() as sock:
        transport = _Transport(sock)
        assert _private_state.close_socket(transport) is True  # type: ignore[arg-type]
        assert sock.fileno() == -1
        assert not hasattr(transport, "_closing")


@pytest.mark.parametrize("transport", [None, _Transport(None), _Transport("not a socket")])
def test_close_socket_finds_nothing_to_close(transport: object) -> None:
    """No transport, or one whose socket is not there (a changed library): nothing is done."""
    assert _private_state.close_socket(transport) is False  # type: ignore[arg-type]


def test_close_socket_under_tls_marks_the_tls_transport_closed() -> None:
    """Under TLS the socket is the one of the transport below, and the TLS one is marked closed."""
    with socket.socket() as sock:
        below = _Transport(sock)
        tls = types.SimpleNamespace(_ssl_protocol=types.SimpleNamespace(_transport=below))
        assert _private_state.close_socket(tls) is True  # type: ignore[arg-type]
        assert tls._closed is True
        assert sock.fileno() == -1


class _Session:
    """An aiohttp session as `abandon` sees it: closed or not, its connector, detach()."""

    def __init__(self, connector: object, *, closed: bool = False) -> None:
        self.closed = closed
        self.connector = connector
        self.detached = False

    def detach(self) -> None:
        self.detached = True


class _Pool(httpx.AsyncBaseTransport):
    """Our aiohttp base as `abandon` sees it: a session and a closed flag."""

    def __init__(self, session: _Session | None) -> None:
        self._session = session
        self._closed = False


def test_abandon_closes_idle_and_acquired_connections_of_an_aiohttp_session() -> None:
    """Every socket the connector holds is closed, its lists emptied, the session detached."""
    with socket.socket() as idle, socket.socket() as busy:
        connector = types.SimpleNamespace(
            _conns={("h", 80): [(types.SimpleNamespace(transport=_Transport(idle)), 0.0)]},
            _acquired=[types.SimpleNamespace(transport=_Transport(busy))],
            _cleanup_closed_transports=[None],
        )
        session = _Session(connector)
        pool = _Pool(session)
        _private_state.abandon(pool)
        assert (idle.fileno(), busy.fileno()) == (-1, -1)
        assert (connector._conns, connector._acquired) == ({}, [])
        assert connector._cleanup_closed_transports == []
        assert session.detached
        assert pool._closed


def test_abandon_leaves_a_closed_session_alone() -> None:
    """A session closed already is neither touched nor detached again."""
    with socket.socket() as idle:
        connector = types.SimpleNamespace(
            _conns={("h", 80): [(types.SimpleNamespace(transport=_Transport(idle)), 0.0)]}
        )
        session = _Session(connector, closed=True)
        _private_state.abandon(_Pool(session))
        assert idle.fileno() != -1
        assert not session.detached


def test_abandon_a_session_without_a_connector_detaches_it() -> None:
    """A session whose connector is gone is detached, with nothing else to close."""
    session = _Session(None)
    _private_state.abandon(_Pool(session))
    assert session.detached


def test_abandon_something_else_does_nothing() -> None:
    """A pool of a kind it does not know (no session, no httpx pool) is left as it is."""
    pool = _Pool(None)
    _private_state.abandon(pool)
    assert pool._closed is False


def test_an_httpcore_connection_without_a_stream_has_no_transport() -> None:
    """A connection nested deeper than httpcore nests them yields no transport to close."""
    node: object = None
    for _ in range(6):
        node = types.SimpleNamespace(_connection=node, _network_stream=None)
    assert _private_state._httpcore_transport(node) is None


def test_the_transport_under_tls_in_a_proxied_httpcore_connection_is_found() -> None:
    """From the pool entry through the proxy connection and anyio's TLS wrapper to the socket's."""
    transport = asyncio.BaseTransport()
    tls = types.SimpleNamespace(transport_stream=types.SimpleNamespace(_transport=transport))
    proxied = types.SimpleNamespace(_network_stream=types.SimpleNamespace(_stream=tls))
    entry = types.SimpleNamespace(_network_stream=None, _connection=proxied)
    assert _private_state._httpcore_transport(entry) is transport

"""`lean_async.transport._private_state`: every shortcut is on with the pinned versions, agrees
with httpx's public path, no other module touches a private attribute, and the client
works the same with every shortcut off."""

from __future__ import annotations

import ast
import datetime as dt
import json
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

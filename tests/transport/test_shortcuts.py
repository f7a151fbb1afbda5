"""`lean_async.transport._shortcuts`: every shortcut is on with the pinned versions, agrees
with httpx's public path, and the client works the same with every one of them off."""

from __future__ import annotations

import ast
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lean_async
from lean_async import LeanClient
from lean_async._config import Backend
from lean_async.sandbox import DropAfterCommit, Sandbox, running_server
from lean_async.testing import set_testing
from lean_async.transport import _shortcuts
from tests.e2e.conftest import gig_args, new_customer

PACKAGE = Path(lean_async.__file__).parent
REQUEST = httpx.Request("GET", "http://127.0.0.1/x")
RAW = ((b"Set-Cookie", b"a=1"), (b"set-cookie", b"b=2"), (b"X-Name", b"caf\xc3\xa9"))


def test_every_shortcut_is_on_with_the_pinned_versions() -> None:
    """httpx and the json module still have the shapes the shortcuts rely on."""
    assert set(_shortcuts.ACTIVE) == set(_shortcuts.PUBLIC)
    for name, public in _shortcuts.PUBLIC.items():
        assert getattr(_shortcuts, name) is not public, name


def test_no_other_module_touches_another_librarys_private_attributes() -> None:
    """Outside the shortcuts module no code reads or writes an httpx/aiohttp/otel private name.

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
    }
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "_shortcuts.py":
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


def test_responses_are_built_as_httpx_builds_them() -> None:
    """Repeated headers, non-ASCII values, the request and the reason phrase all agree."""
    args = (404, RAW, httpx.ByteStream(b""), {"reason_phrase": b"Not Found"}, REQUEST)
    fast = _shortcuts.new_response(*args)
    public = _shortcuts.PUBLIC["new_response"](*args)
    assert vars(fast).keys() == vars(public).keys()
    assert fast.headers.get_list("set-cookie") == public.headers.get_list("set-cookie")
    assert fast.headers.raw == public.headers.raw == list(RAW)
    assert fast.request is public.request is REQUEST
    assert fast.reason_phrase == public.reason_phrase == "Not Found"


def test_a_read_response_holds_its_content_either_way() -> None:
    """The fast path stores the body on the same object; the public one builds a new one."""

    def fresh() -> httpx.Response:
        headers = [(b"Content-Encoding", b"gzip"), (b"Content-Type", b"application/json")]
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(b""), request=REQUEST)

    original = fresh()
    fast = _shortcuts.read_response(original, b'{"a":1}', REQUEST)
    public = _shortcuts.PUBLIC["read_response"](fresh(), b'{"a":1}', REQUEST)
    assert fast is original
    assert fast.json() == public.json() == {"a": 1}
    assert public.request is REQUEST
    assert "content-encoding" not in public.headers  # the content is decoded already


def test_built_requests_agree() -> None:
    """The request without its constructor's copies is the request httpx builds."""
    headers = httpx.Headers({"Host": "h", "Content-Length": "2"})
    url = httpx.URL("https://h/api/gig")
    args = ("POST", url, headers, b"{}", {"timeout": None})
    fast, public = _shortcuts.new_request(*args), _shortcuts.PUBLIC["new_request"](*args)
    assert vars(fast).keys() == vars(public).keys()
    assert (fast.method, fast.url, fast.content) == (public.method, public.url, public.content)
    assert fast.headers.multi_items() == public.headers.multi_items()
    assert fast.url is url  # shared, not copied


@given(st.text())
def test_json_strings_are_what_the_encoder_writes(value: str) -> None:
    """Any string, control characters and surrogates included, is escaped as json does."""
    fast = _shortcuts.json_string(value)
    assert fast == _shortcuts.PUBLIC["json_string"](value)
    assert json.loads(fast) == value


@pytest.mark.parametrize("path", ["gig", "gig/g-1", "customer/uid%2F1", "specialpayment/a_b~c"])
def test_joined_paths_agree(path: str) -> None:
    """A plain relative path below the base gives the URL httpx parses."""
    text = "https://app.staging.withlean.com/api/"
    base = httpx.URL(text)
    fast = _shortcuts.join_path(base, text, path)
    assert fast == _shortcuts.PUBLIC["join_path"](base, text, path)
    assert str(fast) == text + path


def test_header_entries_agree_and_put_and_swap_store_one_entry() -> None:
    """Reading, adding and replacing entries give what the public setters give."""
    template = httpx.Headers({"Host": "h", "Accept": "*/*"})
    extra = [(b"Idempotency-Key", b"k"), (b"Content-Length", b"2")]
    plus = _shortcuts.headers_plus(template, extra)
    assert plus.multi_items() == _shortcuts.PUBLIC["headers_plus"](template, extra).multi_items()
    assert template.multi_items() == [("host", "h"), ("accept", "*/*")]  # not changed
    assert _shortcuts.header_entries(plus) == _shortcuts.PUBLIC["header_entries"](plus)

    entry = (b"X-Secret", b"x-secret", b"1")
    index = _shortcuts.put_entry(plus, entry)
    assert plus.get_list("x-secret") == ["1"]
    assert _shortcuts.swap_entry(plus, index, (b"X-Secret", b"x-secret", b"gone"))
    assert plus.get_list("x-secret") == ["gone"]
    assert not _shortcuts.swap_entry(plus, 0, entry)  # entry 0 is another header's
    twice = httpx.Headers([("X-Secret", "a"), ("x-secret", "b")])
    assert _shortcuts.put_entry(twice, entry) == -1  # the caller falls back to the setter
    assert _shortcuts.PUBLIC["put_entry"](plus, entry) == -1
    assert not _shortcuts.PUBLIC["swap_entry"](plus, index, entry)


@pytest.fixture
def public_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every shortcut off: what a future httpx without those shapes gets."""
    for name, public in _shortcuts.PUBLIC.items():
        monkeypatch.setattr(_shortcuts, name, public)
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

"""RequestFactory: each call's httpx.Request, built without httpx.AsyncClient."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lean_async._codec.wire import BaseURL, RequestFactory
from lean_async._endpoints.validate import path_segment

BASE = "https://app.staging.withlean.com/api/"
DEFAULTS = {"Accept": "application/json", "User-Agent": "lean-async/test"}


@given(
    st.text(min_size=1, max_size=40).filter(lambda s: not any(0xD800 <= ord(c) < 0xE000 for c in s))
)
def test_joined_url_is_what_httpx_parses(identifier: str) -> None:
    """Joining an encoded identifier gives the URL httpx would parse from the string."""
    path = "gig/" + path_segment("gig_id", identifier)
    joined = BaseURL(BASE).join(path)
    assert joined == httpx.URL(BASE + path)
    assert str(joined) == str(httpx.URL(BASE + path))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("gig", BASE + "gig"),
        ("/gig", BASE + "gig"),
        ("gig?page=2", BASE + "gig?page=2"),
        ("gig/a b", BASE + "gig/a%20b"),
        ("customer/../gig", BASE + "gig"),
        ("gig/caf\u00e9", BASE + "gig/caf%C3%A9"),
    ],
)
def test_other_paths_go_through_httpx(path: str, expected: str) -> None:
    """Paths the shortcut does not cover are parsed by httpx, as the client used to."""
    assert str(BaseURL(BASE).join(path)) == expected


def test_base_url_on_a_port_keeps_it() -> None:
    """A loopback base with a port and a deeper path joins below that path."""
    assert str(BaseURL("http://127.0.0.1:8080/v1/api/").join("gig/g1")) == (
        "http://127.0.0.1:8080/v1/api/gig/g1"
    )


def test_post_carries_exactly_the_merged_headers_and_the_body_once() -> None:
    """A JSON POST has the defaults, Host, the body headers and the key, in that order."""
    factory = RequestFactory(BASE, DEFAULTS)
    request = factory.build(
        "POST",
        "specialpayment",
        json={"description": "caf\u00e9", "amount": "1.00"},
        idempotency_key="k-1",
        extensions={"timeout": {"connect": 1.0}},
    )
    body = '{"description":"caf\u00e9","amount":"1.00"}'.encode()
    assert request.content == body
    assert request.headers.multi_items() == [
        ("host", "app.staging.withlean.com"),
        ("accept", "application/json"),
        ("user-agent", "lean-async/test"),
        ("content-type", "application/json"),
        ("content-length", str(len(body))),
        ("idempotency-key", "k-1"),
    ]
    assert request.extensions == {"timeout": {"connect": 1.0}}
    assert json.loads(request.content) == {"description": "caf\u00e9", "amount": "1.00"}


def test_get_has_no_body_headers() -> None:
    """A GET carries neither Content-Type nor Content-Length, as httpx would send it."""
    request = RequestFactory(BASE, DEFAULTS).build(
        "GET", "gig", json=None, idempotency_key=None, extensions={}
    )
    assert "content-length" not in request.headers
    assert "content-type" not in request.headers
    assert request.content == b""


def test_requests_do_not_share_headers() -> None:
    """Changing one request's headers (as the auth layer does) leaves the next alone."""
    factory = RequestFactory(BASE, DEFAULTS)
    first = factory.build("GET", "gig", json=None, idempotency_key=None, extensions={})
    first.headers["Authorization"] = "Basic x"
    second = factory.build("GET", "gig", json=None, idempotency_key=None, extensions={})
    assert "authorization" not in second.headers


def test_nan_is_refused_as_httpx_refuses_it() -> None:
    """A body that is not valid JSON (NaN) raises before anything is sent."""
    with pytest.raises(ValueError, match="JSON compliant"):
        RequestFactory(BASE, DEFAULTS).build(
            "POST", "gig", json={"x": float("nan")}, idempotency_key=None, extensions={}
        )


def test_a_built_request_is_what_httpx_builds() -> None:
    """The constructor shortcut leaves the same state as httpx.Request(...) then .read()."""
    factory = RequestFactory(BASE, DEFAULTS)
    built = factory.build(
        "post", "gig", json={"a": 1}, idempotency_key="k", extensions={"timeout": None}
    )
    public = httpx.Request(
        "POST",
        BASE + "gig",
        headers=built.headers,
        stream=httpx.ByteStream(b'{"a":1}'),
        extensions={"timeout": None},
    )
    public.read()
    assert vars(built).keys() == vars(public).keys()
    assert (built.method, built.url, built.content) == (public.method, public.url, public.content)
    assert built.headers.multi_items() == public.headers.multi_items()
    assert built.extensions == public.extensions
    assert isinstance(built.stream, httpx.ByteStream)
    assert b"".join(built.stream) == b'{"a":1}'


def test_calls_to_one_path_share_its_url_object() -> None:
    """Each path's httpx.URL is built once per factory (the aiohttp base keys on it)."""
    factory = RequestFactory(BASE, DEFAULTS)
    first = factory.build("GET", "gig/g-1", json=None, idempotency_key=None, extensions={})
    again = factory.build("GET", "gig/g-1", json=None, idempotency_key=None, extensions={})
    other = factory.build("GET", "gig/g-2", json=None, idempotency_key=None, extensions={})
    assert first.url is again.url
    assert other.url != first.url
    assert str(other.url) == BASE + "gig/g-2"


def test_the_url_cache_stays_bounded() -> None:
    """Many distinct paths (one per gig id) do not grow the factory without bound."""
    base = BaseURL(BASE)
    for index in range(2_000):
        assert str(base.join(f"gig/g-{index}")) == f"{BASE}gig/g-{index}"
    assert len(base._joined) <= 256


def test_each_body_gets_its_own_length_and_the_templates_stay_bounded() -> None:
    """Bodies of many lengths, repeated, each carry their own Content-Length, and no
    request shares its headers with another (the per-length templates are copied)."""
    factory = RequestFactory(BASE, DEFAULTS)
    for round_ in range(2):
        for size in range(200):
            body = {"d": "x" * size}
            request = factory.build(
                "POST", "gig", json=body, idempotency_key=f"k-{round_}-{size}", extensions={}
            )
            assert request.headers["content-length"] == str(len(request.content))
            assert request.headers.get_list("idempotency-key") == [f"k-{round_}-{size}"]
            assert json.loads(request.content) == body
    assert len(factory._sized) <= 64
    again = factory.build("POST", "gig", json={"d": ""}, idempotency_key="k", extensions={})
    assert again.headers.get_list("idempotency-key") == ["k"]


def test_a_post_without_a_body_says_its_length_is_zero() -> None:
    """A body method with no JSON carries Content-Length: 0, as httpx would send it."""
    request = RequestFactory(BASE, DEFAULTS).build(
        "POST", "gig/g-1/cancel", json=None, idempotency_key="k", extensions={}
    )
    assert request.headers["content-length"] == "0"
    assert "content-type" not in request.headers

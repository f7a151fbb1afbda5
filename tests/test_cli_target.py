"""Which base URLs `lean-async demo` accepts: never production, in any spelling."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lean_async.cli._target import UnsafeTargetError, check_demo_url

PRODUCTION_SPELLINGS = [
    "https://app.withlean.com/api",
    "https://app.withlean.com/api/",
    "https://app.withlean.com/api//",
    "HTTPS://APP.WITHLEAN.COM/API",
    "https://App.WithLean.Com/api",
    "https://app.withlean.com./api",
    "https://app.withlean.com:443/api",
    "https://app.withlean.com",
    "https://app.withlean.com/",
    "https://app.withlean.com/other/path",
    "http://app.withlean.com/api",
    "https://user@app.withlean.com/api",
    "https://app.staging.withlean.com@app.withlean.com/api",
    "https://app%2ewithlean.com/api",
    "  https://app.withlean.com/api  ",
    "https://withlean.com/api",
    "https://www.withlean.com/api",
    "https://api.withlean.com/api",
]


@pytest.mark.parametrize("url", PRODUCTION_SPELLINGS)
def test_production_is_refused_in_any_spelling(url: str) -> None:
    """The production URL, however written, and every non-staging withlean.com host are refused."""
    with pytest.raises(UnsafeTargetError, match="production"):
        check_demo_url(url)


@given(
    case=st.lists(st.booleans(), min_size=16, max_size=16),
    slashes=st.integers(0, 3),
    dots=st.integers(0, 2),
    port=st.sampled_from(["", ":443", ":8443"]),
    path=st.sampled_from(["", "/api", "/API", "/api/v1"]),
)
def test_production_host_is_refused_whatever_its_case(
    case: list[bool], slashes: int, dots: int, port: str, path: str
) -> None:
    """Random letter case, trailing dots and slashes, ports and paths never get past the check."""
    host = "".join(c.upper() if up else c for c, up in zip("app.withlean.com", case, strict=True))
    url = f"https://{host}{'.' * dots}{port}{path}{'/' * slashes}"
    with pytest.raises(UnsafeTargetError, match="production"):
        check_demo_url(url)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://app.staging.withlean.com/api/", "https://app.staging.withlean.com/api"),
        ("https://staging.app.withlean.com/api", "https://staging.app.withlean.com/api"),
        ("http://127.0.0.1:8080/api", "http://127.0.0.1:8080/api"),
        ("http://localhost:8080/api/", "http://localhost:8080/api"),
        ("https://lean.example.test/api", "https://lean.example.test/api"),
    ],
)
def test_staging_and_local_urls_are_accepted(url: str, expected: str) -> None:
    """Staging hosts, loopback and other hosts pass, without their trailing slash."""
    assert check_demo_url(url) == expected


@pytest.mark.parametrize(
    "url",
    ["app.withlean.com/api", "ftp://127.0.0.1/api", "https:\\\\app.withlean.com", "", "http://"],
)
def test_non_http_urls_are_refused(url: str) -> None:
    """Anything that is not an http(s) URL with a host is refused."""
    with pytest.raises(UnsafeTargetError, match="http"):
        check_demo_url(url)


def test_unparsable_urls_are_refused() -> None:
    """A URL httpx cannot parse is refused with the parser's reason."""
    with pytest.raises(UnsafeTargetError, match="not a valid URL"):
        check_demo_url("https://xn--app-.withlean.com/api")

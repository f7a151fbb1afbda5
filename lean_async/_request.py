"""Building each call's `httpx.Request` cheaply: what httpx.AsyncClient would do, once.

`httpx.AsyncClient.send` spends more per call than the rest of the SDK (URL merging,
header and cookie merging, auth and redirect generators). `RequestFactory` keeps what is
the same for every call of a client (the parsed base URL, the default headers, the JSON
encoder) and builds each request from it; the transport stack does the rest.

Two shortcuts touch httpx internals (the named tuple inside `httpx.URL`, the list inside
`httpx.Headers`); each is checked once against the public way when the factory is made
and is skipped if httpx ever changes them.
"""

from __future__ import annotations

import json as jsonlib
import re
from collections.abc import Callable, Mapping
from json import encoder as json_encoder
from typing import Any

import httpx

__all__ = ["BaseURL", "RequestFactory"]

# httpx's own encoding of a json= body (compact, UTF-8, no NaN), built once.
_ENCODER = jsonlib.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_JOINED_PATHS = 256

# A path httpx's parser would leave exactly as written: unreserved characters and
# percent escapes, no dots (so no "." or ".." segments), no query or fragment, no
# leading slash (httpx's base_url merge drops it).
_PLAIN_PATH = re.compile(r"(?!/)(?:[A-Za-z0-9_~/-]|%[0-9A-Fa-f]{2})*")


class BaseURL:
    """The client's base URL, parsed once, and the cheap join of a path below it.

    Parsing a URL string is most of what `httpx.Request` costs; the paths the resources
    send (an endpoint and a percent-encoded identifier) need none of it, so they are
    joined onto the parsed base directly. Anything else goes through httpx's parser.

    Args:
        url: an absolute URL ending in ``/`` (as `resolve_target` returns).
    """

    __slots__ = ("_fast", "_joined", "_path", "_reference", "text", "url")

    def __init__(self, url: str) -> None:
        self.text = url
        self.url = httpx.URL(url)
        # The URL of each path recently joined: an httpx.URL never changes, so requests
        # to one path share one, and the aiohttp base converts it once, not per call.
        self._joined: dict[str, httpx.URL] = {}
        reference = getattr(self.url, "_uri_reference", None)
        self._reference = reference
        self._path: str = getattr(reference, "path", "")
        # httpx keeps a parsed URL as a named tuple; if that ever changes, parse always.
        sample = "customer/uid%201_-~"
        self._fast = (
            hasattr(reference, "_replace")
            and self.url.query == b""
            and not self.url.fragment
            and self._join_fast(sample) == httpx.URL(url + sample)
        )

    def join(self, path: str) -> httpx.URL:
        """Return the absolute URL of *path* (relative, already percent-encoded)."""
        joined = self._joined.get(path)
        if joined is None:
            if self._fast and _PLAIN_PATH.fullmatch(path):
                joined = self._join_fast(path)
            else:
                joined = httpx.URL(self.text + path.lstrip("/"))
            if len(self._joined) >= _JOINED_PATHS:
                self._joined.clear()
            self._joined[path] = joined
        return joined

    def _join_fast(self, path: str) -> httpx.URL:
        url = httpx.URL.__new__(httpx.URL)
        url._uri_reference = self._reference._replace(path=self._path + path)  # type: ignore[union-attr]
        return url


class RequestFactory:
    """Builds the `httpx.Request` of each call below one base URL.

    Args:
        base_url: an absolute URL ending in ``/``.
        headers: the headers every request carries (``Host`` is added from the URL).
    """

    __slots__ = ("_fast_headers", "_fast_request", "_template", "base")

    def __init__(self, base_url: str, headers: Mapping[str, str]) -> None:
        self.base = BaseURL(base_url)
        self._template = httpx.Headers({"Host": self.base.url.netloc.decode("ascii"), **headers})
        sample = [(b"Content-Length", b"2")]
        self._fast_headers = False
        self._fast_headers = (
            self._headers(sample).multi_items()
            == httpx.Headers(self._template.raw + sample).multi_items()
            if isinstance(getattr(self._template, "_list", None), list)
            else False
        )
        self._fast_request = False
        self._fast_request = _same_request(
            self._request("POST", self.base.url, self._headers(sample), b"{}", {}),
            _public_request("POST", self.base.url, self._headers(sample), b"{}", {}),
        )

    def build(
        self,
        method: str,
        path: str,
        *,
        json: Any,
        idempotency_key: str | None,
        extensions: dict[str, Any],
    ) -> httpx.Request:
        """Return the request of one call, its body read (``request.content`` is set).

        Args:
            method: the HTTP method.
            path: the path below the base URL, already percent-encoded.
            json: the JSON body, or ``None`` for none.
            idempotency_key: the ``Idempotency-Key`` header, if any.
            extensions: the request's extensions (timeout and lean-async's settings).
        """
        extra: list[tuple[bytes, bytes]] = []
        if json is None:
            content = b""
        else:
            content = _encode(json)
            extra.append((b"Content-Type", b"application/json"))
        if content or method in _BODY_METHODS:
            extra.append((b"Content-Length", str(len(content)).encode("ascii")))
        if idempotency_key:
            extra.append((b"Idempotency-Key", idempotency_key.encode()))
        return self._request(
            method.upper(), self.base.join(path), self._headers(extra), content, extensions
        )

    def _request(
        self,
        method: str,
        url: httpx.URL,
        headers: httpx.Headers,
        content: bytes,
        extensions: dict[str, Any],
    ) -> httpx.Request:
        if not self._fast_request:
            return _public_request(method, url, headers, content, extensions)
        # What httpx.Request(...) then .read() leave, without its copies of the URL, the
        # headers and the extensions, which are this call's own already; sharing the
        # URL object lets the aiohttp base reuse its conversion (checked once, above).
        request = httpx.Request.__new__(httpx.Request)
        request.method = method
        request.url = url
        request.headers = headers
        request.extensions = extensions
        request.stream = httpx.ByteStream(content)
        request._content = content
        return request

    def _headers(self, extra: list[tuple[bytes, bytes]]) -> httpx.Headers:
        if not self._fast_headers:
            return httpx.Headers(self._template.raw + extra)
        headers = httpx.Headers(self._template)  # copies the template's list
        # The (name, lowercased name, value) triples httpx.Headers keeps; the names
        # added here are ASCII and not in the template.
        headers._list.extend((name, name.lower(), value) for name, value in extra)
        return headers


def _encode(body: Any) -> bytes:
    """Return *body* as httpx's JSON bytes.

    A flat object of strings (most request bodies: money and times are strings on the
    wire) is joined from the encoder's own string escapes, a third cheaper than
    walking it with the general encoder; the bytes are the same.
    """
    if body.__class__ is dict and _ESCAPE is not None:
        escape = _ESCAPE
        members = []
        for key, value in body.items():
            if key.__class__ is not str or value.__class__ is not str:
                break
            members.append(escape(key) + ":" + escape(value))
        else:
            return ("{" + ",".join(members) + "}").encode()
    return _ENCODER.encode(body).encode()


def _string_escape() -> Callable[[str], str] | None:
    """The json module's escape of one string as `_ENCODER` writes it, or None.

    `json.encoder.encode_basestring` is what the encoder calls for each string when
    ``ensure_ascii=False``; it is checked once against the encoder, as a string and
    inside an object, and not used if that ever differs.
    """
    escape = getattr(json_encoder, "encode_basestring", None)
    sample = 'quote " slash \\ tab \t nul \x00 caf\u00e9 \u2028 \U0001f600'
    try:
        same = (
            callable(escape)
            and escape(sample) == _ENCODER.encode(sample)
            and "{" + escape(sample) + ":" + escape("") + "}" == _ENCODER.encode({sample: ""})
        )
    except Exception:
        same = False
    return escape if same else None


_ESCAPE = _string_escape()


def _public_request(
    method: str,
    url: httpx.URL,
    headers: httpx.Headers,
    content: bytes,
    extensions: dict[str, Any],
) -> httpx.Request:
    # stream= skips httpx's header inference: Host and the body headers are set already.
    request = httpx.Request(
        method, url, headers=headers, stream=httpx.ByteStream(content), extensions=extensions
    )
    request.read()  # sets request.content, as httpx does for a bytes body
    return request


def _same_request(fast: httpx.Request, public: httpx.Request) -> bool:
    """Whether the shortcut built what httpx's constructor builds, attribute by attribute."""
    fast_state, public_state = vars(fast), vars(public)
    if fast_state.keys() != public_state.keys():
        return False
    return (
        fast.method == public.method
        and fast.url == public.url
        and fast.headers.multi_items() == public.headers.multi_items()
        and fast.extensions == public.extensions
        and fast.content == public.content
        and type(fast.stream) is type(public.stream)
    )

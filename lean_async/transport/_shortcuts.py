"""The one module that touches another library's private state: httpx's and the json module's.

Each shortcut here does what a public call does, for less, by reaching into how httpx
(or the standard library's JSON encoder) keeps its objects. Each is chosen once, at
import: its result is compared with what the public path builds from the same input,
and it is used only when the two agree; otherwise the public path is used (correct, a
little slower). `ACTIVE` names the shortcuts in use; ``tests/transport/test_shortcuts.py``
fails when one is off with the versions the project pins, and
``benchmarks/bench_calls.py --shortcuts`` measures what each is worth (one is kept only
when it is worth 5 % of a call or more; the module's history says which went).

Nothing else in lean_async reads or writes a private attribute of httpx, aiohttp or
OpenTelemetry (OpenTelemetry is used through its public API only).
"""

from __future__ import annotations

from collections.abc import Callable
from json import encoder as _json_encoder
from typing import Any, Final

import httpx

__all__ = [
    "ACTIVE",
    "PUBLIC",
    "Entries",
    "header_entries",
    "headers_plus",
    "join_path",
    "json_string",
    "new_request",
    "new_response",
    "put_entry",
    "read_response",
    "swap_entry",
]

Entries = list[tuple[bytes, bytes, bytes]]
"""Header entries as httpx keeps them: (name, lowercased name, value)."""

_READ: Final = httpx.ByteStream(b"")


# --- httpx.Request without its constructor's copies -------------------------------------


def _public_request(
    method: str, url: httpx.URL, headers: httpx.Headers, content: bytes, extensions: dict[str, Any]
) -> httpx.Request:
    # stream= skips httpx's header inference: Host and the body headers are set already.
    request = httpx.Request(
        method, url, headers=headers, stream=httpx.ByteStream(content), extensions=extensions
    )
    request.read()  # sets request.content, as httpx does for a bytes body
    return request


def _fast_request(
    method: str, url: httpx.URL, headers: httpx.Headers, content: bytes, extensions: dict[str, Any]
) -> httpx.Request:
    # What httpx.Request(...) then .read() leave, without copying the URL, the headers
    # and the extensions, which are the call's own already.
    request = httpx.Request.__new__(httpx.Request)
    request.method = method
    request.url = url
    request.headers = headers
    request.extensions = extensions
    request.stream = httpx.ByteStream(content)
    request._content = content
    return request


def _same_request(fast: httpx.Request, public: httpx.Request) -> bool:
    return (
        vars(fast).keys() == vars(public).keys()
        and fast.method == public.method
        and fast.url == public.url
        and fast.headers.multi_items() == public.headers.multi_items()
        and fast.extensions == public.extensions
        and fast.content == public.content
        and type(fast.stream) is type(public.stream)
    )


# --- httpx.Response without its constructor's header normalisation ---------------------


def _public_response(
    status: int,
    raw_headers: tuple[tuple[bytes, bytes], ...],
    stream: httpx.AsyncByteStream,
    extensions: dict[str, Any],
    request: httpx.Request,
) -> httpx.Response:
    return httpx.Response(
        status, headers=raw_headers, stream=stream, extensions=extensions, request=request
    )


def _fast_response(
    status: int,
    raw_headers: tuple[tuple[bytes, bytes], ...],
    stream: httpx.AsyncByteStream,
    extensions: dict[str, Any],
    request: httpx.Request,
) -> httpx.Response:
    # What httpx.Response(...) sets for a stream= response, without normalising headers
    # that arrive as bytes already or copying the extensions.
    headers = httpx.Headers()
    headers._list = [(name, name.lower(), value) for name, value in raw_headers]
    result = httpx.Response.__new__(httpx.Response)
    result.status_code = status
    result.headers = headers
    result._request = request
    result.next_request = None
    result.extensions = extensions
    result.history = []
    result.is_closed = False
    result.is_stream_consumed = False
    result.default_encoding = "utf-8"
    result.stream = stream
    result._num_bytes_downloaded = 0
    return result


def _same_response(fast: httpx.Response, public: httpx.Response) -> bool:
    same = ("status_code", "next_request", "extensions", "history", "is_closed")
    more = ("is_stream_consumed", "default_encoding", "stream", "num_bytes_downloaded")
    return (
        vars(fast).keys() == vars(public).keys()
        and fast.request is public.request
        and all(getattr(fast, name) == getattr(public, name) for name in same + more)
        and fast.headers.multi_items() == public.headers.multi_items()
        and fast.headers.raw == public.headers.raw
    )


# --- a response whose body was read by a layer ------------------------------------------


def _public_read(
    response: httpx.Response, content: bytes, request: httpx.Request
) -> httpx.Response:
    # A new response holding *content* (already decoded: its Content-Encoding goes).
    headers = [
        (name, value) for name, value in response.headers.raw if name.lower() != b"content-encoding"
    ]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=content,
        request=request,
        extensions=response.extensions,
    )


def _fast_read(response: httpx.Response, content: bytes, request: httpx.Request) -> httpx.Response:
    # What Response.aread() stores once it has read the body; the empty stream replaces
    # the connection's, which holds the sent headers.
    response._content = content
    response.stream = _READ
    return response


def _same_read(fast: httpx.Response, public: httpx.Response) -> bool:
    return (
        fast.content == public.content
        and fast.status_code == public.status_code
        and fast.headers["content-type"] == public.headers["content-type"]
        and fast.json() == public.json()
    )


# --- httpx.Headers entries, read ------------------------------------------------------


def _public_entries(headers: httpx.Headers) -> Entries:
    return [(name, name.lower(), value) for name, value in headers.raw]


def _fast_entries(headers: httpx.Headers) -> Entries:
    entries: Entries = headers._list
    return entries


# --- httpx.Headers entries, written -------------------------------------------------


def _public_plus(template: httpx.Headers, extra: list[tuple[bytes, bytes]]) -> httpx.Headers:
    return httpx.Headers(template.raw + extra)


def _fast_plus(template: httpx.Headers, extra: list[tuple[bytes, bytes]]) -> httpx.Headers:
    headers = httpx.Headers(template)  # copies the template's entries
    # The names added are ASCII and not in the template (RequestFactory's own).
    headers._list.extend((name, name.lower(), value) for name, value in extra)
    return headers


def _public_put(headers: httpx.Headers, entry: tuple[bytes, bytes, bytes]) -> int:
    return -1  # the caller sets the header through httpx's public setter


def _fast_put(headers: httpx.Headers, entry: tuple[bytes, bytes, bytes]) -> int:
    # `headers[name] = value` encodes both strings and scans every entry on each call;
    # this stores the prepared entry. Its index, or -1 when the header is there twice.
    entries: Entries = headers._list
    names = [existing[1] for existing in entries]
    if entry[1] not in names:  # the usual case: one scan, in C
        entries.append(entry)
        return len(entries) - 1
    index = names.index(entry[1])
    entries[index] = entry
    return index if names.count(entry[1]) == 1 else -1


def _public_swap(headers: httpx.Headers, index: int, entry: tuple[bytes, bytes, bytes]) -> bool:
    return False  # the caller sets the header through httpx's public setter


def _fast_swap(headers: httpx.Headers, index: int, entry: tuple[bytes, bytes, bytes]) -> bool:
    # Replace the entry `_fast_put` stored at *index*, if it is still that header's.
    entries = headers._list
    if isinstance(entries, list) and 0 <= index < len(entries) and entries[index][1] == entry[1]:
        entries[index] = entry
        return True
    return False


# --- httpx.URL of a path below a parsed base -------------------------------------------


def _public_join(base: httpx.URL, text: str, path: str) -> httpx.URL:
    return httpx.URL(text + path)


def _fast_join(base: httpx.URL, text: str, path: str) -> httpx.URL:
    # httpx keeps a parsed URL as a named tuple: a plain relative path (no dots, query or
    # fragment, only unreserved characters and escapes) is appended to the base's path.
    reference = base._uri_reference
    url = httpx.URL.__new__(httpx.URL)
    url._uri_reference = reference._replace(path=reference.path + path)
    return url


# --- one JSON string as the encoder writes it -----------------------------------------


def _public_json_string(value: str) -> str:
    return _ENCODER.encode(value)


_ENCODER: Final = _json_encoder.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False
)


# --- the choice, at import --------------------------------------------------------------

_SAMPLE_HEADERS: Final = ((b"Content-Type", b"application/json"), (b"X-Seen", b"caf\xc3\xa9"))


def _try(check: Callable[[], bool]) -> bool:
    try:
        return check()
    except Exception:  # the private shape is not there: the public path it is
        return False


def _request_agrees() -> bool:
    args = (
        "POST",
        httpx.URL("https://example.invalid/api/gig"),
        httpx.Headers(list(_SAMPLE_HEADERS)),
        b"{}",
        {"timeout": None},
    )
    return _same_request(_fast_request(*args), _public_request(*args))


def _response_agrees() -> bool:
    request = httpx.Request("GET", "http://127.0.0.1/")
    args = (201, _SAMPLE_HEADERS, _READ, {"http_version": b"HTTP/1.1"}, request)
    return _same_response(_fast_response(*args), _public_response(*args))


def _read_agrees() -> bool:
    request = httpx.Request("GET", "http://127.0.0.1/")

    def fresh() -> httpx.Response:
        return httpx.Response(200, headers=_SAMPLE_HEADERS, stream=_READ, request=request)

    return _same_read(
        _fast_read(fresh(), b'{"a":1}', request), _public_read(fresh(), b'{"a":1}', request)
    )


def _entries_agree() -> bool:
    headers = httpx.Headers(list(_SAMPLE_HEADERS))
    entries = getattr(headers, "_list", None)
    return type(entries) is list and entries == _public_entries(headers)


def _plus_agrees() -> bool:
    template = httpx.Headers({"Host": "example.invalid", "Accept": "application/json"})
    extra = [(b"Content-Length", b"2"), (b"Idempotency-Key", b"k")]
    return _fast_plus(template, extra).multi_items() == _public_plus(template, extra).multi_items()


def _put_agrees() -> bool:
    entry = (b"Authorization", b"authorization", b"Basic eDo=")
    redacted = (b"Authorization", b"authorization", b"Basic [REDACTED]")
    fast, public = httpx.Headers(list(_SAMPLE_HEADERS)), httpx.Headers(list(_SAMPLE_HEADERS))
    index = _fast_put(fast, entry)
    public["Authorization"] = "Basic eDo="
    put = index >= 0 and fast.multi_items() == public.multi_items()
    public["Authorization"] = "Basic [REDACTED]"
    return put and _fast_swap(fast, index, redacted) and fast.multi_items() == public.multi_items()


def _join_agrees() -> bool:
    text = "https://example.invalid/api/"
    base = httpx.URL(text)
    path = "customer/uid%201_-~"
    return (
        base.query == b""
        and _fast_join(base, text, path) == _public_join(base, text, path)
        and str(_fast_join(base, text, path)) == text + path
    )


def _json_string_agrees() -> bool:
    escape = getattr(_json_encoder, "encode_basestring", None)
    sample = 'quote " slash \\ tab \t nul \x00 caf\u00e9 \u2028 \U0001f600'
    return (
        callable(escape)
        and escape(sample) == _ENCODER.encode(sample)
        and "{" + escape(sample) + ":" + escape("") + "}" == _ENCODER.encode({sample: ""})
    )


PUBLIC: Final[dict[str, Callable[..., Any]]] = {
    "new_request": _public_request,
    "new_response": _public_response,
    "read_response": _public_read,
    "header_entries": _public_entries,
    "headers_plus": _public_plus,
    "put_entry": _public_put,
    "swap_entry": _public_swap,
    "join_path": _public_join,
    "json_string": _public_json_string,
}
"""The public path of each shortcut, by name (what is used when the shortcut is off)."""

_FAST: Final[dict[str, tuple[Callable[..., Any], Callable[[], bool]]]] = {
    "new_request": (_fast_request, _request_agrees),
    "new_response": (_fast_response, _response_agrees),
    "read_response": (_fast_read, _read_agrees),
    "header_entries": (_fast_entries, _entries_agree),
    "headers_plus": (_fast_plus, _plus_agrees),
    "put_entry": (_fast_put, _put_agrees),
    "swap_entry": (_fast_swap, _put_agrees),
    "join_path": (_fast_join, _join_agrees),
    "json_string": (
        getattr(_json_encoder, "encode_basestring", _public_json_string),
        _json_string_agrees,
    ),
}

ACTIVE: Final[frozenset[str]] = frozenset(
    name for name, (_, agrees) in _FAST.items() if _try(agrees)
)
"""The shortcuts in use: those whose private shape is there and agrees with the public path."""


def _chosen(name: str) -> Any:
    return _FAST[name][0] if name in ACTIVE else PUBLIC[name]


new_request: Callable[[str, httpx.URL, httpx.Headers, bytes, dict[str, Any]], httpx.Request] = (
    _chosen("new_request")
)
"""Return an `httpx.Request` with its body read, sharing the given URL/headers/extensions."""

new_response: Callable[
    [int, tuple[tuple[bytes, bytes], ...], httpx.AsyncByteStream, dict[str, Any], httpx.Request],
    httpx.Response,
] = _chosen("new_response")
"""Return an `httpx.Response` for raw byte headers and a body stream, bound to *request*."""

read_response: Callable[[httpx.Response, bytes, httpx.Request], httpx.Response] = _chosen(
    "read_response"
)
"""Return *response* read, its body being *content* (decoded): the same object when it can."""

header_entries: Callable[[httpx.Headers], Entries] = _chosen("header_entries")
"""Return the (name, lowercased name, value) entries of *headers*, not to be changed."""

json_string: Callable[[str], str] = _chosen("json_string")
"""Return one string as the JSON encoder (``ensure_ascii=False``) writes it, quotes included."""

headers_plus: Callable[[httpx.Headers, list[tuple[bytes, bytes]]], httpx.Headers] = _chosen(
    "headers_plus"
)
"""Return a copy of *template* with the *extra* raw headers (new ASCII names) added."""

put_entry: Callable[[httpx.Headers, tuple[bytes, bytes, bytes]], int] = _chosen("put_entry")
"""Store a prepared (name, lowercased name, value) entry; its index, or -1 (then the caller
sets the header publicly)."""

swap_entry: Callable[[httpx.Headers, int, tuple[bytes, bytes, bytes]], bool] = _chosen("swap_entry")
"""Replace the entry `put_entry` stored at *index*; False when it cannot (set it publicly)."""

join_path: Callable[[httpx.URL, str, str], httpx.URL] = _chosen("join_path")
"""Return the URL of a plain relative *path* below *base* (whose text is *text*, ending in /)."""

"""Building each call's `httpx.Request` cheaply: what httpx.AsyncClient would do, once.

`httpx.AsyncClient.send` spends more per call than the rest of the SDK (URL merging,
header and cookie merging, auth and redirect generators). `RequestFactory` keeps what is
the same for every call of a client (the parsed base URL, the default headers, the JSON
encoder) and builds each request from it; the transport stack does the rest.

The shortcuts into httpx's internals used here (joining a path onto the parsed base URL,
a Request without its constructor's copies) live in `lean_async.transport._private_state`,
each chosen at import with the public path as fallback.
"""

from __future__ import annotations

import json as jsonlib
import re
from collections.abc import Mapping
from typing import Any

import httpx

from lean_async.transport import _private_state

__all__ = ["BaseURL", "RequestFactory"]

# httpx's own encoding of a json= body (compact, UTF-8, no NaN), built once.
_ENCODER = jsonlib.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_JOINED_PATHS = 256
_SIZED_TEMPLATES = 64

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

    __slots__ = ("_joined", "_plain", "text", "url")

    def __init__(self, url: str) -> None:
        self.text = url
        self.url = httpx.URL(url)
        # The URL of each path recently joined: an httpx.URL never changes, so requests
        # to one path share one, and the aiohttp base converts it once, not per call.
        self._joined: dict[str, httpx.URL] = {}
        self._plain = self.url.query == b"" and not self.url.fragment

    def join(self, path: str) -> httpx.URL:
        """Return the absolute URL of *path* (relative, already percent-encoded)."""
        joined = self._joined.get(path)
        if joined is None:
            if self._plain and _PLAIN_PATH.fullmatch(path):
                joined = _private_state.join_path(self.url, self.text, path)
            else:
                joined = httpx.URL(self.text + path.lstrip("/"))
            if len(self._joined) >= _JOINED_PATHS:
                self._joined.clear()
            self._joined[path] = joined
        return joined


class RequestFactory:
    """Builds the `httpx.Request` of each call below one base URL.

    Args:
        base_url: an absolute URL ending in ``/``.
        headers: the headers every request carries (``Host`` is added from the URL).
    """

    __slots__ = ("_json_template", "_sized", "_template", "base")

    def __init__(self, base_url: str, headers: Mapping[str, str]) -> None:
        self.base = BaseURL(base_url)
        self._template = httpx.Headers({"Host": self.base.url.netloc.decode("ascii"), **headers})
        # Copying a Headers is httpx's cheap case (no normalising): one template per body.
        self._json_template = httpx.Headers(self._template)
        self._json_template["Content-Type"] = "application/json"
        # The JSON template with each recent body length's Content-Length set: copying
        # one costs a fifth of setting the header (bodies of one kind vary little).
        self._sized: dict[int, httpx.Headers] = {}

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
        if json is None:
            content = b""
            headers = httpx.Headers(self._template)  # a copy of the template's entries
            if method in _BODY_METHODS:
                headers["Content-Length"] = "0"
        else:
            content = _encode(json)
            headers = httpx.Headers(self._sized_template(len(content)))
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        # The calls to one path share its URL object, so the aiohttp base converts it once.
        return _private_state.new_request(
            method.upper(), self.base.join(path), headers, content, extensions
        )

    def _sized_template(self, length: int) -> httpx.Headers:
        """The JSON template with ``Content-Length: length``."""
        template = self._sized.get(length)
        if template is None:
            template = httpx.Headers(self._json_template)
            template["Content-Length"] = str(length)
            if len(self._sized) >= _SIZED_TEMPLATES:
                self._sized.clear()
            self._sized[length] = template  # complete before other threads can see it
        return template


def _encode(body: Any) -> bytes:
    """Return *body* as httpx's JSON bytes (compact, UTF-8, no NaN)."""
    return _ENCODER.encode(body).encode()

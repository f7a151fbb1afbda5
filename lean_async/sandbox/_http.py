"""Plain-ASGI plumbing: read a request, write a JSON response, errors as values."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from typing import Any
from urllib.parse import unquote

import attrs

__all__ = [
    "ASGIApp",
    "HTTPError",
    "Receive",
    "Request",
    "Response",
    "Scope",
    "Send",
    "authorized",
    "problems_error",
    "read_request",
    "send_response",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY = 1024 * 1024


@attrs.frozen
class Response:
    """A complete HTTP response."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, status: int, data: object, headers: Iterable[tuple[str, str]] = ()) -> Response:
        """Return a JSON response of *data*."""
        body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return cls(status, body, (("content-type", "application/json"), *headers))

    def with_header(self, name: str, value: str) -> Response:
        """Return a copy with one more header."""
        return attrs.evolve(self, headers=(*self.headers, (name, value)))


class HTTPError(Exception):
    """An error answer: ``{"message": ..., "errors": [{"field", "message"}]}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: Sequence[tuple[str, str]] = (),
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = list(errors)
        self.headers = tuple(headers)

    def response(self) -> Response:
        """Return the JSON response for this error."""
        body: dict[str, Any] = {"message": self.message}
        if self.errors:
            body["errors"] = [{"field": f, "message": m} for f, m in self.errors]
        return Response.json(self.status, body, self.headers)


def problems_error(problems: Sequence[tuple[str, str]]) -> HTTPError:
    """Return the 400 for a list of ``(field, message)`` problems, all of them joined."""
    message = "; ".join(f"{field}: {text}" if field else text for field, text in problems)
    return HTTPError(400, message, errors=problems)


@attrs.frozen
class Request:
    """A fully read HTTP request; ``segments`` are the path's parts, each decoded once."""

    method: str
    segments: tuple[str, ...]
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        """Return a header's value (name case-insensitive), or None."""
        return self.headers.get(name.lower())

    def json(self) -> Any:
        """Return the decoded JSON body.

        Raises:
            HTTPError: 400 when the body is not JSON.
        """
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise problems_error([("body", f"is not valid JSON ({exc})")]) from None


def _segments(scope: Scope) -> tuple[str, ...]:
    # raw_path keeps "%2F" apart from "/"; "path" (already decoded) is the fallback.
    raw = scope.get("raw_path")
    path = raw.decode("latin-1").partition("?")[0] if raw else None
    if path is None:
        return tuple(scope["path"].split("/")[1:])
    return tuple(unquote(part) for part in path.split("/")[1:])


async def read_request(scope: Scope, receive: Receive, *, max_body: int = MAX_BODY) -> Request:
    """Read the whole request.

    Raises:
        HTTPError: 413 when the body is larger than *max_body* bytes.
    """
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away; what was read is all there is
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_body:
            raise HTTPError(413, f"request body larger than {max_body} bytes")
        chunks.append(chunk)
        more = message.get("more_body", False)
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    return Request(scope["method"].upper(), _segments(scope), headers, b"".join(chunks))


async def send_response(send: Send, response: Response) -> None:
    """Send *response* as one ASGI start message and one body message."""
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    headers.append((b"content-length", str(len(response.body)).encode("ascii")))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


def authorized(header: str | None, api_key: str) -> bool:
    """Return whether a Basic ``Authorization`` header names *api_key* as its user.

    The password is ignored: Lean's keys go in the username with an empty password.
    """
    scheme, _, credentials = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    user = decoded.partition(b":")[0]
    return hmac.compare_digest(user, api_key.encode("utf-8"))

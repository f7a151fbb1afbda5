"""A loopback HTTP/1.1 server with canned Lean answers, fast enough not to be the bottleneck.

One asyncio `Protocol` per connection, keep-alive, pipelining tolerated: it finds the end
of each request head, reads ``Content-Length`` bytes of body, and writes a prebuilt answer.
``GET /api/gig/<id>`` and ``POST /api/gig`` get the same gig as JSON (200); anything else
gets a 404. No routing tables, no header objects, no JSON work per request, so its CPU per
request stays well below any client's (`bench_loopback.py` prints both).

    python benchmarks/canned_server.py PORT
"""

from __future__ import annotations

import asyncio
import json
import sys

GIG = json.dumps(
    {
        "id": "gig_1",
        "partnerUserId": "uid_847834395730535",
        "gigId": "g-1",
        "description": "SFO Airport to 410 Market Street",
        "totalAmount": "15.00",
        "tips": "3.00",
        "expenses": "2.00",
        "startTime": "2021-03-01T21:04:04.000Z",
        "endTime": "2021-03-01T21:31:05.000Z",
        "status": "PENDING",
        "invoiceId": "invoice_1",
        "createdAt": "2021-04-01T19:58:11.651Z",
        "updatedAt": "2021-04-01T19:58:11.651Z",
    },
    separators=(",", ":"),
).encode()


def answer(status: bytes, body: bytes) -> bytes:
    """Return a whole keep-alive HTTP/1.1 response with *status* and a JSON *body*."""
    head = (
        b"HTTP/1.1 " + status + b"\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n"
        b"Connection: keep-alive\r\n\r\n"
    )
    return head + body


GIG_ANSWER = answer(b"200 OK", GIG)
NOT_FOUND = answer(b"404 Not Found", b'{"message":"not found"}')


def route(head: bytes) -> bytes:
    """Return the canned answer to a request whose head (request line first) is *head*."""
    if head.startswith((b"GET /api/gig/", b"POST /api/gig ")):
        return GIG_ANSWER
    return NOT_FOUND


def content_length(head: bytes) -> int:
    """Return the Content-Length of a request head, 0 when it has none."""
    lowered = head.lower()
    at = lowered.find(b"\r\ncontent-length:")
    if at < 0:
        return 0
    start = at + len(b"\r\ncontent-length:")
    end = lowered.find(b"\r\n", start)
    return int(lowered[start : end if end >= 0 else len(lowered)])


class CannedProtocol(asyncio.Protocol):
    """Answers each complete request on one connection with its canned response."""

    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport to write answers to."""
        assert isinstance(transport, asyncio.Transport)  # noqa: S101 - TCP gives a Transport
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        """Answer every request that is now complete in the buffer."""
        buffer = self.buffer + data if self.buffer else data
        out = []
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buffer[:end]
            total = end + 4 + (content_length(head) if head[:1] == b"P" else 0)
            if len(buffer) < total:
                break
            out.append(route(head))
            buffer = buffer[total:]
        self.buffer = buffer
        if out and self.transport is not None:
            self.transport.write(out[0] if len(out) == 1 else b"".join(out))


async def serve(port: int) -> None:
    """Serve on 127.0.0.1:*port* until the process is killed."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(CannedProtocol, "127.0.0.1", port, backlog=2048)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))

"""Both pooled backends over a real loopback socket: attempt spans and traceparent alike."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from lean_async import LeanClient
from lean_async._config import Backend
from tests.reference import REFERENCE_CREATED_CUSTOMER
from tests.telemetry.conftest import KEY, Otel

BODY = json.dumps(REFERENCE_CREATED_CUSTOMER).encode()


class CustomerServer:
    """An HTTP/1.1 server on 127.0.0.1 answering 503 *failures* times, then the customer."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.heads: list[dict[str, str]] = []
        self.port = 0

    @asynccontextmanager
    async def running(self) -> AsyncIterator[CustomerServer]:
        """Serve until the block exits."""
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            server.close()
            await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while not reader.at_eof():
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")[1:]
                headers = {
                    name.strip().lower(): value.strip()
                    for name, _, value in (line.partition(":") for line in lines if line)
                }
                self.heads.append(headers)
                if self.failures:
                    self.failures -= 1
                    status, body = b"503 Service Unavailable", b"{}"
                else:
                    status, body = b"200 OK", BODY
                writer.write(
                    b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(body) + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def test_both_backends_trace_attempts_and_send_traceparent(
    otel: Otel, backend: Backend
) -> None:
    """On each backend a GET retried once: two attempt spans, each context sent to the server."""
    async with CustomerServer(failures=1).running() as server:
        lean = LeanClient(
            api_key=KEY,
            base_url=f"http://127.0.0.1:{server.port}/api",
            backend=backend,
            backoff_base=0.001,
            backoff_cap=0.002,
            tracer_provider=otel.tracer_provider,
            meter_provider=otel.meter_provider,
        )
        async with lean:
            await lean.customers.get("uid_847834395730535")

    (call,) = otel.spans("lean.customers.get")
    attempts = otel.spans("GET /customer/{partnerUserId}")
    assert (call.attributes or {})["lean.attempts"] == 2
    assert [(span.attributes or {})["http.response.status_code"] for span in attempts] == [503, 200]
    for span in attempts:
        attributes = span.attributes or {}
        assert attributes["server.address"] == "127.0.0.1"
        assert attributes["server.port"] == server.port
    sent = [head["traceparent"] for head in server.heads]
    assert [value.split("-")[1:3] for value in sent] == [
        [f"{span.context.trace_id:032x}", f"{span.context.span_id:016x}"] for span in attempts
    ]
    assert len(otel.points("http.client.request.duration")) == 2

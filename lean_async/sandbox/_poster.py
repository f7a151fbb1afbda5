"""POST webhook deliveries to one URL over a small aiohttp connection pool.

aiohttp rather than httpx: a delivery costs the sandbox several times less CPU on it,
and the sandbox's CPU is shared with the API it serves. Failures are named as httpx
names them (``ConnectError``, ``ReadTimeout``...), as the sandbox's logs always have.
"""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp

__all__ = ["Poster"]


def _error(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        name = "ConnectError"
    elif isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        name = "ReadTimeout"
    elif isinstance(exc, aiohttp.ServerDisconnectedError):
        name = "RemoteProtocolError"
    else:
        name = type(exc).__name__
    detail = str(exc)
    return f"{name}: {detail}" if detail else name


class Poster:
    """Sends POSTs to one URL with at most *connections* at once.

    Args:
        connections: the pool's size (attempts in flight to this URL).
        timeout: seconds one attempt may take, connecting included.
    """

    def __init__(self, *, connections: int, timeout: float) -> None:
        self._connections = connections
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[int | None, str | None]:
        """POST *body* to *url*; return the status, or None and why there was none."""
        session = self._session
        if session is None:
            connector = aiohttp.TCPConnector(limit=self._connections)
            session = self._session = aiohttp.ClientSession(
                connector=connector, timeout=self._timeout, trust_env=False
            )
        try:
            async with session.post(url, data=body, headers=dict(headers)) as response:
                await response.read()
                return response.status, None
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            return None, _error(exc)

    async def aclose(self) -> None:
        """Close the pool."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

"""A Redis password in the worker's ``redis_url`` stays out of what error trackers send.

Error trackers send the repr of each frame's local variables (Sentry does at its
defaults): the URL is wrapped in a redacting `Secret` on `run_worker`'s first line and
unwrapped only in the expression that makes the Redis client. That client keeps the
password, as any Redis client does (it logs in again on each new connection), and its
repr leaves it out.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

pytest.importorskip("temporalio")
pytest.importorskip("redis")

from lean_async._secrets import Secret
from lean_async.temporal import run_worker
from tests.frames.capture import locals_text

PASSWORD = "hunter2-redis-password"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("wrap", [False, True], ids=["str", "Secret"])
async def test_a_failing_worker_keeps_the_redis_password_out_of_its_frames(
    monkeypatch: pytest.MonkeyPatch, wrap: bool
) -> None:
    """Temporal unreachable: the error's frames, locals and causes hold no password."""
    monkeypatch.setenv("LEAN_API_KEY", "test_key_worker_secrets")
    url = f"redis://:{PASSWORD}@127.0.0.1:{_closed_port()}/0"
    with pytest.raises(Exception) as info:  # noqa: PT011 - whatever the SDK raises
        async with asyncio.timeout(30):
            await run_worker(
                f"127.0.0.1:{_closed_port()}",
                redis_url=Secret(url) if wrap else url,
                stop=asyncio.Event(),
            )
    del url
    error = info.value
    assert not isinstance(error, TimeoutError), "the worker should fail to connect"
    shown = locals_text(error)
    assert "run_worker" in shown  # the worker's frames are in it, with their locals
    assert PASSWORD not in shown
    assert PASSWORD not in str(error)

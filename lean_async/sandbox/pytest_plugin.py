"""pytest fixtures for testing code that uses lean-async, against the built-in sandbox.

Installed with lean-async (the ``pytest11`` entry point), so in your tests::

    async def test_pays_the_worker(lean_client, lean_sandbox):
        await lean_client.customers.create(...)
        await lean_client.applications.submit("uid_1")
        await lean_sandbox.advance(1)            # approval happens, webhooks go out
        assert (await lean_client.customers.get("uid_1")).status == "ACTIVE"

- ``lean_sandbox``: a fresh `Sandbox` on a `ManualClock`: time moves only when the test
  calls ``await lean_sandbox.advance(seconds)``, so nothing sleeps and nothing is flaky.
- ``lean_client``: a `LeanClient` wired to it in-process (no sockets), with retry
  backoff switched off for the test.

The async fixtures need pytest-asyncio; without it the plugin defines nothing.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lean_async import LeanClient
    from lean_async.sandbox import Sandbox

__all__ = ["lean_client", "lean_sandbox"]

if importlib.util.find_spec("pytest_asyncio") is not None:
    import pytest_asyncio

    @pytest_asyncio.fixture
    async def lean_sandbox() -> AsyncIterator[Sandbox]:
        """A fresh in-process Lean sandbox on a manual clock."""
        from lean_async.sandbox import ManualClock, Sandbox

        async with Sandbox(clock=ManualClock()) as sandbox:
            yield sandbox

    @pytest_asyncio.fixture
    async def lean_client(lean_sandbox: Sandbox) -> AsyncIterator[LeanClient]:
        """A LeanClient talking to ``lean_sandbox`` in-process, without retry waits."""
        from lean_async import LeanClient
        from lean_async.testing import is_testing, set_testing

        previous = is_testing()
        set_testing(True)
        try:
            async with LeanClient(
                api_key=lean_sandbox.api_key,
                base_url=lean_sandbox.base_url,
                transport=lean_sandbox.transport(),
            ) as client:
                yield client
        finally:
            set_testing(previous)

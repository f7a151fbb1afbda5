"""pytest fixtures for testing code that uses lean-async, against the built-in sandbox.

Installed with lean-async (the ``pytest11`` entry point), so in your tests::

    async def test_pays_the_worker(lean_client, lean_sandbox):
        await lean_client.customers.create(...)
        await lean_client.applications.submit("uid_1")
        await lean_client.customers.wait_until_active("uid_1")   # instant, no sleeping
        ...

- ``lean_sandbox``: a fresh `Sandbox` on a `ManualClock`: time moves only when the test
  calls ``await lean_sandbox.advance(seconds)`` or when the SDK waits
  (``wait_until_active``, ``wait_until_settled``): for the test's duration a wait
  advances the sandbox instead of sleeping (`lean_async.testing.follow_sandbox_clock`).
- ``lean_client``: a `LeanClient` wired to it in-process (no sockets), with retry
  backoff switched off for the test (`lean_async.testing.set_testing`).

The async fixtures need pytest-asyncio, in either ``asyncio_mode``: ``"auto"``, or
``"strict"`` with ``@pytest.mark.asyncio`` on each test. Without pytest-asyncio (or
with an unmarked test in strict mode) a test asking for them fails with what to do.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Final

import pytest

if TYPE_CHECKING:
    from lean_async import LeanClient
    from lean_async.sandbox import Sandbox

__all__ = ["NEEDS_PYTEST_ASYNCIO", "lean_client", "lean_sandbox"]

NEEDS_PYTEST_ASYNCIO: Final = (
    "lean-async's fixtures need pytest-asyncio: pip install pytest-asyncio "
    '(and set asyncio_mode = "auto", or mark each test @pytest.mark.asyncio)'
)
NEEDS_ASYNCIO_MARK: Final = (
    "this test is not run by pytest-asyncio: asyncio_mode is strict, so mark it "
    '@pytest.mark.asyncio (or set asyncio_mode = "auto") to use lean-async\'s fixtures'
)

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - exercised in a subprocess without it
    HAS_PYTEST_ASYNCIO = False
else:
    HAS_PYTEST_ASYNCIO = True


@pytest.fixture
def _lean_async_ready(request: pytest.FixtureRequest) -> None:
    """Fail a test, with what to do, when pytest-asyncio will not run the async fixtures."""
    if not HAS_PYTEST_ASYNCIO or not request.config.pluginmanager.hasplugin("asyncio"):
        pytest.fail(NEEDS_PYTEST_ASYNCIO, pytrace=False)
    function = getattr(request, "function", None)
    if inspect.iscoroutinefunction(function) and request.node.get_closest_marker("asyncio") is None:
        pytest.fail(NEEDS_ASYNCIO_MARK, pytrace=False)


if HAS_PYTEST_ASYNCIO:

    @pytest_asyncio.fixture
    async def lean_sandbox(_lean_async_ready: None) -> AsyncIterator[Sandbox]:
        """A fresh in-process Lean sandbox on a manual clock that the SDK's waits advance."""
        from lean_async.sandbox import ManualClock, Sandbox
        from lean_async.testing import follow_sandbox_clock

        async with Sandbox(clock=ManualClock()) as sandbox:
            with follow_sandbox_clock(sandbox):
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

else:  # pragma: no cover - exercised in a subprocess without pytest-asyncio

    @pytest.fixture
    def lean_sandbox(_lean_async_ready: None) -> None:
        """Unavailable: needs pytest-asyncio (the test fails saying so)."""

    @pytest.fixture
    def lean_client(_lean_async_ready: None) -> None:
        """Unavailable: needs pytest-asyncio (the test fails saying so)."""

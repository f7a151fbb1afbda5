"""lean_async.webhooks imports without its optional dependencies (names: test_exported_members)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import lean_async.webhooks as webhooks
from lean_async import testing

ROOT = Path(__file__).resolve().parents[2]
OPTIONAL = ("redis", "fastapi", "starlette", "aiohttp", "multidict", "uvicorn")


def test_testing_signs_as_the_webhooks_package_does() -> None:
    """`lean_async.testing.sign` is the webhooks package's `sign`, not a second signer."""
    assert testing.sign is webhooks.sign


def test_package_imports_without_optional_dependencies() -> None:
    """`import lean_async.webhooks` works with redis, FastAPI and aiohttp all missing."""
    blocked = "; ".join(f"sys.modules[{name!r}] = None" for name in OPTIONAL)
    code = (
        f"import sys; {blocked}\n"
        "import lean_async.webhooks as w\n"
        "assert w.parse and w.MemoryDedupStore and w.handle_delivery\n"
        f"assert not any(sys.modules.get(n) for n in {OPTIONAL!r})\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=60)


@pytest.mark.parametrize(
    ("module", "missing", "extra"),
    [
        ("lean_async.webhooks.redis", ("redis", "redis.asyncio"), "redis"),
        ("lean_async.webhooks.fastapi", ("fastapi", "fastapi.responses"), "fastapi"),
        ("lean_async.webhooks.aiohttp", ("aiohttp", "aiohttp.web"), "aiohttp"),
    ],
)
def test_integrations_name_their_extra_when_missing(
    monkeypatch: pytest.MonkeyPatch, module: str, missing: tuple[str, ...], extra: str
) -> None:
    """Importing an integration without its library says which extra to install."""
    for name in missing:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, module, raising=False)
    with pytest.raises(ImportError, match=rf"lean-async\[{extra}\]"):
        importlib.import_module(module)

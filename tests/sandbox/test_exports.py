"""The public surface of lean_async.sandbox."""

from __future__ import annotations

import inspect

import lean_async.sandbox as sandbox_package

EXPECTED = [
    "DEFAULT_API_KEY",
    "FAIL_MARKER",
    "ROUTES",
    "WEBHOOK_LOGGER",
    "Clock",
    "ConnectionReset",
    "Delivery",
    "DeliveryAttemptOutcome",
    "DropAfterCommit",
    "Fault",
    "FaultRule",
    "Faults",
    "Latency",
    "ManualClock",
    "RealClock",
    "Sandbox",
    "SandboxTransport",
    "ServerError",
    "WebhookListener",
    "running_server",
    "serve",
]


def test_all_is_pinned_and_sorted() -> None:
    """__all__ is exactly the expected names, sorted as ruff sorts them."""
    assert sandbox_package.__all__ == EXPECTED


def test_public_classes_and_functions_have_docstrings() -> None:
    """Every exported class and function, and each public method, is documented."""
    for name in sandbox_package.__all__:
        obj = getattr(sandbox_package, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), name
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if not attr.startswith("_") and callable(member):
                    assert inspect.getdoc(member), f"{name}.{attr}"


def test_importing_the_sandbox_does_not_import_uvicorn() -> None:
    """uvicorn and starlette stay out until a server is started."""
    import subprocess
    import sys

    code = (
        "import sys, lean_async.sandbox; "
        "print(any(m.split('.')[0] in ('uvicorn', 'starlette', 'fastapi') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

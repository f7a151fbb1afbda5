"""What importing lean_async.sandbox pulls in (its names: tests/test_exported_members.py)."""

from __future__ import annotations


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

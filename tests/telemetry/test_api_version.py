"""The telemetry suite runs against the OpenTelemetry API release the dev group pins."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import lean_async

PYPROJECT = Path(lean_async.__file__).parent.parent / "pyproject.toml"


def pinned(package: str) -> str:
    """Return the exact version the dev group pins *package* to."""
    found = re.search(rf'"{re.escape(package)}==([^"]+)"', PYPROJECT.read_text())
    assert found is not None, f"{package} is not pinned exactly in pyproject.toml"
    return found.group(1)


def test_the_installed_api_and_sdk_are_the_pinned_newest_pair() -> None:
    """What this suite imports is the pair pinned in the dev group (the newest with an SDK).

    lean_async uses the API's public names only, so a newer API cannot break it by
    renaming its internals; this pin makes the suite prove it on the newest release.
    """
    assert importlib.metadata.version("opentelemetry-api") == pinned("opentelemetry-api")
    assert importlib.metadata.version("opentelemetry-sdk") == pinned("opentelemetry-sdk")
    assert pinned("opentelemetry-api") == pinned("opentelemetry-sdk")

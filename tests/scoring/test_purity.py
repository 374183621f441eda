"""The scoring language stays pure: it imports no service, not the kit, and does no I/O."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import services.scoring

PACKAGE_DIR = Path(services.scoring.__file__).parent
SOURCES = sorted(PACKAGE_DIR.rglob("*.py"))
IO_MODULES = {"socket", "sqlalchemy", "httpx", "fastapi", "asyncio", "os", "pathlib", "io"}
IO_CALLS = {"open", "input", "print", "eval", "exec", "compile", "__import__"}


def _imports(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                names.append("services.scoring" + (f".{node.module}" if node.module else ""))
            else:
                names.append(node.module or "")
    return names


def test_every_module_imports() -> None:
    modules = [info.name for info in pkgutil.walk_packages([str(PACKAGE_DIR)], "services.scoring.")]
    assert {"services.scoring.rules", "services.scoring.formula"} <= set(modules)
    for name in modules:
        importlib.import_module(name)


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.name)
def test_imports_no_service_and_no_io_module(source: Path) -> None:
    for name in _imports(ast.parse(source.read_text(encoding="utf-8"))):
        top = name.split(".")[0]
        if top == "services":
            assert name == "services.scoring" or name.startswith("services.scoring."), name
        assert top not in IO_MODULES, name


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.name)
def test_calls_no_io_builtin(source: Path) -> None:
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in IO_CALLS, f"{source.name}:{node.lineno} {node.func.id}()"

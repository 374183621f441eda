"""The engine stays pure: no I/O, no database, nothing of the service around it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import services.evaluation.engine

SOURCES = sorted(Path(services.evaluation.engine.__file__).parent.rglob("*.py"))
ALLOWED = ("services.evaluation.engine", "services.scoring")
IO_MODULES = {"socket", "sqlalchemy", "httpx", "fastapi", "asyncio", "os", "pathlib", "io"}


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.name)
def test_imports_only_the_engine_and_the_scoring_language(source: Path) -> None:
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative import"
            names = [node.module or ""]
        for name in names:
            if name.split(".")[0] == "services":
                assert any(name == a or name.startswith(a + ".") for a in ALLOWED), name
            assert name.split(".")[0] not in IO_MODULES, name
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in {"open", "print", "input"}, node.func.id

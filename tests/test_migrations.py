"""Each component's migrations run on both dialects and match its models exactly."""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from services.common.db import make_engine
from services.common.migrate import alembic_config, upgrade, version_table
from services.common.settings import COMPONENTS
from tests.conftest import TEST_DATABASE_URL, _asyncpg_dsn, require_postgres


def metadata_of(component: str) -> Any:
    module = "gateway.models" if component == "gateway" else f"services.{component}.models"
    return importlib.import_module(module).Base.metadata


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    require_postgres()
    name = f"govperf_migration_{uuid.uuid4().hex[:8]}"

    async def run(statement: str) -> None:
        connection = await asyncpg.connect(_asyncpg_dsn(TEST_DATABASE_URL))
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    yield make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _diff_and_tables(url: str, component: str) -> tuple[list[Any], set[str]]:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:

            def inspect_sync(sync: Any) -> tuple[list[Any], set[str]]:
                context = MigrationContext.configure(
                    sync, opts={"version_table": version_table(component)}
                )
                diff = compare_metadata(context, metadata_of(component))
                return diff, set(inspect(sync).get_table_names())

            return await connection.run_sync(inspect_sync)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("component", COMPONENTS)
class TestMigrations:
    async def test_head_matches_the_models(self, empty_url: str, component: str) -> None:
        await asyncio.to_thread(upgrade, component, empty_url)
        diff, tables = await _diff_and_tables(empty_url, component)
        assert diff == []
        assert version_table(component) in tables

    async def test_downgrade_to_base_and_back(self, empty_url: str, component: str) -> None:
        config = alembic_config(component, empty_url)
        await asyncio.to_thread(command.upgrade, config, "head")
        await asyncio.to_thread(command.downgrade, config, "base")
        _, tables = await _diff_and_tables(empty_url, component)
        assert tables <= {version_table(component)}
        await asyncio.to_thread(command.upgrade, config, "head")
        diff, _ = await _diff_and_tables(empty_url, component)
        assert diff == []


class TestReplicasStartingTogether:
    # PostgreSQL only: on SQLite one process owns the file by design.
    @pytest.mark.parametrize("empty_url", ["postgresql"], indirect=True)
    @pytest.mark.parametrize("component", ["indicator", "gateway"])
    async def test_three_processes_migrating_one_postgresql_database_at_once_all_succeed(
        self, empty_url: str, component: str
    ) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GOVPERF_")}
        env[f"GOVPERF_{component.upper()}_DATABASE_URL"] = empty_url
        processes = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "govperf",
                "migrate",
                component,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            for _ in range(3)
        ]
        outputs = [(await p.communicate())[0].decode() for p in processes]
        assert [p.returncode for p in processes] == [0, 0, 0], outputs
        diff, tables = await _diff_and_tables(empty_url, component)
        assert diff == []
        assert version_table(component) in tables

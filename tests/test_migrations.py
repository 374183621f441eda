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


class TestRatingSumsMoveIntoTheRatingRow:
    """0006 keeps every response's dimension sums: filled into its row from the per-dimension
    rows, and given back as rows on the way down. Rows referencing the rebuilt table (a
    quality flag) stay too: SQLite's copy of the table does not cascade."""

    async def test_sums_survive_the_upgrade_and_the_downgrade(self, empty_url: str) -> None:
        from sqlalchemy import Boolean, Column, Float, Integer, MetaData, String, Table, select
        from sqlalchemy import Uuid as SaUuid

        from services.common.db import PortableJSON, UTCDateTime, utcnow
        from services.evaluation.models import Rating

        tables = MetaData()
        ratings = Table(
            "ratings",
            tables,
            Column("id", SaUuid, primary_key=True),
            Column("jurisdiction_code", String),
            Column("cycle_id", SaUuid),
            Column("group_id", SaUuid),
            Column("questionnaire_id", SaUuid),
            Column("department_id", SaUuid),
            Column("client", String),
            Column("respondent_hash", String),
            Column("content_hash", String),
            Column("answers", PortableJSON),
            Column("straight_lined", Boolean),
            Column("received_at", UTCDateTime),
        )
        scores = Table(
            "rating_scores",
            tables,
            Column("rating_id", SaUuid),
            Column("dimension", String),
            Column("cycle_id", SaUuid),
            Column("department_id", SaUuid),
            Column("mean", Float),
            Column("answered", Integer),
            Column("top", Integer),
        )
        flags = Table(
            "rating_flags",
            tables,
            Column("rating_id", SaUuid),
            Column("cycle_id", SaUuid),
            Column("criteria", PortableJSON),
            Column("decision", String),
            Column("decided_at", UTCDateTime),
            Column("decided_by", String),
        )
        cycle, department = uuid.uuid4(), uuid.uuid4()
        rated, unanswered = uuid.uuid4(), uuid.uuid4()
        config = alembic_config("evaluation", empty_url)
        await asyncio.to_thread(command.upgrade, config, "0005")
        engine = make_engine(empty_url)
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    ratings.insert(),
                    [
                        {
                            "id": rating_id,
                            "jurisdiction_code": "231100",
                            "cycle_id": cycle,
                            "group_id": uuid.uuid4(),
                            "questionnaire_id": uuid.uuid4(),
                            "department_id": department,
                            "client": "app:test",
                            "respondent_hash": rating_id.hex,
                            "content_hash": rating_id.hex,
                            "answers": {"Q1": 4, "Q2": 5, "Q3": 2},
                            "straight_lined": False,
                            "received_at": utcnow(),
                        }
                        for rating_id in (rated, unanswered)
                    ],
                )
                # Written out of order: the row's arrays follow the dimensions' order.
                for dimension, mean, answered, top in (
                    ("service", 4.5, 2, 2),
                    ("integrity", 2.0, 1, 0),
                ):
                    await connection.execute(
                        scores.insert().values(
                            rating_id=rated,
                            dimension=dimension,
                            cycle_id=cycle,
                            department_id=department,
                            mean=mean,
                            answered=answered,
                            top=top,
                        )
                    )
                await connection.execute(
                    flags.insert().values(
                        rating_id=rated,
                        cycle_id=cycle,
                        criteria=["speeder", "straight-lining"],
                        decision="excluded",
                        decided_at=utcnow(),
                        decided_by="quality-check",
                    )
                )
            await asyncio.to_thread(command.upgrade, config, "0006")
            async with engine.connect() as connection:
                assert (await connection.execute(select(flags.c.rating_id))).all() == [(rated,)]
                rows = {
                    row.id: tuple(row[1:])
                    for row in await connection.execute(
                        select(
                            Rating.id, Rating.dimensions, Rating.means, Rating.answered, Rating.tops
                        )
                    )
                }
            assert rows == {
                rated: (["integrity", "service"], [2.0, 4.5], [1, 2], [0, 2]),
                unanswered: ([], [], [], []),
            }
            await asyncio.to_thread(command.downgrade, config, "0005")
            async with engine.connect() as connection:
                back = sorted(
                    tuple(row)
                    for row in await connection.execute(
                        select(
                            scores.c.rating_id,
                            scores.c.dimension,
                            scores.c.mean,
                            scores.c.answered,
                            scores.c.top,
                        )
                    )
                )
            assert back == [(rated, "integrity", 2.0, 1, 0), (rated, "service", 4.5, 2, 2)]
        finally:
            await engine.dispose()


class TestRatingHashesBecomeBytes:
    """0008 keeps the same digests: 64 hexadecimal characters become their 32 bytes (so a
    respondent is still known again), and the text comes back on the way down."""

    async def test_the_digests_survive_the_upgrade_and_the_downgrade(self, empty_url: str) -> None:
        from sqlalchemy import Boolean, Column, MetaData, String, Table, select
        from sqlalchemy import Uuid as SaUuid

        from services.common.db import (
            PortableFloatArray,
            PortableIntArray,
            PortableJSON,
            PortableTextArray,
            UTCDateTime,
            utcnow,
        )
        from services.evaluation.models import Rating

        hashes = ("respondent_hash", "device_hash", "network_hash", "content_hash")
        ratings = Table(
            "ratings",
            MetaData(),
            Column("id", SaUuid, primary_key=True),
            *(Column(name, String) for name in ("jurisdiction_code", "client", *hashes)),
            *(Column(name, SaUuid) for name in ("cycle_id", "group_id", "questionnaire_id")),
            Column("department_id", SaUuid),
            Column("answers", PortableJSON),
            Column("straight_lined", Boolean),
            Column("received_at", UTCDateTime),
            Column("dimensions", PortableTextArray),
            Column("means", PortableFloatArray),
            Column("answered", PortableIntArray),
            Column("tops", PortableIntArray),
        )
        rating_id = uuid.uuid4()
        digests = {name: os.urandom(32) for name in hashes}
        digests["network_hash"] = None  # no caller address
        as_text = {k: None if v is None else v.hex() for k, v in digests.items()}
        config = alembic_config("evaluation", empty_url)
        await asyncio.to_thread(command.upgrade, config, "0007")
        engine = make_engine(empty_url)
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    ratings.insert().values(
                        id=rating_id,
                        jurisdiction_code="231100",
                        client="app:test",
                        cycle_id=uuid.uuid4(),
                        group_id=uuid.uuid4(),
                        questionnaire_id=uuid.uuid4(),
                        department_id=uuid.uuid4(),
                        answers={"Q1": 4},
                        straight_lined=False,
                        received_at=utcnow(),
                        dimensions=["service"],
                        means=[4.0],
                        answered=[1],
                        tops=[1],
                        **as_text,
                    )
                )
            await engine.dispose()  # statements prepared before the change are stale
            await asyncio.to_thread(command.upgrade, config, "0008")
            async with engine.connect() as connection:
                stored = (
                    await connection.execute(select(*(getattr(Rating, n) for n in hashes)))
                ).one()
            assert dict(zip(hashes, stored, strict=True)) == digests
            await engine.dispose()
            await asyncio.to_thread(command.downgrade, config, "0007")
            async with engine.connect() as connection:
                back = (await connection.execute(select(*(ratings.c[n] for n in hashes)))).one()
            assert dict(zip(hashes, back, strict=True)) == as_text
        finally:
            await engine.dispose()

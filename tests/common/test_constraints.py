"""Which unique rule the database refused: the same answer from SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.constraints import unique_violation, violates_unique
from services.common.db import make_engine, metadata

METADATA: MetaData = metadata()
OWNERS = Table(
    "probe_owners", METADATA, Column("id", Integer, primary_key=True), prefixes=["TEMPORARY"]
)
THINGS = Table(
    "probe_things",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("owner_id", Integer, ForeignKey("probe_owners.id"), nullable=True),
    Column("scope", String(10), nullable=False),
    Column("code", String(10), nullable=False),
    Column("label", String(10), nullable=True, unique=True),
    UniqueConstraint("scope", "code"),
    prefixes=["TEMPORARY"],
)


@pytest.fixture
async def connection(database_urls: dict[str, str]) -> AsyncIterator[AsyncConnection]:
    engine = make_engine(database_urls["indicator"])
    try:
        async with engine.connect() as connection:
            await connection.run_sync(METADATA.create_all)
            await connection.execute(THINGS.insert(), {"id": 1, "scope": "a", "code": "x"})
            yield connection
            await connection.rollback()
    finally:
        await engine.dispose()


async def refused(connection: AsyncConnection, **row: object) -> IntegrityError:
    with pytest.raises(IntegrityError) as caught:
        async with connection.begin_nested():
            await connection.execute(THINGS.insert(), row)
    return caught.value


class TestUniqueViolation:
    async def test_the_rule_over_two_columns_is_named(self, connection: AsyncConnection) -> None:
        exc = await refused(connection, id=2, scope="a", code="x")
        assert violates_unique(exc, THINGS, ("scope", "code"))
        assert violates_unique(exc, THINGS, ("code", "scope"))
        assert not violates_unique(exc, THINGS, ("code",))
        assert not violates_unique(exc, OWNERS, ("scope", "code"))
        found = unique_violation(exc)
        assert found is not None and found.table == "probe_things"

    async def test_the_primary_key_and_a_single_column_rule(
        self, connection: AsyncConnection
    ) -> None:
        by_id = await refused(connection, id=1, scope="b", code="y")
        assert violates_unique(by_id, THINGS, ("id",))
        assert not violates_unique(by_id, THINGS, ("scope", "code"))
        await connection.execute(
            THINGS.insert(), {"id": 3, "scope": "c", "code": "z", "label": "L"}
        )
        by_label = await refused(connection, id=4, scope="d", code="w", label="L")
        assert violates_unique(by_label, THINGS, ("label",))

    async def test_other_integrity_errors_are_not_unique_violations(
        self, connection: AsyncConnection
    ) -> None:
        foreign_key = await refused(connection, id=5, scope="e", code="v", owner_id=99)
        not_null = await refused(connection, id=6, scope="f", code=None)
        for exc in (foreign_key, not_null):
            assert unique_violation(exc) is None
            assert not violates_unique(exc, THINGS, ("scope", "code"))

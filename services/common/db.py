"""Database plumbing shared by every component: engines, portable column types, ids."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Portable JSON: JSONB on PostgreSQL, JSON text elsewhere.
PortableJSON = JSON().with_variant(JSONB(), "postgresql")

# Execution option that marks a connection as read-only so SQLite opens it with a plain
# (deferred) BEGIN instead of BEGIN IMMEDIATE.
READ_ONLY = "govperf_read_only"


def metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    """A time-ordered UUIDv7 (RFC 9562): ids sort by creation, which keeps pagination stable."""
    ms = time.time_ns() // 1_000_000
    rand_a = int.from_bytes(os.urandom(2), "big") & 0xFFF
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way in and out, whatever the dialect stores."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not accepted; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for `url`, tuned for its dialect.

    SQLite gets WAL, `synchronous=NORMAL`, foreign keys, a busy timeout, and write
    transactions that start with `BEGIN IMMEDIATE`: a deferred transaction that reads and
    then writes fails at once with "database is locked" instead of waiting its turn.
    """
    if not is_sqlite(url):
        # A pool as large as the concurrent webhook deliveries a sibling sends, so that
        # bursts do not open and close overflow connections.
        if "poolclass" not in kwargs:
            kwargs.setdefault("pool_size", 20)
            kwargs.setdefault("max_overflow", 20)
        return create_async_engine(url, pool_pre_ping=True, **kwargs)

    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the driver so the "begin" hook below decides its kind.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def upsert_insert(session: AsyncSession, model: Any) -> Any:
    """A Core `INSERT` of the session's dialect (it has `on_conflict_do_nothing/_update`) into
    the model's table. Run it on `await session.connection()`: it bypasses the ORM's bulk
    machinery, which costs more than the statement itself."""
    table = getattr(model, "__table__", model)
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert(table)
    return sqlite_insert(table)


_UPSERTS: dict[tuple[str, Any, tuple[str, ...], tuple[str, ...]], Any] = {}


def upsert_statement(
    session: AsyncSession, model: Any, key: tuple[str, ...], update: tuple[str, ...]
) -> Any:
    """`INSERT … ON CONFLICT (key) DO UPDATE SET update = excluded.update`, built once per
    dialect and table; execute it with the row's values as parameters (a handler that runs
    for every event of a batch does not rebuild it each time)."""
    dialect = session.get_bind().dialect.name
    cache_key = (dialect, model, key, update)
    statement = _UPSERTS.get(cache_key)
    if statement is None:
        base = upsert_insert(session, model)
        statement = base.on_conflict_do_update(
            index_elements=list(key), set_={c: base.excluded[c] for c in update}
        )
        _UPSERTS[cache_key] = statement
    return statement


class Database:
    """One component's engine and its two session factories (read and write)."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.write_sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessions = async_sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )

    def session(self, *, read_only: bool = False) -> AsyncSession:
        return (self.read_sessions if read_only else self.write_sessions)()

    async def dispose(self) -> None:
        await self.engine.dispose()

"""Database plumbing shared by every component: engines, portable column types, ids."""

from __future__ import annotations

import collections
import functools
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    Integer,
    MetaData,
    Numeric,
    Text,
    bindparam,
    event,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util import greenlet_spawn

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Portable JSON: JSONB on PostgreSQL, JSON text elsewhere.
PortableJSON = JSON().with_variant(JSONB(), "postgresql")
# Portable one-dimensional arrays: native arrays on PostgreSQL, JSON lists elsewhere.
PortableTextArray = JSON().with_variant(ARRAY(Text()), "postgresql")
PortableFloatArray = JSON().with_variant(ARRAY(Float()), "postgresql")
PortableIntArray = JSON().with_variant(ARRAY(Integer()), "postgresql")


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

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        # asyncpg decodes `timestamptz` as aware UTC datetimes already: nothing to do per value.
        if dialect.driver == "asyncpg":
            return None
        return super().result_processor(dialect, coltype)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


# A pooled connection older than this is replaced on checkout: servers and proxies drop idle
# connections, and pre-pinging each checkout instead would cost round trips on every request.
POOL_RECYCLE_SECONDS = 1800
SQLITE_BUSY_TIMEOUT_MS = 10_000


def make_engine(
    url: str, *, read_only: bool = False, foreign_keys: bool = True, **kwargs: Any
) -> AsyncEngine:
    """An async engine for `url`, tuned for its dialect.

    `read_only` engines run each statement on its own (autocommit: no BEGIN/COMMIT round trips
    around a read) on connections the database itself keeps read-only.

    SQLite gets WAL, `synchronous=NORMAL`, foreign keys (unless `foreign_keys` is false: for
    migrations, which copy tables), a busy timeout, and write transactions that start with
    `BEGIN IMMEDIATE`: a deferred transaction that reads and then writes fails at once with
    "database is locked" instead of waiting its turn.
    """
    if read_only:
        kwargs.setdefault("isolation_level", "AUTOCOMMIT")
        # Nothing to roll back on a connection that never began a transaction: skip the call
        # (on aiosqlite it is a hop to the connection's thread).
        kwargs.setdefault("skip_autocommit_rollback", True)
    if not is_sqlite(url):
        if "poolclass" not in kwargs:
            # Enough for the concurrent webhook deliveries a sibling sends and a burst of
            # clients, so that bursts do not open and close overflow connections: a new
            # connection costs more than many requests (measured: a read pool of 10 + 10
            # overflow halved GET throughput at 32 concurrent clients). Pools fill only as
            # far as concurrency needs.
            kwargs.setdefault("pool_size", 32)
            kwargs.setdefault("max_overflow", 8)
            kwargs.setdefault("pool_recycle", POOL_RECYCLE_SECONDS)
        if read_only:
            connect_args = kwargs.setdefault("connect_args", {})
            settings = connect_args.setdefault("server_settings", {})
            settings.setdefault("default_transaction_read_only", "on")
        return create_async_engine(url, **kwargs)

    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    if not read_only and "poolclass" not in kwargs:
        # One writer per file, queued in-process: a writer waits for the pool's single
        # connection (in order, without sleeping) instead of polling the file lock inside
        # busy_timeout. The timeout is the busy_timeout's, so a stuck writer still fails.
        kwargs.setdefault("pool_size", 1)
        kwargs.setdefault("max_overflow", 0)
        kwargs.setdefault("pool_timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
        # Every use ends its transaction itself (a Connection rolls back what it did not
        # commit when closed), so the pool's own rollback on return would be one more trip
        # to the connection's thread per write, holding the writer slot.
        kwargs.setdefault("pool_reset_on_return", None)
    engine = create_async_engine(url, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the driver so the "begin" hook below decides its kind.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        # Still needed: other processes (`govperf migrate`, `govperf dispatch`) share the file.
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        if read_only:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    if not read_only:

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(connection: Any) -> None:
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


async def insert_row(session: AsyncSession, model: Any, **values: Any) -> SimpleNamespace:
    """INSERT one row with a Core statement on the session's connection (in its transaction)
    and return its values, Python-side column defaults filled in, as a plain object that
    response models read like the ORM instance. For hot single-row creates: the ORM's unit
    of work costs more than the statement."""
    table = model.__table__
    with_defaults(table, values)
    await insert_together(session, [(table, values)])
    return SimpleNamespace(**values)


async def pooled(connection: Any) -> Any:
    """The pooled DBAPI connection under an `AsyncConnection`: read off it while it holds a
    live one (`get_raw_connection` takes a trip through the engine's greenlet for it)."""
    sync = connection.sync_connection
    if sync is not None and not sync.closed and not sync.invalidated:
        return sync.connection
    return await connection.get_raw_connection()


class ReadSession(AsyncSession):
    """The session of a read route: every statement runs on its own (autocommit, on a
    read-only connection), so one that has not yet begun may run a statement on any pooled
    connection (`driver_adapter`)."""


@asynccontextmanager
async def driver_adapter(session: AsyncSession) -> AsyncIterator[Any]:
    """The asyncpg adapter (the dialect's DBAPI connection) to run one statement on.

    A session that holds a connection lends its own (its transaction). A `ReadSession` that
    has not begun takes one from the pool for the statement alone and gives it back after:
    beginning the session (its transaction object, its Connection) and closing it again
    cost more CPU than a read by id itself. A connection found closed afterwards (the server
    went away) is invalidated rather than given back."""
    if isinstance(session, ReadSession) and not session.in_transaction():
        assert isinstance(session.bind, AsyncEngine)
        lent = await session.bind.raw_connection()
        try:
            yield lent.dbapi_connection
        finally:
            closed = lent.dbapi_connection._connection.is_closed()  # type: ignore[union-attr]
            await greenlet_spawn(lent.invalidate if closed else lent.close)
        return
    yield (await pooled(await session.connection())).dbapi_connection


def with_defaults(table: Any, values: dict[str, Any]) -> dict[str, Any]:
    """`values` with the table's Python-side column defaults filled in where missing."""
    for column in table.columns:
        default = column.default
        if column.key not in values and default is not None and not default.is_sequence:
            values[column.key] = default.arg(None) if default.is_callable else default.arg
    return values


async def insert_together(session: AsyncSession, rows: list[tuple[Any, dict[str, Any]]]) -> None:
    """INSERT each (table, values) in order, in the session's transaction: on SQLite in one
    trip to the driver's thread (each trip waits for the event loop to take its answer,
    while the single writer's turn is held), on asyncpg on the driver, else the engine's."""
    connection = await session.connection()
    if on_driver(connection):
        for table, values in rows:
            await _insert_on_driver(connection, table, values)
    elif connection.dialect.driver == "aiosqlite" and len(rows) > 1:
        await _insert_on_sqlite_thread(connection, rows)
    else:
        for table, values in rows:
            await connection.execute(insert(table), values)


async def _insert_on_sqlite_thread(connection: Any, rows: list[tuple[Any, dict[str, Any]]]) -> None:
    statements = [insert_on_driver(table, [values], connection.dialect) for table, values in rows]
    adapter = (await pooled(connection)).dbapi_connection
    worker = adapter._connection  # aiosqlite's connection: its thread runs the calls in order

    def run() -> None:
        cursor = worker._conn.cursor()
        try:
            for sql, args in statements:
                cursor.execute(sql, args[0])
        finally:
            cursor.close()

    try:
        await worker._execute(run)
    except adapter.dbapi.Error as exc:
        sql = "; ".join(sql for sql, _ in statements)
        raise DBAPIError.instance(
            sql,
            [args for _, args in statements],
            exc,
            adapter.dbapi.Error,
            dialect=connection.dialect,
        ) from exc


class _Insert:
    """`INSERT INTO <table> (<these columns>) VALUES (...)` compiled once per table, column
    set and dialect, with the columns' bind processors (UTC datetimes, JSON)."""

    def __init__(self, table: Any, keys: tuple[str, ...], dialect: Dialect) -> None:
        compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
        self.sql = str(compiled)
        self.order = list(compiled.positiontup or ())
        types = {column.key: column.type for column in table.c}
        self.processors = {
            key: processor
            for key in keys
            if (processor := types[key]._cached_bind_processor(dialect)) is not None
        }


_INSERTS: dict[tuple[Any, tuple[str, ...], str], _Insert] = {}


async def driver_execute(
    adapter: Any, dialect: Dialect, sql: str, rows: list[list[Any]], *, fetch: bool = False
) -> Any:
    """Run one statement (once per row of arguments) on the asyncpg connection `adapter`
    (the dialect's DBAPI connection) wraps, in its transaction (begun here if nothing has
    run in it yet, as the dialect would), raising what the engine would: a `DBAPIError`
    (an IntegrityError for a violated rule), `connection_invalidated` when the connection
    is gone (the caller then runs the statement the engine's way, which invalidates the
    pool as any statement does). The engine's per-statement work costs about twice the
    statement itself on a hot write."""
    async with adapter._execute_mutex:
        try:
            if adapter._transaction is None:
                await adapter._start_transaction()
            if fetch:  # one row of arguments: the records it selects
                return await adapter._connection.fetch(sql, *rows[0])
            if len(rows) == 1:
                await adapter._connection.execute(sql, *rows[0])
            else:
                await adapter._connection.executemany(sql, rows)
            return None
        except Exception as error:
            raise _dialect_error(adapter, dialect, sql, rows, error) from error


def _dialect_error(
    adapter: Any, dialect: Dialect, sql: str, rows: list[list[Any]], error: Exception
) -> Exception:
    translated: Any = error
    if not isinstance(error, adapter.dbapi.Error):
        try:
            adapter._handle_exception(error)  # raises the dialect's DBAPI error
        except adapter.dbapi.Error as raised:
            translated = raised
        except Exception as other:  # not a database error at all
            return other
    return DBAPIError.instance(
        sql,
        rows,
        translated,
        adapter.dbapi.Error,
        dialect=dialect,
        connection_invalidated=dialect.is_disconnect(translated, adapter, None),
    )


def on_driver(connection: Any) -> bool:
    """Whether `connection` (sync or async) runs statements on the asyncpg driver."""
    return connection.dialect.driver == "asyncpg"


def insert_on_driver(
    table: Any, rows: list[dict[str, Any]], dialect: Dialect
) -> tuple[str, list[list[Any]]]:
    """The INSERT of `rows` (each with the same keys) and their arguments, bound as the
    dialect binds them."""
    keys = tuple(rows[0])
    query = _INSERTS.get((table, keys, dialect.name))
    if query is None:
        query = _INSERTS[(table, keys, dialect.name)] = _Insert(table, keys, dialect)
    processors = query.processors
    return query.sql, [
        [processors[key](row[key]) if key in processors else row[key] for key in query.order]
        for row in rows
    ]


async def _insert_on_driver(connection: Any, table: Any, values: dict[str, Any]) -> None:
    sql, rows = insert_on_driver(table, [values], connection.dialect)
    adapter = (await pooled(connection)).dbapi_connection
    try:
        await driver_execute(adapter, connection.dialect, sql, rows)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        # Gone: the engine's own path finds it so too and replaces every pooled connection
        # of that age, as it does on any statement.
        await connection.execute(insert(table), values)


def _result_processors(columns: Any, dialect: Dialect) -> list[tuple[int, Any]]:
    """(position, processor) of the columns whose values the dialect processes on the way out.
    Numbers need none: the driver hands out floats (and Decimals) itself, and the numeric
    processors want the column's type OID, which a raw fetch does not pass."""
    return [
        (position, processor)
        for position, column in enumerate(columns)
        if not isinstance(column.type, Numeric | Float)
        and (processor := column.type._cached_result_processor(dialect, None)) is not None
    ]


class DriverSelect:
    """A SELECT kept across requests, compiled once for the asyncpg driver: a run binds only
    its parameters (IN lists expanded as the engine would) and reads the rows, with the
    columns' result processors, as named tuples (attributes and `_fields` like the engine's
    rows). `paginate` reads the pages of `kept` statements with it."""

    def __init__(self, statement: Any, dialect: Dialect) -> None:
        self.compiled = statement.compile(dialect=dialect)
        columns = list(statement.selected_columns)
        self.row = collections.namedtuple("Row", [column.key for column in columns])  # type: ignore[misc]
        self.processors = _result_processors(columns, dialect)

    @staticmethod
    def fits(statement: Any) -> bool:
        keys = [column.key for column in statement.selected_columns]
        return len(set(keys)) == len(keys) and all(
            isinstance(k, str) and k.isidentifier() and not k.startswith("_") for k in keys
        )

    async def rows(self, session: AsyncSession, params: dict[str, Any]) -> list[Any] | None:
        """The rows, or None when the connection turned out to be gone (run the statement
        the engine's way then: it replaces the pool's connections of that age)."""
        state = self.compiled.construct_expanded_state(params)
        binds, values = state.processors, state.parameters
        args = [
            binds[name](values[name]) if name in binds else values[name]
            for name in state.positiontup or ()
        ]
        async with driver_adapter(session) as adapter:
            try:
                records = await driver_execute(
                    adapter, self.compiled.dialect, state.statement, [args], fetch=True
                )
            except DBAPIError as exc:
                if exc.connection_invalidated:
                    return None
                raise
        make = self.row._make
        if not self.processors:
            return [make(record) for record in records]
        processors = self.processors
        rows = []
        for record in records:
            values_ = list(record)
            for position, processor in processors:
                values_[position] = processor(values_[position])
            rows.append(make(values_))
        return rows


@functools.cache
def _row_by_id(table: Any) -> Any:
    """`SELECT <every column> FROM <table> WHERE id = :row_id`, built once per table."""
    return select(*table.c).where(table.c.id == bindparam("row_id"))


_ROWS_BY_ID: dict[Any, DriverSelect | None] = {}


def _row_by_id_on_driver(table: Any, dialect: Dialect) -> DriverSelect | None:
    """`_row_by_id` compiled for the asyncpg driver, once per table (every asyncpg dialect
    compiles it alike); None for a table whose column names cannot be row attributes."""
    if table not in _ROWS_BY_ID:
        statement = _row_by_id(table)
        fits = DriverSelect.fits(statement)
        _ROWS_BY_ID[table] = DriverSelect(statement, dialect) if fits else None
    return _ROWS_BY_ID[table]


async def read_row(session: AsyncSession, model: Any, row_id: Any) -> SimpleNamespace | None:
    """One row by primary key as a plain object (attributes like the ORM instance's, values
    converted alike: UTC datetimes, JSON, UUIDs), for reads that only answer it. On the
    asyncpg driver it is a `DriverSelect` (in the session's transaction, or on a connection
    of its own in a read route): the ORM's and the engine's per-statement work cost several
    times the query itself on this hot path."""
    table = model.__table__
    engine = session.bind
    on_asyncpg = engine is not None and on_driver(engine)
    driver = _row_by_id_on_driver(table, engine.dialect) if on_asyncpg else None
    if driver is not None:
        rows = await driver.rows(session, {"row_id": row_id})
        if rows is not None:
            return SimpleNamespace(**rows[0]._asdict()) if rows else None
        # The connection was gone: the engine's way replaces the pool's of that age (and
        # raises for a read route to run once more).
    connection = await session.connection()
    result = (await connection.execute(_row_by_id(table), {"row_id": row_id})).first()
    return None if result is None else SimpleNamespace(**result._asdict())


class Database:
    """One component's two engines and their session factories.

    - `session()`: a write transaction.
    - `session(read_only=True)`: reads that may stream or span statements (a transaction on
      PostgreSQL, which server-side cursors need).
    - `session(read_only=True, autocommit=True)`: what read routes use: each statement runs on
      its own, no BEGIN/COMMIT round trips.
    Read sessions run on connections that refuse writes, and on SQLite never wait for the
    writer.
    """

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.read_engine = make_engine(url, read_only=True, **engine_kwargs)
        self.write_sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.autocommit_read_sessions = async_sessionmaker(
            self.read_engine, class_=ReadSession, expire_on_commit=False
        )
        transactional = (
            self.read_engine
            if is_sqlite(url)
            else self.read_engine.execution_options(isolation_level="READ COMMITTED")
        )
        self.read_sessions = async_sessionmaker(transactional, expire_on_commit=False)

    @property
    def session_factories(self) -> tuple[async_sessionmaker[AsyncSession], ...]:
        return (self.write_sessions, self.read_sessions, self.autocommit_read_sessions)

    def session(self, *, read_only: bool = False, autocommit: bool = False) -> AsyncSession:
        if not read_only:
            return self.write_sessions()
        return (self.autocommit_read_sessions if autocommit else self.read_sessions)()

    async def dispose(self) -> None:
        await self.engine.dispose()
        await self.read_engine.dispose()

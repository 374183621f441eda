"""Every database test runs twice: on SQLite files and on a real PostgreSQL server.

PostgreSQL comes from TEST_DATABASE_URL (default: the local server, user postgres). The
suite creates its own databases and drops them at the end. Outside CI an unreachable server
skips the PostgreSQL half with one line saying so; with CI=true it fails the run.
"""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from services.common.migrate import upgrade, version_table
from services.common.settings import COMPONENTS
from tests.harness import Stack, release_apps, running_stack

TEST_DATABASE_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _probe_postgres() -> str | None:
    try:
        connection = await asyncpg.connect(_asyncpg_dsn(TEST_DATABASE_URL), timeout=5)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        return f"{type(exc).__name__}: {exc}"
    await connection.close()
    return None


POSTGRES_PROBLEM: str | None = asyncio.run(_probe_postgres())


def pytest_report_header(config: pytest.Config) -> str:
    shown = make_url(TEST_DATABASE_URL).render_as_string(hide_password=True)
    if POSTGRES_PROBLEM is None:
        return f"govperf: PostgreSQL at {shown}; SQLite files in a temporary directory"
    return f"govperf: PostgreSQL at {shown} is NOT reachable ({POSTGRES_PROBLEM})"


def pytest_sessionstart(session: pytest.Session) -> None:
    if POSTGRES_PROBLEM is not None and IN_CI:
        raise pytest.UsageError(
            f"CI=true but PostgreSQL at TEST_DATABASE_URL is unreachable: {POSTGRES_PROBLEM}"
        )


def pytest_collection_finish(session: pytest.Session) -> None:
    """Everything imported so far (the apps' modules, the test modules) lives as long as the
    process: out of the garbage collector's sight, so that each full collection walks only
    what the tests themselves made."""
    gc.collect()
    gc.freeze()


def _uses_postgres(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    return callspec is not None and "postgresql" in callspec.params.values()


_NOT_RUN: list[pytest.Item] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a server (outside CI) the PostgreSQL half is left out, and said so once."""
    if POSTGRES_PROBLEM is None:
        return
    _NOT_RUN.extend(item for item in items if _uses_postgres(item))
    if _NOT_RUN:
        items[:] = [item for item in items if not _uses_postgres(item)]
        config.hook.pytest_deselected(items=_NOT_RUN)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if POSTGRES_PROBLEM is None:
        return
    config = terminalreporter.config
    # With workers (pytest-xdist, `make test`) the workers collect and leave the PostgreSQL
    # half out; the process that reports knows the server is unreachable, not how many.
    distributed = getattr(config.option, "dist", "no") != "no" and not hasattr(
        config, "workerinput"
    )
    if _NOT_RUN or distributed:
        count = f" {len(_NOT_RUN)}" if _NOT_RUN else ""
        terminalreporter.write_line(
            f"PostgreSQL unreachable ({POSTGRES_PROBLEM}): its{count} tests did not "
            "run; set TEST_DATABASE_URL to a reachable server to run them",
            yellow=True,
            bold=True,
        )


def require_postgres() -> None:
    """Skip the calling test's PostgreSQL half (one summary line for all of them)."""
    if POSTGRES_PROBLEM is not None:
        pytest.skip(f"PostgreSQL unreachable, PostgreSQL half skipped: {POSTGRES_PROBLEM}")


# --- databases ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every component's SQLite file, migrated once; tests get copies."""
    directory = tmp_path_factory.mktemp("sqlite-template")
    for component in COMPONENTS:
        upgrade(component, f"sqlite+aiosqlite:///{directory / f'{component}.db'}")
    return directory


@pytest.fixture(scope="session")
def postgres_urls() -> Iterator[dict[str, str]]:
    """One migrated PostgreSQL database per component for this test session."""
    require_postgres()
    suffix = uuid.uuid4().hex[:8]
    names = {c: f"govperf_test_{c}_{suffix}" for c in COMPONENTS}
    admin_dsn = _asyncpg_dsn(TEST_DATABASE_URL)

    async def run(statements: list[str]) -> None:
        connection = await asyncpg.connect(admin_dsn)
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run([f'CREATE DATABASE "{n}"' for n in names.values()]))
    urls = {
        c: make_url(TEST_DATABASE_URL).set(database=n).render_as_string(hide_password=False)
        for c, n in names.items()
    }
    try:
        for component, url in urls.items():
            upgrade(component, url)
        yield urls
    finally:
        asyncio.run(run([f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in names.values()]))


class PostgresReset:
    """Empties every component's PostgreSQL database between tests.

    One connection per database for the whole session, on an event loop of its own thread
    (each test runs its own loop); one statement per database that deletes every table's
    rows with foreign-key triggers off and restarts the sequences. A TRUNCATE of every
    table through new engines cost ~0.2 s a test; this costs a few milliseconds."""

    def __init__(self, urls: dict[str, str]) -> None:
        self.urls = urls
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.connections: dict[str, asyncpg.Connection] = {}
        self.statements: dict[str, str] = {}

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    async def _statement(self, component: str, connection: asyncpg.Connection) -> str:
        tables = [
            r[0]
            for r in await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> $1",
                version_table(component),
            )
        ]
        sequences = [
            r[0]
            for r in await connection.fetch(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"
            )
        ]
        return "; ".join(
            [
                "SET session_replication_role = replica",
                *(f'DELETE FROM "{t}"' for t in tables),
                *(f'ALTER SEQUENCE "{q}" RESTART' for q in sequences),
                "SET session_replication_role = DEFAULT",
            ]
        )

    async def _reset_one(self, component: str) -> None:
        connection = self.connections.get(component)
        if connection is None or connection.is_closed():
            # First use, or a test terminated the database's connections.
            connection = await asyncpg.connect(_asyncpg_dsn(self.urls[component]))
            self.connections[component] = connection
        if component not in self.statements:
            self.statements[component] = await self._statement(component, connection)
        try:
            await connection.execute(self.statements[component])
        except (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError):
            self.connections.pop(component, None)
            await self._reset_one(component)

    async def _reset(self) -> None:
        await asyncio.gather(*(self._reset_one(c) for c in self.urls))

    def reset(self) -> None:
        self._run(self._reset())

    async def _close(self) -> None:
        for connection in self.connections.values():
            await connection.close()

    def close(self) -> None:
        self._run(self._close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


@pytest.fixture(scope="session")
def postgres_reset(postgres_urls: dict[str, str]) -> Iterator[PostgresReset]:
    reset = PostgresReset(postgres_urls)
    yield reset
    reset.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Fresh, migrated, empty databases of every component for one test."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        urls = {}
        for component in COMPONENTS:
            target = tmp_path / f"{component}.db"
            shutil.copyfile(template / f"{component}.db", target)
            urls[component] = f"sqlite+aiosqlite:///{target}"
        yield urls
    else:
        urls = request.getfixturevalue("postgres_urls")
        reset = request.getfixturevalue("postgres_reset")
        yield urls
        reset.reset()


@pytest.fixture
def backend(database_urls: dict[str, str]) -> str:
    return "sqlite" if database_urls["indicator"].startswith("sqlite") else "postgresql"


@pytest.fixture
async def stack(database_urls: dict[str, str], backend: str) -> AsyncIterator[Stack]:
    async with running_stack(backend, database_urls) as running:
        yield running


@pytest.fixture(autouse=True)
def _released_apps() -> Iterator[None]:
    """After each test (its stack stopped), nothing keeps its apps alive."""
    yield
    release_apps()


@pytest.fixture(autouse=True)
def _isolated_settings_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never read the developer's GOVPERF_* environment or write to ./var."""
    for name in list(os.environ):
        if name.startswith("GOVPERF_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GOVPERF_DATA_DIR", str(tmp_path / "var"))

"""The body of every component's Alembic `env.py`."""

from __future__ import annotations

import asyncio
import hashlib
import importlib
from typing import Any

from alembic import context
from sqlalchemy import MetaData, text
from sqlalchemy.pool import NullPool

from services.common.db import make_engine
from services.common.migrate import version_table


def _database_url(component: str) -> str:
    url = context.config.attributes.get("database_url")
    if url:
        return url
    # Run from the `alembic` command line: read the component's own settings.
    module = "gateway.settings" if component == "gateway" else f"services.{component}.settings"
    return importlib.import_module(module).Settings().database_url


def _lock_key(component: str) -> int:
    """A stable 63-bit advisory lock key per component."""
    return int.from_bytes(hashlib.sha256(f"govperf-migrate:{component}".encode()).digest()[:8]) >> 1


def run_migrations(metadata: MetaData, component: str) -> None:
    url = _database_url(component)
    options: dict[str, Any] = {
        "target_metadata": metadata,
        "version_table": version_table(component),
        "render_as_batch": True,
        "compare_type": True,
    }
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return

    def run(connection: Any) -> None:
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Replicas that start together all migrate on start: the first takes this
                # lock and migrates, the others wait for its commit, then find the schema at
                # head and do nothing. (On SQLite, one process owns the file by design.)
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(component)}
                )
            context.run_migrations()
            if connection.dialect.name == "sqlite":
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")

    async def main() -> None:
        # Batch operations on SQLite copy a table into a new one and drop the old: with
        # foreign keys enforced, the drop would delete every row that references the table
        # ON DELETE CASCADE. They are off while migrating and checked after.
        engine = make_engine(url, poolclass=NullPool, foreign_keys=False)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(run)
                await connection.commit()
        finally:
            await engine.dispose()

    asyncio.run(main())

"""Alembic, driven from code: each component has its own environment and version table."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

import migrations


def migrations_dir(component: str) -> Path:
    return Path(migrations.__file__).resolve().parent / component


def version_table(component: str) -> str:
    return f"alembic_version_{component}"


def alembic_config(component: str, database_url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir(component)))
    config.attributes["component"] = component
    if database_url:
        config.attributes["database_url"] = database_url
    return config


def upgrade(component: str, database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(component, database_url), revision)


async def upgrade_async(component: str, database_url: str, revision: str = "head") -> None:
    # Alembic's env runs its own event loop; give it a thread of its own.
    await asyncio.to_thread(upgrade, component, database_url, revision)


@functools.cache
def head_revision(component: str) -> str | None:
    """The newest revision of the component's scripts: read once per process (the scan of
    the scripts costs more than building an app), as the scripts do not change under it."""
    return ScriptDirectory.from_config(alembic_config(component)).get_current_head()


async def current_revision(connection: AsyncConnection, component: str) -> str | None:
    result = await connection.execute(text(f"SELECT version_num FROM {version_table(component)}"))
    return result.scalar_one_or_none()

"""A bare FastAPI app over the database driver: the baseline of bench/request_path.py.

    BARE_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/DB \\
        .venv/bin/python -m uvicorn bare_app:app --app-dir bench --port 8080
    BARE_DATABASE_URL=sqlite:///path/to/bare.db ...   (aiosqlite, one connection)

What an engineer would write without the kit: one driver pool (asyncpg) or one connection
(aiosqlite, autocommit) opened in the lifespan, one statement per request, pydantic models in
and out. The table has the shape, constraints and indexes of the indicator service's
`departments`, and is created on start. It imports nothing of govperf.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Protocol

import aiosqlite
import asyncpg
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict, Field

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]*$"
CATEGORY_PATTERN = r"^[a-z][a-z0-9_]*$"
DIVISION_CODE_PATTERN = r"^\d{6}(\d{3})?$"
COLUMNS = "id, jurisdiction_code, code, name_zh, name_en, category, parent_id, active"
RETURNED = f"{COLUMNS}, created_at, updated_at"
# Each INSERT waits for its commit's WAL flush, so the write rate grows with the connections in
# flight: room for the bench's 32 connections, as the kit's engine has (pool 20 + overflow 20).
POOL_MAX_SIZE = 40

POSTGRES_SCHEMA = """
CREATE TABLE IF NOT EXISTS departments (
    id uuid PRIMARY KEY,
    jurisdiction_code varchar(12) NOT NULL,
    code varchar(64) NOT NULL,
    name_zh varchar(200) NOT NULL,
    name_en varchar(200),
    category varchar(64) NOT NULL,
    parent_id uuid REFERENCES departments (id) ON DELETE RESTRICT,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (jurisdiction_code, code)
);
CREATE INDEX IF NOT EXISTS ix_departments_jurisdiction_code ON departments (jurisdiction_code);
CREATE INDEX IF NOT EXISTS ix_departments_category ON departments (category);
"""

SQLITE_NOW = "(strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'))"
SQLITE_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS departments (
    id CHAR(32) PRIMARY KEY,
    jurisdiction_code VARCHAR(12) NOT NULL,
    code VARCHAR(64) NOT NULL,
    name_zh VARCHAR(200) NOT NULL,
    name_en VARCHAR(200),
    category VARCHAR(64) NOT NULL,
    parent_id CHAR(32) REFERENCES departments (id) ON DELETE RESTRICT,
    active BOOLEAN NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL DEFAULT {SQLITE_NOW},
    updated_at TEXT NOT NULL DEFAULT {SQLITE_NOW},
    UNIQUE (jurisdiction_code, code)
);
CREATE INDEX IF NOT EXISTS ix_departments_jurisdiction_code ON departments (jurisdiction_code);
CREATE INDEX IF NOT EXISTS ix_departments_category ON departments (category);
"""


class DepartmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jurisdiction_code: str = Field(pattern=DIVISION_CODE_PATTERN)
    code: str = Field(min_length=1, max_length=64, pattern=CODE_PATTERN)
    name_zh: str = Field(min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    category: str = Field(min_length=1, max_length=64, pattern=CATEGORY_PATTERN)
    parent_id: uuid.UUID | None = None
    active: bool = True


class Department(BaseModel):
    id: uuid.UUID
    jurisdiction_code: str
    code: str
    name_zh: str
    name_en: str | None
    category: str
    parent_id: uuid.UUID | None
    active: bool
    created_at: datetime
    updated_at: datetime


class Ping(BaseModel):
    status: str


class Conflict(Exception):
    """The new row breaks a constraint (a taken code, an unknown parent)."""


class Store(Protocol):
    async def get(self, department_id: uuid.UUID) -> Mapping[str, Any] | None: ...

    async def insert(self, department: DepartmentCreate) -> Mapping[str, Any]: ...


class PostgresStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def get(self, department_id: uuid.UUID) -> Mapping[str, Any] | None:
        return await self.pool.fetchrow(
            f"SELECT {RETURNED} FROM departments WHERE id = $1", department_id
        )

    async def insert(self, department: DepartmentCreate) -> Mapping[str, Any]:
        try:
            return await self.pool.fetchrow(
                f"INSERT INTO departments ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                f" RETURNING {RETURNED}",
                uuid.uuid4(),
                department.jurisdiction_code,
                department.code,
                department.name_zh,
                department.name_en,
                department.category,
                department.parent_id,
                department.active,
            )
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise Conflict(str(exc)) from exc


class SqliteStore:
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self.connection = connection

    async def get(self, department_id: uuid.UUID) -> Mapping[str, Any] | None:
        rows = await self.connection.execute_fetchall(
            f"SELECT {RETURNED} FROM departments WHERE id = ?", (department_id.hex,)
        )
        return rows[0] if rows else None

    async def insert(self, department: DepartmentCreate) -> Mapping[str, Any]:
        d = department
        values = (uuid.uuid4().hex, d.jurisdiction_code, d.code, d.name_zh, d.name_en, d.category)
        parent_id = d.parent_id.hex if d.parent_id else None
        try:
            rows = await self.connection.execute_fetchall(
                f"INSERT INTO departments ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                f" RETURNING {RETURNED}",
                (*values, parent_id, d.active),
            )
        except sqlite3.IntegrityError as exc:
            raise Conflict(str(exc)) from exc
        return rows[0]


@asynccontextmanager
async def open_store(url: str) -> AsyncIterator[Store]:
    """The store of `url`: `postgresql://…` (asyncpg pool) or `sqlite:///path` (aiosqlite)."""
    if url.startswith("sqlite:///"):
        # Autocommit: every INSERT is its own transaction, as one statement per request implies.
        async with aiosqlite.connect(url.removeprefix("sqlite:///"), isolation_level=None) as db:
            db.row_factory = aiosqlite.Row
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
                await db.execute(f"PRAGMA {pragma}")
            await db.executescript(SQLITE_SCHEMA)
            yield SqliteStore(db)
        return
    async with asyncpg.create_pool(url, max_size=POOL_MAX_SIZE) as pool:
        await pool.execute(POSTGRES_SCHEMA)
        yield PostgresStore(pool)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with open_store(os.environ["BARE_DATABASE_URL"]) as store:
        app.state.store = store
        yield


app = FastAPI(title="bare baseline", lifespan=lifespan)


@app.get("/ping", response_model=Ping)
async def ping() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/departments/{department_id}", response_model=Department)
async def get_department(department_id: uuid.UUID) -> Mapping[str, Any]:
    row = await app.state.store.get(department_id)
    if row is None:
        raise HTTPException(404, "department not found")
    return dict(row)


@app.post("/departments", response_model=Department, status_code=201)
async def create_department(department: DepartmentCreate) -> Mapping[str, Any]:
    try:
        return dict(await app.state.store.insert(department))
    except Conflict as exc:
        raise HTTPException(409, str(exc)) from exc

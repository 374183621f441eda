"""Which unique rule the database refused, told the same way on SQLite and PostgreSQL.

Inserting and mapping the violation to a domain error costs one round trip where checking
first (a SELECT, then the INSERT) costs two, and it is right under concurrency, where the
check is not: two requests can both find a code free. Use it as

    try:
        await session.flush()
    except IntegrityError as exc:
        if violates_unique(exc, Thing.__table__, ("owner", "code")):
            raise CodeTaken(...) from None
        raise

PostgreSQL names the constraint (and, in its detail, the columns); SQLite names the table and
columns (`UNIQUE constraint failed: t.a, t.b`) or, for an expression index, the index.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Index, Table, UniqueConstraint
from sqlalchemy.exc import IntegrityError

UNIQUE_VIOLATION = "23505"  # PostgreSQL SQLSTATE
SQLITE_UNIQUE_CODES = frozenset({1555, 2067})  # SQLITE_CONSTRAINT_PRIMARYKEY, _UNIQUE
POSTGRES_NAME_LENGTH = 63
_SQLITE_COLUMNS = re.compile(r"UNIQUE constraint failed: (.+)$")
_SQLITE_INDEX = re.compile(r"UNIQUE constraint failed: index '([^']+)'")
_POSTGRES_KEY = re.compile(r"Key \((.+?)\)=\(")


@dataclass(frozen=True)
class UniqueViolation:
    """What the database said: any of these may be unknown (None)."""

    table: str | None
    columns: tuple[str, ...] | None
    constraint: str | None


def unique_violation(exc: IntegrityError) -> UniqueViolation | None:
    """The unique (or primary key) violation `exc` reports; None for any other integrity
    error (a foreign key, a NOT NULL, a CHECK)."""
    orig = exc.orig
    sqlite_code = getattr(orig, "sqlite_errorcode", None)
    if sqlite_code is not None:
        return _sqlite(str(orig)) if sqlite_code in SQLITE_UNIQUE_CODES else None
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if state is None:
        return None
    if state != UNIQUE_VIOLATION:
        return None
    # asyncpg keeps the fields on the exception the adapter wraps; psycopg on `diag`.
    source = getattr(orig, "diag", None) or orig.__cause__ or orig
    detail = getattr(source, "detail", None) or getattr(source, "message_detail", None)
    key = _POSTGRES_KEY.search(detail or "")
    return UniqueViolation(
        table=getattr(source, "table_name", None),
        columns=tuple(c.strip().strip('"') for c in key.group(1).split(",")) if key else None,
        constraint=getattr(source, "constraint_name", None),
    )


def _sqlite(message: str) -> UniqueViolation:
    index = _SQLITE_INDEX.search(message)
    if index:
        return UniqueViolation(table=None, columns=None, constraint=index.group(1))
    found = _SQLITE_COLUMNS.search(message)
    if not found:
        return UniqueViolation(table=None, columns=None, constraint=None)
    qualified = [part.strip() for part in found.group(1).split(",")]
    tables = {part.rsplit(".", 1)[0] for part in qualified if "." in part}
    return UniqueViolation(
        table=tables.pop() if len(tables) == 1 else None,
        columns=tuple(part.rsplit(".", 1)[-1] for part in qualified),
        constraint=None,
    )


def _names(table: Table, columns: Sequence[str]) -> set[str]:
    """The names of `table`'s unique constraints and indexes over exactly `columns`."""
    wanted = set(columns)
    names: set[str] = set()
    for rule in (*table.constraints, *table.indexes):
        if isinstance(rule, Index) and not rule.unique:
            continue
        if not isinstance(rule, Index | UniqueConstraint) and rule is not table.primary_key:
            continue
        if {c.name for c in rule.columns} == wanted and rule.name:
            names.add(str(rule.name)[:POSTGRES_NAME_LENGTH])
    return names


def violates_unique(exc: IntegrityError, table: Table, columns: Sequence[str]) -> bool:
    """Whether `exc` is the violation of `table`'s unique rule over `columns`."""
    found = unique_violation(exc)
    if found is None:
        return False
    if found.table is not None and found.table != table.name:
        return False
    if found.constraint is not None and found.constraint in _names(table, columns):
        return True
    return found.columns is not None and set(found.columns) == set(columns)

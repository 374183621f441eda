"""Jurisdiction isolation: every query and every write goes through these helpers.

Reading another jurisdiction's unpublished data answers 404 (its existence is not
revealed); writing into another jurisdiction answers 403.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.common.db import read_row
from services.common.errors import Forbidden, NotFound

T = TypeVar("T")

# Chinese administrative division codes: 6 digits (province, city, county levels).
DIVISION_CODE_PATTERN = r"^\d{6}$"


def scoped(stmt: Select[Any], model: Any, principal: Principal) -> Select[Any]:
    """Restrict `stmt` to the jurisdictions the principal belongs to (none for the public)."""
    return in_jurisdictions(stmt, model, principal.jurisdictions)


def in_jurisdictions(stmt: Select[Any], model: Any, jurisdictions: tuple[str, ...]) -> Select[Any]:
    """`scoped` by the jurisdictions themselves (for statements kept across requests)."""
    return stmt.where(model.jurisdiction_code.in_(jurisdictions))


def ensure_writable(principal: Principal, jurisdiction_code: str) -> None:
    if not principal.may_access(jurisdiction_code):
        raise Forbidden(f"Jurisdiction {jurisdiction_code} is not yours to change")


async def get_visible(
    session: AsyncSession,
    model: type[T],
    id_: uuid.UUID,
    principal: Principal,
    *,
    published: bool = False,
    what: str = "Resource",
) -> Any:
    """The row if the principal may read it: own jurisdiction, or `published` for anyone.
    A plain row to answer with (`read_row`), not an ORM instance to change: see
    `get_writable`."""
    row: Any = await read_row(session, model, id_)
    if row is None or not (published or principal.may_access(row.jurisdiction_code)):  # type: ignore[attr-defined]
        raise NotFound(f"{what} {id_} not found")
    return row


async def get_writable(
    session: AsyncSession,
    model: type[T],
    id_: uuid.UUID,
    principal: Principal,
    *,
    what: str = "Resource",
) -> T:
    """The row if the principal may change it; 404 if absent, 403 if of another jurisdiction."""
    row = await session.get(model, id_, with_for_update=True)
    if row is None:
        raise NotFound(f"{what} {id_} not found")
    ensure_writable(principal, row.jurisdiction_code)  # type: ignore[attr-defined]
    return row

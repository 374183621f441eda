"""Cursor pagination: an opaque cursor over a stable, unique sort key (the time-ordered id)."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.errors import Unprocessable

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class PageParams(BaseModel):
    cursor: str | None = None
    limit: int = DEFAULT_LIMIT


async def _page_params(
    cursor: Annotated[str | None, Query(description="Opaque cursor from `next_cursor`")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> PageParams:
    return PageParams(cursor=cursor, limit=limit)


PageParamsDep = Annotated[PageParams, Depends(_page_params)]


def encode_cursor(last_key: Any) -> str:
    raw = json.dumps({"after": str(last_key)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, parse: Callable[[str], Any] = uuid.UUID) -> Any:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return parse(json.loads(base64.urlsafe_b64decode(padded))["after"])
    except (ValueError, KeyError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise Unprocessable("The cursor is not one this API issued", code="invalid-cursor") from exc


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    key_column: Any,
    page: PageParams,
    *,
    parse: Callable[[str], Any] = uuid.UUID,
    plain: bool = False,
) -> tuple[list[Any], str | None]:
    """Rows of `stmt` after the cursor in key order, and the cursor of the next page.

    `plain=True` answers with plain rows of the entity's columns instead of ORM instances
    (attributes alike, no identity map, no instance state): for lists that are only read
    out, where hydrating a page of instances costs more than the query."""
    if page.cursor:
        stmt = stmt.where(key_column > decode_cursor(page.cursor, parse))
    stmt = stmt.order_by(key_column).limit(page.limit + 1)
    if plain:
        stmt = stmt.with_only_columns(*key_column.table.c)
        # On the connection: the session would run even a column select through the ORM.
        rows = list((await (await session.connection()).execute(stmt)).all())
    else:
        rows = list((await session.scalars(stmt)).all())
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        return rows, encode_cursor(getattr(rows[-1], key_column.key))
    return rows, None


def page_of(model: type[BaseModel], rows: list[Any], next_cursor: str | None) -> Any:
    """The response page, validated once (the route's response model takes it as it is)."""
    return Page[model].model_validate(  # type: ignore[valid-type]
        {"items": rows, "next_cursor": next_cursor}, from_attributes=True
    )

"""Cursor pagination: an opaque cursor over a stable, unique sort key (the time-ordered id)."""

from __future__ import annotations

import base64
import binascii
import functools
import json
import operator
import uuid
import weakref
from collections.abc import Callable
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Depends, Query, Response
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import Select, bindparam
from sqlalchemy.ext.asyncio import AsyncSession
from typing_extensions import TypedDict

from services.common.db import DriverSelect, on_driver
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
    params: dict[str, Any] = {"page_limit": page.limit + 1}
    if page.cursor:
        params["page_after"] = decode_cursor(page.cursor, parse)
    paged = _paged(stmt, key_column, after="page_after" in params, plain=plain)
    if plain:
        # On the connection: the session would run even a column select through the ORM.
        driver = _on_driver(stmt, paged, session) if stmt in _KEPT else None
        found = None if driver is None else await driver.rows(session, params)
        if found is None:
            connection = await session.connection()
            found = (await connection.execute(paged, params)).all()
        rows = list(found)
    else:
        rows = list((await session.scalars(paged, params)).all())
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        return rows, encode_cursor(getattr(rows[-1], key_column.key))
    return rows, None


_KEPT: weakref.WeakSet[Select[Any]] = weakref.WeakSet()


def kept(stmt: Select[Any]) -> Select[Any]:
    """Mark a statement the caller keeps across requests (the same filters again): on
    PostgreSQL its pages are then compiled once and read on the driver."""
    _KEPT.add(stmt)
    return stmt


def _on_driver(stmt: Select[Any], paged: Select[Any], session: AsyncSession) -> DriverSelect | None:
    engine = session.bind
    if engine is None or not on_driver(engine) or not DriverSelect.fits(paged):
        return None
    built = _PAGED[stmt]
    key = ("driver", paged)
    driver = built.get(key)
    if driver is None:
        driver = built[key] = DriverSelect(paged, engine.dialect)
    return driver


_PAGED: weakref.WeakKeyDictionary[Select[Any], dict[tuple[Any, ...], Select[Any]]] = (
    weakref.WeakKeyDictionary()
)


def _paged(stmt: Select[Any], key_column: Any, *, after: bool, plain: bool) -> Select[Any]:
    """`stmt` in key order, after `:page_after` (if `after`), `:page_limit` rows; built once
    for a `kept` statement, which is then neither rebuilt nor re-keyed for SQLAlchemy's
    compiled cache on each request."""
    built = _PAGED.setdefault(stmt, {}) if stmt in _KEPT else {}
    key = (key_column, after, plain)
    paged = built.get(key)
    if paged is None:
        paged = stmt
        if after:
            paged = paged.where(key_column > bindparam("page_after", type_=key_column.type))
        paged = paged.order_by(key_column).limit(bindparam("page_limit"))
        if plain:
            paged = paged.with_only_columns(*key_column.table.c)
        built[key] = paged
    return paged


def page_of(model: type[BaseModel], rows: list[Any], next_cursor: str | None) -> Any:
    """The response page, validated once (the route's response model takes it as it is).

    Plain rows (`paginate(..., plain=True)`) of a model that only mirrors columns (`_flat`)
    are written as JSON at once: validating what the database typed already, then
    serializing the models, cost more than the query. orjson writes such values as pydantic
    does, byte for byte (a test compares them), in a third of the time; a value it does not
    take (an integer beyond 64 bits) goes to pydantic's serializer. The answer is the same
    bytes."""
    flat = _flat(model)
    if flat is not None and rows and hasattr(rows[0], "_fields") and _has_all(rows[0], flat[0]):
        fields, serializer = flat
        page = {"items": [dict(zip(fields, row, strict=True)) for row in _in_order(rows, fields)]}
        page["next_cursor"] = next_cursor
        try:
            body = orjson.dumps(page, default=_uuid_text, option=orjson.OPT_UTC_Z)
        except orjson.JSONEncodeError:
            body = serializer.dump_json(page)
        return Response(body, media_type="application/json")
    return Page[model].model_validate(  # type: ignore[valid-type]
        {"items": rows, "next_cursor": next_cursor}, from_attributes=True
    )


# Core schema types whose JSON is the value's own, whatever its origin (floats are not: a
# float field writes an integer as `1.0`, the value itself as `1`).
_AS_IS = frozenset({"str", "int", "bool", "uuid", "datetime", "date", "literal"})


@functools.cache
def _flat(model: type[BaseModel]) -> tuple[tuple[str, ...], TypeAdapter[Any]] | None:
    """For a model whose JSON is each field's value written as it is (fields of plain scalar
    types, maybe nullable; no validators, serializers, aliases, computed fields or
    serialization settings): its field names, and a serializer of a page of such rows as
    dicts (typed, which is faster than inferring each value's type). None for any other."""
    schema = model.__pydantic_core_schema__
    config = schema.get("config") or {}
    if schema.get("type") != "model" or any(key.startswith("ser_") for key in config):
        return None
    fields_schema = schema["schema"]
    if fields_schema.get("type") != "model-fields" or fields_schema.get("computed_fields"):
        return None
    for field in fields_schema["fields"].values():
        if field.get("serialization_alias") or field.get("validation_alias"):
            return None
        if field.get("serialization_exclude") or "serialization" in field:
            return None
        inner = field["schema"]
        while inner.get("type") in ("default", "nullable"):
            inner = inner["schema"]
        if inner.get("type") not in _AS_IS or "serialization" in inner:
            return None
    row = TypedDict(  # type: ignore[misc]
        f"{model.__name__}Row", {name: f.annotation for name, f in model.model_fields.items()}
    )
    page = TypedDict(  # type: ignore[misc]  # noqa: UP013 (the row type is made here)
        f"{model.__name__}RowPage",
        {"items": list[row], "next_cursor": str | None},  # type: ignore[valid-type]
    )
    return tuple(fields_schema["fields"]), TypeAdapter(page)


def _has_all(row: Any, fields: tuple[str, ...]) -> bool:
    return set(fields) <= set(row._fields)


def _in_order(rows: list[Any], fields: tuple[str, ...]) -> list[Any]:
    """Each row's values in the order of `fields`."""
    names = rows[0]._fields
    if tuple(names) == fields:
        return rows
    values = operator.itemgetter(*(names.index(name) for name in fields))
    return [values(row) for row in rows]


def _uuid_text(value: Any) -> str:
    """orjson's fallback: the driver's UUIDs are a subclass of `uuid.UUID`, which orjson
    writes only when exact."""
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not written as it is")

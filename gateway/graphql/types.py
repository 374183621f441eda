"""What every part of the schema shares: cursor connections with validated bounds, checked
ids, and building a type from a service's REST read model."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Generic, TypeVar

import strawberry
from strawberry.types.base import StrawberryList, StrawberryOptional

from gateway.graphql.errors import InvalidArgument
from gateway.upstream import Upstream, UpstreamError

T = TypeVar("T")
DEFAULT_PAGE = 50
MAX_PAGE = 200  # the services' own bound (services.common.pagination.MAX_LIMIT)


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` for the next page; null on the last page"
    )


@strawberry.type(description="One page of a list, in the service's stable order.")
class Connection(Generic[T]):
    nodes: list[T]
    page_info: PageInfo


def uuid_argument(value: str, path: str | list[str | int]) -> str:
    """The canonical form of an id argument, or a typed refusal naming the argument."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        name = path if isinstance(path, str) else path[-1]
        raise InvalidArgument(
            [path] if isinstance(path, str) else path, f"{name} is not a valid id"
        ) from None


def version_argument(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= 100_000:
        raise InvalidArgument(["version"], "version must be between 1 and 100000")
    return value


def page_params(first: int, after: str | None) -> dict[str, Any]:
    """`first`/`after` as the services' `limit`/`cursor`, bounds checked here."""
    if not 1 <= first <= MAX_PAGE:
        raise InvalidArgument(["first"], f"first must be between 1 and {MAX_PAGE}")
    return {"limit": first, "cursor": after}


async def fetch_page(
    upstream: Upstream, service: str, path: str, params: Mapping[str, Any]
) -> dict[str, Any]:
    """A service's page (`items`, `next_cursor`); a cursor it did not issue is `after`'s."""
    try:
        page: dict[str, Any] = await upstream.get(service, path, params)
    except UpstreamError as exc:
        if exc.code == "invalid-cursor":
            raise InvalidArgument(["after"], "after is not a cursor this API issued") from exc
        raise
    return page


C = TypeVar("C")


def connection_of(connection: type[C], node: type[Any], page: Mapping[str, Any]) -> C:
    """A concrete connection type (e.g. `CycleConnection`) of a service's page."""
    cursor = page.get("next_cursor")
    return connection(  # type: ignore[call-arg]
        nodes=[build(node, item) for item in page["items"]],
        page_info=PageInfo(has_next_page=cursor is not None, end_cursor=cursor),
    )


# --- building types from read models ------------------------------------------------------

Converter = Callable[[Any], Any]
_BUILDERS: dict[type, list[tuple[str, Converter]]] = {}


def _identity(value: Any) -> Any:
    return value


def _converter(field_type: Any) -> Converter:
    """How a JSON value of the read model becomes the field's Python value."""
    if isinstance(field_type, StrawberryOptional):
        inner = _converter(field_type.of_type)
        return lambda value: None if value is None else inner(value)
    if isinstance(field_type, StrawberryList):
        item = _converter(field_type.of_type)
        if item is _identity:
            return _identity
        return lambda values: [item(v) for v in values]
    if isinstance(field_type, type):
        if hasattr(field_type, "__strawberry_definition__"):
            return lambda value: build(field_type, value)
        if issubclass(field_type, enum.Enum):
            return field_type
        if field_type is datetime:
            return lambda value: (
                value if isinstance(value, datetime) else datetime.fromisoformat(value)
            )
    return _identity


def build(cls: type[T], record: Mapping[str, Any]) -> T:
    """The Strawberry type `cls` from a service's read model: each plain field from the
    record's member of the same (snake_case) name, nested types and lists built alike.
    A type with a `from_record` classmethod builds itself."""
    custom = getattr(cls, "from_record", None)
    if custom is not None:
        return custom(record)  # type: ignore[no-any-return]
    fields = _BUILDERS.get(cls)
    if fields is None:
        definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
        fields = [
            (f.python_name, _converter(f.type))
            for f in definition.fields
            if f.base_resolver is None
        ]
        _BUILDERS[cls] = fields
    return cls(**{name: convert(record.get(name)) for name, convert in fields})

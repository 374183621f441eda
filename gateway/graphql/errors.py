"""Expected failures as typed results: every field that calls a service answers a union of
its type and the problems below, never a generic GraphQL error.

The services' problem+json (status + code) is mapped here, once: 401/403 → `Forbidden`,
404 → `NotFound`, 409 → `Conflict`, other 4xx → `ValidationFailed`, 429, 5xx or no answer →
`Unavailable`. A field whose union lacks the problem it met fails like any unexpected error
(masked): the unions say what each field can answer.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.types import Info
from strawberry.types.base import StrawberryOptional
from strawberry.types.field import StrawberryField
from strawberry.types.union import StrawberryUnion

from gateway.upstream import UNREACHABLE, UpstreamError

# The service's names for the list arguments, in the schema's words.
ARGUMENT_NAMES = {"limit": "first", "cursor": "after"}


@strawberry.interface(description="Why a field or mutation did not give its result.")
class Problem:
    code: str = strawberry.field(description="A stable code, as the service's problem has it")
    message: str


@strawberry.type(description="The record does not exist, or is not yours to see.")
class NotFound(Problem):
    pass


@strawberry.type(
    description="Not allowed: no or invalid credentials (code `unauthorized`) or a caller "
    "who may not do this (code `forbidden` or the service's own)."
)
class Forbidden(Problem):
    pass


@strawberry.type(description="The request conflicts with the current state (see `code`).")
class Conflict(Problem):
    pass


@strawberry.type(description="One argument or input field that was refused.")
class FieldError:
    path: list[str] = strawberry.field(
        description="The argument, then input fields and list positions, as sent"
    )
    message: str


@strawberry.type(description="Arguments or input the service refused; `fields` lists which.")
class ValidationFailed(Problem):
    fields: list[FieldError]


@strawberry.type(
    description="A service did not answer, failed, or asks to slow down: the rest of the "
    "query is still answered; retry this part later."
)
class Unavailable(Problem):
    service: str
    retry_after: int | None = strawberry.field(
        default=None, description="Seconds to wait, when the service said"
    )


PROBLEM_TYPES: tuple[type, ...] = (NotFound, Forbidden, Conflict, ValidationFailed, Unavailable)


class InvalidArgument(Exception):
    """An argument refused by the gateway itself, before any service is called."""

    def __init__(self, path: Sequence[str | int], message: str) -> None:
        super().__init__(message)
        self.path = [str(p) for p in path]
        self.message = message


def _camel(segment: Any) -> str:
    if not isinstance(segment, str):
        return str(segment)
    head, *rest = segment.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _field_path(location: Sequence[Any], body_path: Sequence[str]) -> list[str]:
    """A service's error location (`["body", "answers", "Q1"]`) as the schema's path."""
    if not location:
        return []
    source, *rest = location
    if source == "body":
        return [*body_path, *(_camel(s) for s in rest)]
    return [ARGUMENT_NAMES.get(s, _camel(s)) if isinstance(s, str) else str(s) for s in rest]


_SERVICE_SUMMARY = re.compile(r"^Invalid fields: ")


def problem_of(error: UpstreamError | InvalidArgument, body_path: Sequence[str] = ()) -> Problem:
    """The typed problem for a refused argument or a service's problem."""
    if isinstance(error, InvalidArgument):
        return ValidationFailed(
            code="invalid-argument",
            message=error.message,
            fields=[FieldError(path=error.path, message=error.message)],
        )
    status = error.status
    if status == 429 or status >= 500:
        unreachable = error.code == UNREACHABLE
        return Unavailable(
            code=error.code,
            message=f"{error.service} did not answer" if unreachable else error.detail,
            service=error.service,
            retry_after=error.retry_after,
        )
    if status in (401, 403):
        return Forbidden(code=error.code, message=error.detail)
    if status == 404:
        return NotFound(code=error.code, message=error.detail)
    if status == 409:
        return Conflict(code=error.code, message=error.detail)
    fields = [
        FieldError(
            path=_field_path(item.get("location") or [], body_path),
            message=str(item.get("message", "")),
        )
        for item in error.errors
        if isinstance(item, dict)
    ]
    # The service's summary names its own parameters ("Invalid fields: query.limit").
    message = (
        "Some arguments are not valid" if _SERVICE_SUMMARY.match(error.detail) else error.detail
    )
    return ValidationFailed(code=error.code, message=message, fields=fields)


def _members(field: StrawberryField) -> tuple[type, ...]:
    field_type: Any = field.type
    if isinstance(field_type, StrawberryOptional):
        field_type = field_type.of_type
    if not isinstance(field_type, StrawberryUnion):
        raise TypeError(f"{field.python_name}: a field with typed problems returns a union")
    return tuple(t for t in PROBLEM_TYPES if t in field_type.types)


class TypedProblems(FieldExtension):
    """Answers an UpstreamError or InvalidArgument raised by the resolver as the problem
    type of the field's union. `body_path` names the input that a service's `body` errors
    point into (`("input",)` for `submitRating(input: …)`)."""

    def __init__(self, body_path: Sequence[str] = ()) -> None:
        self.body_path = tuple(body_path)
        self.problems: tuple[type, ...] = ()

    def apply(self, field: StrawberryField) -> None:
        self.problems = _members(field)
        if not self.problems:
            raise TypeError(f"{field.python_name}: its union names no problem type")

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        try:
            return await next_(source, info, **kwargs)
        except (UpstreamError, InvalidArgument) as exc:
            problem = problem_of(exc, self.body_path)
            if not isinstance(problem, self.problems):
                raise
            return problem


def problem_field(*, description: str | None = None, body_path: Sequence[str] = ()) -> Any:
    """A field whose expected failures are typed problems (see `TypedProblems`)."""
    return strawberry.field(description=description, extensions=[TypedProblems(body_path)])


def problem_mutation(*, description: str | None = None, body_path: Sequence[str] = ()) -> Any:
    """A mutation whose expected failures are typed problems (see `TypedProblems`)."""
    return strawberry.mutation(description=description, extensions=[TypedProblems(body_path)])

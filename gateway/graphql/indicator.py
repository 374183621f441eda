"""The indicator service's types: departments (the org units every score hangs on)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.graphql.errors import Forbidden, NotFound, Unavailable, ValidationFailed, problem_field
from gateway.graphql.loaders import loaders, upstream
from gateway.graphql.types import (
    DEFAULT_PAGE,
    Connection,
    build,
    connection_of,
    fetch_page,
    page_params,
)


@strawberry.type(description="A department of a jurisdiction (indicator service).")
class Department:
    id: strawberry.ID
    jurisdiction_code: str
    code: str
    name_zh: str
    name_en: str | None
    category: str
    parent_id: strawberry.ID | None
    active: bool
    created_at: datetime
    updated_at: datetime


@strawberry.type
class DepartmentConnection(Connection[Department]):
    pass


DepartmentOutcome = Annotated[
    Department | NotFound | Forbidden | ValidationFailed | Unavailable,
    strawberry.union("DepartmentOutcome"),
]
DepartmentConnectionOutcome = Annotated[
    DepartmentConnection | Forbidden | ValidationFailed | Unavailable,
    strawberry.union("DepartmentConnectionOutcome"),
]


async def load_department(info: Info, department_id: str) -> Department:
    """A department through the request's batch loader (one call for up to 100)."""
    return build(Department, await loaders(info).departments.load(department_id))


@strawberry.type
class IndicatorQuery:
    @problem_field(description="Departments of your jurisdictions (needs a token).")
    async def departments(
        self,
        info: Info,
        jurisdiction: str | None = None,
        category: str | None = None,
        first: int = DEFAULT_PAGE,
        after: str | None = None,
    ) -> DepartmentConnectionOutcome:
        page = await fetch_page(
            upstream(info),
            "indicator",
            "/v1/departments",
            {"jurisdiction": jurisdiction, "category": category, **page_params(first, after)},
        )
        return connection_of(DepartmentConnection, Department, page)

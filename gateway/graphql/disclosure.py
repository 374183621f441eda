"""The disclosure service's types: publications (plans, results and progress, public)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.graphql.errors import Forbidden, Unavailable, ValidationFailed, problem_field
from gateway.graphql.loaders import upstream
from gateway.graphql.types import DEFAULT_PAGE, Connection, connection_of, fetch_page, page_params


@strawberry.type(description="A published plan, result or progress report (disclosure).")
class Publication:
    id: strawberry.ID
    jurisdiction_code: str
    kind: str
    title: str
    body: str
    status: str
    version: int
    published_at: datetime | None
    retracted_at: datetime | None
    retraction_reason: str | None
    created_at: datetime
    updated_at: datetime


@strawberry.type
class PublicationConnection(Connection[Publication]):
    pass


PublicationConnectionOutcome = Annotated[
    PublicationConnection | Forbidden | ValidationFailed | Unavailable,
    strawberry.union("PublicationConnectionOutcome"),
]


@strawberry.type
class DisclosureQuery:
    @problem_field(description="Published plans, results and progress reports.")
    async def publications(
        self,
        info: Info,
        jurisdiction: str | None = None,
        kind: str | None = None,
        first: int = DEFAULT_PAGE,
        after: str | None = None,
    ) -> PublicationConnectionOutcome:
        page = await fetch_page(
            upstream(info),
            "disclosure",
            "/v1/publications",
            {"jurisdiction": jurisdiction, "kind": kind, **page_params(first, after)},
        )
        return connection_of(PublicationConnection, Publication, page)

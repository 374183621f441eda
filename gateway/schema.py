"""The GraphQL schema: one graph over the four services' REST APIs."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import httpx
import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.types import Info

from gateway.settings import Settings
from gateway.upstream import UpstreamError, get_json


@strawberry.type(description="Whether one component of the platform is up and ready.")
class ComponentHealth:
    service: str
    status: str = strawberry.field(description="ok, or unavailable")
    version: str | None = None
    detail: str | None = None


@strawberry.type
class Department:
    id: strawberry.ID
    jurisdiction_code: str
    code: str
    name_zh: str
    name_en: str | None
    category: str
    parent_id: strawberry.ID | None
    active: bool


@strawberry.type
class DepartmentPage:
    items: list[Department]
    next_cursor: str | None


@strawberry.type
class Publication:
    id: strawberry.ID
    jurisdiction_code: str
    kind: str
    title: str
    body: str
    status: str
    version: int
    published_at: datetime | None


@strawberry.type
class PublicationPage:
    items: list[Publication]
    next_cursor: str | None


def _pick(cls: type, record: dict[str, Any]) -> Any:
    fields = cls.__strawberry_definition__.fields  # type: ignore[attr-defined]
    return cls(**{f.python_name: record.get(f.python_name) for f in fields})


async def _component_health(
    http: httpx.AsyncClient, service: str, base_url: str, wait_seconds: float
) -> ComponentHealth:
    try:
        response = await http.get(f"{base_url}/readyz", timeout=wait_seconds)
    except httpx.HTTPError as exc:
        return ComponentHealth(
            service=service, status="unavailable", detail=f"unreachable: {type(exc).__name__}"
        )
    body = response.json() if response.headers.get("content-type", "").find("json") >= 0 else {}
    if response.status_code == 200:
        return ComponentHealth(service=service, status="ok", version=body.get("version"))
    return ComponentHealth(
        service=service,
        status="unavailable",
        detail=body.get("detail") or f"HTTP {response.status_code}",
    )


@strawberry.type
class Query:
    @strawberry.field(description="Health of the gateway and of every service behind it.")
    async def health(self, info: Info) -> list[ComponentHealth]:
        context = info.context
        settings: Settings = context["settings"]
        checks = [
            _component_health(context["http"], name, url, settings.health_timeout_seconds)
            for name, url in settings.service_urls().items()
        ]
        services = await asyncio.gather(*checks)
        return [await context["gateway_health"](), *services]

    @strawberry.field(description="Departments of your jurisdictions (needs a token).")
    async def departments(
        self,
        info: Info,
        jurisdiction: str | None = None,
        category: str | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> DepartmentPage:
        page = await _fetch(
            info,
            "indicator",
            "/v1/departments",
            {
                "jurisdiction": jurisdiction,
                "category": category,
                "limit": first,
                "cursor": after,
            },
        )
        return DepartmentPage(
            items=[_pick(Department, r) for r in page["items"]], next_cursor=page["next_cursor"]
        )

    @strawberry.field(description="Published plans, results and progress reports.")
    async def publications(
        self,
        info: Info,
        jurisdiction: str | None = None,
        kind: str | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> PublicationPage:
        page = await _fetch(
            info,
            "disclosure",
            "/v1/publications",
            {
                "jurisdiction": jurisdiction,
                "kind": kind,
                "limit": first,
                "cursor": after,
            },
        )
        return PublicationPage(
            items=[_pick(Publication, r) for r in page["items"]], next_cursor=page["next_cursor"]
        )


async def _fetch(info: Info, service: str, path: str, params: dict[str, Any]) -> Any:
    context = info.context
    base_url = context["settings"].service_urls()[service]
    return await get_json(
        context["http"],
        base_url,
        service,
        path,
        params=params,
        authorization=context["authorization"],
    )


def _should_mask(error: GraphQLError) -> bool:
    # Query errors (syntax, validation, limits) and upstream problems carry safe messages;
    # an unexpected exception inside a resolver is masked.
    original = error.original_error
    return original is not None and not isinstance(original, UpstreamError)


def build_schema(settings: Settings) -> strawberry.Schema:
    # Factories, not instances: Strawberry builds fresh extensions for each operation.
    extensions: list[Any] = [
        lambda: QueryDepthLimiter(max_depth=settings.graphql_max_depth),
        lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
        lambda: MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases),
        lambda: MaskErrors(should_mask_error=_should_mask),
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
    ]
    if not settings.graphql_introspection:
        extensions.append(DisableIntrospection)
    return strawberry.Schema(query=Query, extensions=extensions)

"""The GraphQL schema: one graph over the four services' REST APIs.

Each service's types, reads and mutations live in a module of their own (indicator,
disclosure, evaluation, feedback); this module joins them into the root types and sets the limits
every operation is checked against.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import httpx
import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.tools import merge_types
from strawberry.types import Info

from gateway.graphql.disclosure import DisclosureMutation, DisclosureQuery
from gateway.graphql.evaluation import EvaluationQuery
from gateway.graphql.evaluation_mutations import EvaluationMutation
from gateway.graphql.feedback import FeedbackMutation, FeedbackQuery
from gateway.graphql.indicator import IndicatorQuery
from gateway.settings import Settings
from services.common.context import current_request_id


@strawberry.type(description="Whether one component of the platform is up and ready.")
class ComponentHealth:
    service: str
    status: str = strawberry.field(description="ok, or unavailable")
    version: str | None = None
    detail: str | None = None


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
class HealthQuery:
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


Query = merge_types(
    "Query", (HealthQuery, IndicatorQuery, DisclosureQuery, EvaluationQuery, FeedbackQuery)
)
Mutation = merge_types("Mutation", (EvaluationMutation, DisclosureMutation, FeedbackMutation))


def _should_mask(error: GraphQLError) -> bool:
    # Query errors (syntax, validation, limits) carry safe messages; expected failures are
    # typed results, so an exception inside a resolver is unexpected and masked.
    return error.original_error is not None


class MaskUnexpectedErrors(MaskErrors):
    """Masks as `MaskErrors` does, and says which request to quote when reporting it."""

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL_SERVER_ERROR", "request_id": current_request_id()}
        return masked


def limit_rules(max_depth: int, max_aliases: int) -> list[Any]:
    """The depth and alias limits' validation rules, built once per schema.

    The limiters build a new rule class each time they are constructed, and the validation
    cache is keyed by the rules: a limiter built per operation made every operation a cache
    miss, validated from scratch."""
    depth = QueryDepthLimiter(max_depth=max_depth)
    aliases = MaxAliasesLimiter(max_alias_count=max_aliases)
    return [*depth.validation_rules, *aliases.validation_rules]


def build_schema(settings: Settings) -> strawberry.Schema:
    """The schema for these settings' limits; built once per process for each set of limits
    (a schema holds no request state: its extensions are made afresh for each operation)."""
    return _schema(
        max_depth=settings.graphql_max_depth,
        max_tokens=settings.graphql_max_tokens,
        max_aliases=settings.graphql_max_aliases,
        introspection=settings.introspection_allowed,
    )


@functools.cache
def _schema(
    *, max_depth: int, max_tokens: int, max_aliases: int, introspection: bool
) -> strawberry.Schema:
    # Factories, not instances: Strawberry builds fresh extensions for each operation (an
    # instance keeps the operation it is running). What they share is built here, once.
    rules = limit_rules(max_depth, max_aliases)
    extensions: list[Any] = [
        lambda: AddValidationRules(rules),
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
        lambda: MaskUnexpectedErrors(
            should_mask_error=_should_mask,
            error_message="Unexpected error; quote the request id when reporting it.",
        ),
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return strawberry.Schema(query=Query, mutation=Mutation, extensions=extensions)

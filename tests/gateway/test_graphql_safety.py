"""GraphQL's own limits: depth, tokens, aliases (fragments included), introspection."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from strawberry.schema import schema as strawberry_schema

from gateway.settings import Settings
from govperf.components import create_app
from services.common.app import lifespan_of
from tests.harness import Stack

INTROSPECTION = "{ __schema { queryType { name } } }"
STRONG_SECRET = "a-production-secret-of-forty-characters!"


async def graphql(client: httpx.AsyncClient, query: str) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query})
    assert response.status_code == 200, response.text
    return response.json()


def messages(result: dict[str, Any]) -> list[str]:
    return [error["message"] for error in result.get("errors", [])]


def indicator_tree(levels: int) -> str:
    """An indicator system's tree `levels` children deep: depth 3 + levels."""
    selection = "code"
    for _ in range(levels):
        selection = f"children {{ {selection} }}"
    return (
        '{ indicatorSystem(id: "01a23333-82ad-75ee-8bb6-c9c8b0044592") {'
        f" __typename ... on IndicatorSystem {{ nodes {{ {selection} }} }} }} }}"
    )


class TestDepth:
    async def test_a_query_too_deep_is_refused_before_any_call(self, stack: Stack) -> None:
        result = await graphql(stack.gateway, indicator_tree(9))
        assert result.get("data") is None
        assert messages(result) == ["'anonymous' exceeds maximum operation depth of 10"]

    async def test_a_query_at_the_limit_is_answered(self, stack: Stack) -> None:
        result = await graphql(stack.gateway, indicator_tree(7))
        assert "errors" not in result
        assert result["data"]["indicatorSystem"]["__typename"] == "NotFound"

    async def test_fragments_that_spread_each_other_are_an_error_not_a_crash(
        self, stack: Stack
    ) -> None:
        result = await graphql(
            stack.gateway,
            "{ health { ...A } } fragment A on ComponentHealth { ...B }"
            " fragment B on ComponentHealth { ...A }",
        )
        assert messages(result) == ["Cannot spread fragment 'A' within itself via 'B'."]


class TestTokens:
    async def test_a_query_of_too_many_tokens_is_refused(self, stack: Stack) -> None:
        fields = " ".join(["service"] * 2000)
        result = await graphql(stack.gateway, f"{{ health {{ {fields} }} }}")
        assert result.get("data") is None
        assert messages(result) == [
            "Syntax Error: Document contains more than 2000 tokens. Parsing aborted."
        ]


class TestAliases:
    async def test_more_aliases_than_allowed_are_refused(self, stack: Stack) -> None:
        aliases = " ".join(f"a{i}: __typename" for i in range(21))
        result = await graphql(stack.gateway, f"{{ {aliases} }}")
        assert messages(result) == ["21 aliases found. Allowed: 20"]

    async def test_as_many_as_allowed_are_answered(self, stack: Stack) -> None:
        aliases = " ".join(f"a{i}: __typename" for i in range(20))
        result = await graphql(stack.gateway, f"{{ {aliases} }}")
        assert "errors" not in result and len(result["data"]) == 20

    async def test_aliases_in_a_fragment_count_each_time_it_is_spread(self, stack: Stack) -> None:
        # 8 aliases in a fragment, spread three times (and 2 aliases for the spreads): 26.
        fragment = " ".join(f"a{i}: service" for i in range(8))
        result = await graphql(
            stack.gateway,
            "{ health { ...F } h2: health { ...F } h3: health { ...F } }"
            f" fragment F on ComponentHealth {{ {fragment} }}",
        )
        assert messages(result) == ["26 aliases found. Allowed: 20"]


@asynccontextmanager
async def gateway(database_url: str, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        "gateway", Settings(database_url=database_url, migrate_on_start=False, **settings)
    )
    async with (
        lifespan_of(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
        ) as client,
    ):
        yield client


class TestIntrospection:
    @pytest.mark.parametrize(
        ("settings", "allowed"),
        [
            ({"env": "development"}, True),
            ({"env": "production", "jwt_secret": STRONG_SECRET}, False),
            (
                {"env": "production", "jwt_secret": STRONG_SECRET, "graphql_introspection": True},
                True,
            ),
            ({"env": "development", "graphql_introspection": False}, False),
        ],
        ids=["development", "production", "production-turned-on", "development-turned-off"],
    )
    async def test_is_on_in_development_and_off_in_production_unless_set(
        self, database_urls: dict[str, str], settings: dict[str, Any], allowed: bool
    ) -> None:
        async with gateway(database_urls["gateway"], **settings) as client:
            introspected = await graphql(client, INTROSPECTION)
            plain = await graphql(client, "{ __typename }")
        if allowed:
            assert introspected["data"] == {"__schema": {"queryType": {"name": "Query"}}}
        else:
            assert introspected.get("data") is None
            assert messages(introspected)[0] == (
                "GraphQL introspection has been disabled, but the requested query contained "
                "the field '__schema'."
            )
        assert plain["data"] == {"__typename": "Query"}


class TestValidationCache:
    async def test_the_same_query_again_is_not_validated_again(self, stack: Stack) -> None:
        """The limits are checked on the first answer; the second comes from the cache."""
        calls: list[int] = []
        original = strawberry_schema.validate

        def counting(*args: Any, **kwargs: Any) -> Any:
            calls.append(1)
            return original(*args, **kwargs)

        # A text no test sent before (the schema, and so its caches, live for the process).
        query = indicator_tree(2).replace("01a23333-82ad-75ee-8bb6-c9c8b0044592", str(uuid.uuid4()))
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(strawberry_schema, "validate", counting)
            first = await graphql(stack.gateway, query)
            second = await graphql(stack.gateway, query)
        assert first == second
        assert len(calls) == 1

"""Rate limits at the gateway: per API client (by its kind), per person, per address."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from gateway.settings import Settings
from govperf.components import create_app
from services.common.app import lifespan_of
from tests import factories
from tests.harness import Stack, auth, running_stack

HEALTH = {"query": "{ health { service } }"}
RATELIMIT = re.compile(r"^limit=(\d+), remaining=(\d+), reset=(\d+)$")


def standing(response: httpx.Response) -> tuple[int, int, int]:
    """`(limit, remaining, reset)` from the RateLimit field."""
    match = RATELIMIT.match(response.headers["ratelimit"])
    assert match, response.headers["ratelimit"]
    limit, remaining, reset = (int(group) for group in match.groups())
    return limit, remaining, reset


@asynccontextmanager
async def limited_stack(
    database_urls: dict[str, str], backend: str, **limits: Any
) -> AsyncIterator[Stack]:
    async with running_stack(backend, database_urls, **limits) as stack:
        yield stack


def caller(stack: Stack, address: str) -> httpx.AsyncClient:
    """A client of the gateway that connects from `address`."""
    transport = httpx.ASGITransport(app=stack.apps["gateway"], client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway.test")


class TestHeaders:
    async def test_every_answer_says_the_policy_and_where_the_caller_stands(
        self, stack: Stack
    ) -> None:
        answers = [
            await stack.gateway.post("/graphql", json=HEALTH),
            await stack.gateway.get("/graphql", params=HEALTH),
            await stack.gateway.post("/graphql", content=b"{not json"),
            await stack.gateway.get("/api/disclosure/v1/publications"),
            await stack.gateway.get("/api/indicator/v1/departments"),  # 401 from the service
            await stack.gateway.get("/api/payroll/v1/salaries"),  # 404 from the gateway
        ]
        assert [a.status_code for a in answers] == [200, 200, 400, 200, 401, 404]
        # Anonymous callers by address: the default 120 a minute, one less after each.
        assert {a.headers["ratelimit-policy"] for a in answers} == {"120;w=60"}
        assert [standing(a)[1] for a in answers] == [119, 118, 117, 116, 115, 114]
        assert all(0 <= standing(a)[2] <= 60 for a in answers)

    async def test_a_service_cannot_speak_for_the_gateways_limits(self, stack: Stack) -> None:
        response = await stack.gateway.get("/api/disclosure/v1/publications")
        assert len(response.headers.get_list("ratelimit")) == 1


class TestAnonymous:
    async def test_past_the_limit_a_429_problem_says_when_to_retry(
        self, database_urls: dict[str, str], backend: str
    ) -> None:
        async with (
            limited_stack(database_urls, backend, rate_limit_anonymous="3/minute") as stack,
            caller(stack, "198.51.100.7") as client,
        ):
            allowed = [
                await client.post("/graphql", json=HEALTH),
                await client.get("/api/disclosure/v1/publications"),
                await client.post("/graphql", json=HEALTH),
            ]
            refused_api = await client.get("/api/disclosure/v1/publications")
            refused_graphql = await client.post("/graphql", json=HEALTH)
        assert [a.status_code for a in allowed] == [200, 200, 200]
        for refused in (refused_api, refused_graphql):
            assert refused.status_code == 429
            assert refused.headers["content-type"].startswith("application/problem+json")
            problem = refused.json()
            assert problem["code"] == "rate-limited"
            assert "3/minute" in problem["detail"]
            retry_after = int(refused.headers["retry-after"])
            assert 1 <= retry_after <= 60
            assert problem["retry_after"] == retry_after
            assert refused.headers["ratelimit-policy"] == "3;w=60"
            assert standing(refused) == (3, 0, retry_after)

    async def test_each_address_has_its_own_count(
        self, database_urls: dict[str, str], backend: str
    ) -> None:
        async with (
            limited_stack(database_urls, backend, rate_limit_anonymous="1/minute") as stack,
            caller(stack, "198.51.100.7") as first,
            caller(stack, "198.51.100.8") as second,
        ):
            assert (await first.post("/graphql", json=HEALTH)).status_code == 200
            assert (await first.post("/graphql", json=HEALTH)).status_code == 429
            assert (await second.post("/graphql", json=HEALTH)).status_code == 200

    async def test_a_forwarded_for_header_does_not_change_the_address(
        self, database_urls: dict[str, str], backend: str
    ) -> None:
        async with (
            limited_stack(database_urls, backend, rate_limit_anonymous="1/minute") as stack,
            caller(stack, "198.51.100.7") as client,
        ):
            await client.post("/graphql", json=HEALTH)
            again = await client.post(
                "/graphql", json=HEALTH, headers={"x-forwarded-for": "203.0.113.50"}
            )
        assert again.status_code == 429


class TestPeople:
    async def test_a_person_is_counted_by_the_tokens_subject_wherever_they_call_from(
        self, database_urls: dict[str, str], backend: str
    ) -> None:
        async with (
            limited_stack(
                database_urls,
                backend,
                rate_limit_person="2/minute",
                rate_limit_anonymous="9/minute",
            ) as stack,
            caller(stack, "198.51.100.7") as office,
            caller(stack, "198.51.100.8") as home,
        ):
            alice, bob = auth(subject="alice"), auth(subject="bob")
            first = await office.get("/api/indicator/v1/departments", headers=alice)
            second = await home.post("/graphql", json=HEALTH, headers=alice)
            third = await office.get("/api/indicator/v1/departments", headers=alice)
            others = await office.get("/api/indicator/v1/departments", headers=bob)
            anonymous = await office.post("/graphql", json=HEALTH)
        assert [r.status_code for r in (first, second, third)] == [200, 200, 429]
        assert first.headers["ratelimit-policy"] == "2;w=60"
        assert others.status_code == 200 and standing(others)[:2] == (2, 1)
        assert anonymous.headers["ratelimit-policy"] == "9;w=60"

    async def test_an_invalid_or_unread_credential_counts_against_the_address(
        self, database_urls: dict[str, str], backend: str
    ) -> None:
        async with (
            limited_stack(database_urls, backend, rate_limit_anonymous="1/minute") as stack,
            caller(stack, "198.51.100.7") as client,
        ):
            first = await client.get(
                "/api/indicator/v1/departments", headers={"authorization": "Bearer not-a-token"}
            )
            second = await client.get(
                "/api/indicator/v1/departments", headers={"authorization": "Basic b3RoZXI="}
            )
        assert first.status_code == 401  # the service's answer
        assert second.status_code == 429


class TestApiClients:
    async def test_a_key_is_limited_by_its_clients_kind(
        self, database_urls: dict[str, str], backend: str
    ) -> None:
        async with limited_stack(
            database_urls, backend, rate_limit_portal="2/minute", rate_limit_citizen_app="5/minute"
        ) as stack:
            portal = await factories.create_api_client(stack.gateway, role="portal")
            app = await factories.create_api_client(stack.gateway, role="citizen_app")
            as_portal = {"x-api-key": portal["api_key"]}
            as_app = {"x-api-key": app["api_key"]}
            async with caller(stack, "198.51.100.7") as client:
                portal_calls = [
                    await client.post("/graphql", json=HEALTH, headers=as_portal) for _ in range(3)
                ]
                app_call = await client.get("/api/disclosure/v1/publications", headers=as_app)
        assert [r.status_code for r in portal_calls] == [200, 200, 429]
        assert portal_calls[0].headers["ratelimit-policy"] == "2;w=60"
        assert app_call.status_code == 200
        assert standing(app_call)[:2] == (5, 4)


class TestRedis:
    async def test_replicas_share_the_counts_through_redis(
        self, database_urls: dict[str, str], backend: str
    ) -> None:
        settings: dict[str, Any] = {
            "rate_limit_storage_url": "async+redis://127.0.0.1:6379",
            "rate_limit_anonymous": "2/minute",
        }
        # An address of its own each run: the counters in Redis outlive the test.
        address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
        async with limited_stack(database_urls, backend, **settings) as stack:
            # A second replica of the gateway, in front of the same services.
            replica_settings = stack.apps["gateway"].state.settings.model_copy()
            async with httpx.AsyncClient(transport=stack.router) as upstream:
                replica = create_app("gateway", replica_settings, http_client=upstream)
                async with (
                    lifespan_of(replica),
                    caller(stack, address) as first,
                    httpx.AsyncClient(
                        transport=httpx.ASGITransport(app=replica, client=(address, 50000)),
                        base_url="http://gateway.test",
                    ) as second,
                ):
                    answers = [
                        await first.post("/graphql", json=HEALTH),
                        await second.post("/graphql", json=HEALTH),
                        await first.get("/api/disclosure/v1/publications"),
                    ]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert standing(answers[1])[:2] == (2, 0)


class TestSettings:
    def test_the_defaults_per_kind_of_caller(self) -> None:
        settings = Settings()
        assert {
            kind: settings.rate_limit_for(kind)
            for kind in ("portal", "citizen_app", "integration", "person", "anonymous")
        } == {
            "portal": "600/minute",
            "citizen_app": "6000/minute",
            "integration": "1200/minute",
            "person": "1200/minute",
            "anonymous": "120/minute",
        }

    def test_a_limit_that_is_not_a_rate_is_refused_at_start(self) -> None:
        with pytest.raises(ValidationError, match="rate_limit_portal"):
            Settings(rate_limit_portal="lots")

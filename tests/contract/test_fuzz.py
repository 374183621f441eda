"""Schemathesis against every service's OpenAPI and the gateway's GraphQL schema.

Whatever a client sends, no route answers 5xx, and every answer is one its OpenAPI
declares: the status, the content type (problem+json for errors) and the body's schema.
Each component is fuzzed as an admin (past authentication, with real ids to reach past
404s) and anonymously, on both databases; the bounded run inside `make test` is
derandomized, `make fuzz` runs many more examples with random seeds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from schemathesis import GenerationMode

from tests import factories
from tests.contract.fuzz import Fuzzer, FuzzRun
from tests.harness import HEIHE, Stack, auth, base_url

COMPONENTS = ("indicator", "evaluation", "disclosure", "feedback", "gateway")
SERVICES = COMPONENTS[:-1]
# Schemathesis's own strategies draw from `random`; nothing this suite can change.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
SCHEMA_SDL = Path(__file__).resolve().parents[2] / "gateway" / "schema.graphql"


def not_fuzzed_as_openapi(path: str) -> bool:
    # The passthrough answers whatever the service behind it does (fuzzed on the service
    # itself); GraphQL has its own schema, fuzzed below.
    return path.startswith("/api/") or path.startswith("/graphql")


@pytest.fixture
async def in_process() -> AsyncIterator[Any]:
    """Clients that get a crashing app's 500 as a response (to report), not an exception."""
    clients: list[httpx.AsyncClient] = []

    def client(stack: Stack, component: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=stack.apps[component], raise_app_exceptions=False)
        clients.append(httpx.AsyncClient(transport=transport, base_url=base_url(component)))
        return clients[-1]

    yield client
    for opened in clients:
        await opened.aclose()


async def _created(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=auth())
    assert response.status_code == 201, response.text
    return response.json()


async def seed(stack: Stack, component: str) -> dict[str, list[Any]]:
    """A few records of the component, by the path parameter that names them."""
    if component == "gateway":
        api_client = await _created(
            stack.gateway,
            "/v1/api-clients",
            {"name": "门户网站", "role": "portal", "jurisdiction_code": HEIHE},
        )
        return {"client_id": [api_client["id"]]}
    client = stack.client(component)
    ids: dict[str, list[Any]] = {}
    subscription = await _created(
        client,
        "/v1/webhooks/subscriptions",
        {"jurisdiction_code": HEIHE, "url": "https://portal.test/hooks", "event_types": ["*"]},
    )
    ids["subscription_id"] = [subscription["id"]]
    ping = await client.post(
        f"/v1/webhooks/subscriptions/{subscription['id']}/test", headers=auth()
    )
    assert ping.status_code == 202, ping.text
    if component == "indicator":
        ids["department_id"] = [(await factories.create_department(client))["id"]]
    elif component == "evaluation":
        ids["cycle_id"] = [(await factories.create_cycle(client))["id"]]
    elif component == "disclosure":
        draft = await factories.create_publication(client, title="草稿")
        published = await factories.create_publication(client, publish=True)
        ids["publication_id"] = [draft["id"], published["id"]]
    elif component == "feedback":
        ids["feedback_id"] = [(await factories.submit_feedback(client))["id"]]
    deliveries = await client.get("/v1/webhooks/deliveries", headers=auth())
    assert deliveries.status_code == 200, deliveries.text
    ids["seq"] = [delivery["seq"] for delivery in deliveries.json()["items"]]
    return ids


@pytest.mark.parametrize("component", COMPONENTS)
async def test_openapi_contract_holds_for_generated_requests(
    stack: Stack, in_process: Any, component: str
) -> None:
    known_ids = await seed(stack, component)
    document = stack.apps[component].openapi()
    client = in_process(stack, component)

    admin = await Fuzzer(client, headers=auth("admin")).openapi(
        FuzzRun(component), document, skip=not_fuzzed_as_openapi, known_ids=known_ids
    )
    anonymous = await Fuzzer(client, share=0.5).openapi(
        FuzzRun(f"{component} (anonymous)"),
        document,
        skip=not_fuzzed_as_openapi,
        modes=(GenerationMode.POSITIVE,),
    )

    assert not admin.findings, admin.summary()
    assert not anonymous.findings, anonymous.summary()
    # The cases reached past validation and authentication, not only into 4xx.
    assert len(admin.operations) >= 3
    assert any(200 <= status < 300 for status in admin.statuses), admin.statuses
    assert 401 in anonymous.statuses, anonymous.statuses


async def test_graphql_schema_holds_for_generated_queries(stack: Stack, in_process: Any) -> None:
    await factories.create_department(stack.client("indicator"))
    await factories.create_publication(stack.client("disclosure"), publish=True)
    run = await Fuzzer(in_process(stack, "gateway"), headers=auth("admin")).graphql(
        FuzzRun("gateway GraphQL"), SCHEMA_SDL.read_text()
    )

    assert not run.findings, run.summary()
    assert run.operations
    assert run.statuses.get(200), run.statuses


@pytest.mark.parametrize("service", SERVICES)
async def test_delivery_number_outside_bigint_is_a_validation_problem(
    stack: Stack, service: str
) -> None:
    for seq in (2**63, 10**30, 0):
        for method, path in (
            ("GET", "/v1/webhooks/deliveries/{seq}"),
            ("POST", "/v1/webhooks/deliveries/{seq}/replay"),
        ):
            response = await stack.client(service).request(
                method, path.format(seq=seq), headers=auth()
            )

            assert response.status_code == 422, (method, seq, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.json()["errors"][0]["location"] == ["path", "seq"]


async def test_graphql_says_a_refused_argument_is_the_callers_error(stack: Stack) -> None:
    query = (
        '{ departments(jurisdiction: "231100", first: 0) {'
        " ... on ValidationFailed { code fields { path message } } } }"
    )
    response = await stack.gateway.post("/graphql", json={"query": query}, headers=auth())

    assert response.status_code == 200
    assert "errors" not in response.json()
    # A typed answer the caller can act on, checked before any service is called.
    assert response.json()["data"]["departments"] == {
        "code": "invalid-argument",
        "fields": [{"path": ["first"], "message": "first must be between 1 and 200"}],
    }

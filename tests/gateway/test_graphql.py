from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.graphql import disclosure
from gateway.schema import build_schema
from gateway.settings import Settings
from govperf.components import create_app
from services.common.app import lifespan_of
from tests import factories
from tests.harness import Stack, auth, base_url
from tests.policy.calls import websocket_handshake

SDL_FILE = Path(__file__).resolve().parents[2] / "gateway" / "schema.graphql"


async def graphql(client: httpx.AsyncClient, query: str, **headers: str) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


class TestHealth:
    async def test_lists_five_healthy_components(self, stack: Stack) -> None:
        result = await graphql(stack.gateway, "{ health { service status version } }")
        assert result["data"]["health"] == [
            {"service": c, "status": "ok", "version": "0.1.0"}
            for c in ("gateway", "indicator", "evaluation", "disclosure", "feedback")
        ]

    async def test_a_service_that_is_down_is_reported_not_hidden(
        self, stack: Stack, database_urls: dict[str, str]
    ) -> None:
        settings = Settings(
            database_url=database_urls["gateway"],
            migrate_on_start=False,
            indicator_url=base_url("indicator"),
            evaluation_url=base_url("evaluation"),
            disclosure_url=base_url("disclosure"),
            feedback_url="http://127.0.0.1:9",
        )
        mounts = {
            base_url(c): httpx.ASGITransport(app=stack.apps[c])
            for c in ("indicator", "evaluation", "disclosure")
        }
        async with httpx.AsyncClient(mounts=mounts) as upstream:
            app = create_app("gateway", settings, http_client=upstream)
            async with (
                lifespan_of(app),
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
                ) as client,
            ):
                result = await graphql(client, "{ health { service status detail } }")
        statuses = {c["service"]: c["status"] for c in result["data"]["health"]}
        assert statuses == {
            "gateway": "ok",
            "indicator": "ok",
            "evaluation": "ok",
            "disclosure": "ok",
            "feedback": "unavailable",
        }


DEPARTMENTS = """
query ($first: Int! = 50, $after: String) {
  departments(jurisdiction: "231100", first: $first, after: $after) {
    __typename
    ... on DepartmentConnection { nodes { code nameZh } pageInfo { hasNextPage endCursor } }
    ... on Problem { code message }
    ... on ValidationFailed { fields { path message } }
  }
}
"""


async def graphql_vars(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], **headers: str
) -> dict[str, Any]:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


class TestQueries:
    async def test_departments_with_the_callers_token(self, stack: Stack) -> None:
        await factories.create_department(stack.client("indicator"), code="HH-EDU")
        result = await graphql(stack.gateway, DEPARTMENTS, **auth())
        assert result["data"]["departments"] == {
            "__typename": "DepartmentConnection",
            "nodes": [{"code": "HH-EDU", "nameZh": "HH-EDU 局"}],
            "pageInfo": {"hasNextPage": False, "endCursor": None},
        }

    async def test_pages_follow_the_end_cursor(self, stack: Stack) -> None:
        for code in ("A", "B", "C"):
            await factories.create_department(stack.client("indicator"), code=code)
        seen, after = [], None
        for _ in range(3):
            page = (
                await graphql_vars(
                    stack.gateway, DEPARTMENTS, {"first": 2, "after": after}, **auth()
                )
            )["data"]["departments"]
            seen += [d["code"] for d in page["nodes"]]
            after = page["pageInfo"]["endCursor"]
            if not page["pageInfo"]["hasNextPage"]:
                break
        assert sorted(seen) == ["A", "B", "C"] and after is None

    async def test_an_upstream_refusal_is_a_typed_problem(self, stack: Stack) -> None:
        result = await graphql(stack.gateway, DEPARTMENTS)
        assert "errors" not in result
        assert result["data"]["departments"] == {
            "__typename": "Forbidden",
            "code": "unauthorized",
            "message": "Authentication required",
        }

    @pytest.mark.parametrize("first", [0, -1, 201])
    async def test_a_page_size_out_of_bounds_is_refused_before_any_call(
        self, stack: Stack, first: int
    ) -> None:
        result = await graphql_vars(stack.gateway, DEPARTMENTS, {"first": first}, **auth())
        problem = result["data"]["departments"]
        assert problem["__typename"] == "ValidationFailed"
        assert problem["fields"] == [
            {"path": ["first"], "message": "first must be between 1 and 200"}
        ]
        assert "indicator" not in problem["message"] and "limit" not in problem["message"]

    async def test_a_cursor_the_api_did_not_issue_is_the_after_arguments_fault(
        self, stack: Stack
    ) -> None:
        result = await graphql_vars(stack.gateway, DEPARTMENTS, {"after": "not-a-cursor"}, **auth())
        problem = result["data"]["departments"]
        assert problem["__typename"] == "ValidationFailed"
        assert [f["path"] for f in problem["fields"]] == [["after"]]

    async def test_published_items_need_no_token(self, stack: Stack) -> None:
        await factories.create_publication(stack.client("disclosure"), title="方案", publish=True)
        await factories.create_publication(stack.client("disclosure"), title="草稿")
        query = (
            "{ publications { ... on PublicationConnection "
            "{ nodes { title status publishedAt } } } }"
        )
        result = await graphql(stack.gateway, query)
        [published] = result["data"]["publications"]["nodes"]
        assert (published["title"], published["status"]) == ("方案", "published")
        assert published["publishedAt"]

    async def test_a_service_that_is_down_is_unavailable_and_the_rest_is_answered(
        self, stack: Stack
    ) -> None:
        await factories.create_publication(stack.client("disclosure"), title="方案", publish=True)
        stack.router.unmount(base_url("indicator"))
        query = (
            '{ departments(jurisdiction: "231100") { __typename '
            "... on Unavailable { service code message } } "
            "publications { ... on PublicationConnection { nodes { title } } } }"
        )
        result = await graphql(stack.gateway, query, **auth())
        assert "errors" not in result
        assert result["data"] == {
            "departments": {
                "__typename": "Unavailable",
                "service": "indicator",
                "code": "service-unreachable",
                "message": "indicator did not answer",
            },
            "publications": {"nodes": [{"title": "方案"}]},
        }


class TestLimits:
    async def test_too_many_aliases_are_refused(self, stack: Stack) -> None:
        aliases = " ".join(f"a{i}: health {{ service }}" for i in range(30))
        result = await graphql(stack.gateway, f"{{ {aliases} }}")
        assert "aliases" in result["errors"][0]["message"].lower()

    async def test_too_many_tokens_are_refused(self, stack: Stack) -> None:
        fields = " ".join(["service"] * 2500)
        result = await graphql(stack.gateway, f"{{ health {{ {fields} }} }}")
        assert "token" in result["errors"][0]["message"].lower()

    async def test_unknown_fields_are_validation_errors(self, stack: Stack) -> None:
        result = await graphql(stack.gateway, "{ nope }")
        assert "Cannot query field 'nope'" in result["errors"][0]["message"]

    @pytest.mark.parametrize(
        "body",
        [
            pytest.param(b'{"query": "{ health', id="malformed"),
            pytest.param(b'{"query": "\xff"}', id="not-utf8"),
            pytest.param(b"[" * 100_000 + b"]" * 100_000, id="nested-too-deeply"),
        ],
    )
    async def test_a_body_that_is_not_json_is_a_400(self, stack: Stack, body: bytes) -> None:
        response = await stack.gateway.post(
            "/graphql", content=body, headers={"content-type": "application/json"}
        )
        assert (response.status_code, response.text) == (
            400,
            "Unable to parse request body as JSON",
        )


class TestUnexpectedErrors:
    async def test_are_masked_and_name_the_request_to_quote(
        self, stack: Stack, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def broken(*args: Any) -> Any:
            raise RuntimeError("secret internals")

        monkeypatch.setattr(disclosure, "connection_of", broken)
        response = await stack.gateway.post(
            "/graphql",
            json={"query": "{ publications { __typename } }"},
            headers={"x-request-id": "req-quote-me"},
        )
        body = response.json()
        assert body["data"] is None
        [error] = body["errors"]
        assert "secret" not in response.text
        assert error["path"] == ["publications"]
        assert error["extensions"] == {
            "code": "INTERNAL_SERVER_ERROR",
            "request_id": "req-quote-me",
        }


class TestPassthrough:
    async def test_rest_calls_reach_the_service_through_the_gateway(self, stack: Stack) -> None:
        created = await stack.gateway.post(
            "/api/evaluation/v1/cycles",
            headers=auth(),
            json={
                "jurisdiction_code": "231100",
                "code": "c",
                "name": "n",
                "period": "2026",
                "category": "economic",
            },
        )
        assert created.status_code == 201
        fetched = await stack.client("evaluation").get(
            f"/v1/cycles/{created.json()['id']}", headers=auth()
        )
        assert fetched.json() == created.json()

    async def test_problems_and_cache_headers_pass_through(self, stack: Stack) -> None:
        refused = await stack.gateway.get("/api/indicator/v1/departments")
        assert refused.status_code == 401
        assert refused.headers["content-type"].startswith("application/problem+json")
        listing = await stack.gateway.get("/api/disclosure/v1/publications")
        assert listing.headers["etag"]
        again = await stack.gateway.get(
            "/api/disclosure/v1/publications", headers={"if-none-match": listing.headers["etag"]}
        )
        assert again.status_code == 304

    async def test_an_unknown_service_is_404(self, stack: Stack) -> None:
        response = await stack.gateway.get("/api/payroll/v1/salaries")
        assert response.status_code == 404
        assert response.json()["code"] == "not-found"

    def test_each_method_is_an_operation_of_its_own(self) -> None:
        app = create_app("gateway", Settings(database_url="sqlite+aiosqlite:///:memory:"))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # FastAPI warns of a duplicate operation id
            document = app.openapi()
        operations = document["paths"]["/api/{service}/{path}"]
        assert sorted(operations) == ["delete", "get", "patch", "post", "put"]
        ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
        assert len(ids) == len(set(ids))


class TestWebsocket:
    async def test_a_graphql_websocket_is_refused_not_a_crash(self, stack: Stack) -> None:
        # The schema has no subscriptions: nothing to open a websocket for.
        answer = await websocket_handshake(stack.gateway, "/graphql", auth())
        assert answer.status == 403, answer
        result = await graphql(stack.gateway, "{ health { service } }")
        assert len(result["data"]["health"]) == 5


class TestSchemaFile:
    def test_the_committed_sdl_matches_the_code(self) -> None:
        # Regenerate with: govperf export-schema gateway/schema.graphql
        assert SDL_FILE.read_text(encoding="utf-8") == build_schema(Settings()).as_str() + "\n"

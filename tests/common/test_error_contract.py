"""Every service answers bad requests with the documented problem+json status."""

from __future__ import annotations

import pytest

from tests.harness import Stack, auth

# Per service: a JSON write route with a valid body, and a route only admins may call.
ROUTES = {
    "indicator": {
        "write": (
            "/v1/departments",
            {
                "jurisdiction_code": "231100",
                "code": "EDU",
                "name_zh": "教育局",
                "category": "social_services",
            },
        ),
        "admin_only": ("POST", "/v1/departments"),
    },
    "evaluation": {
        "write": (
            "/v1/cycles",
            {"jurisdiction_code": "231100", "code": "2026", "name": "2026 年度", "period": "2026"},
        ),
        "admin_only": ("POST", "/v1/cycles"),
    },
    "disclosure": {
        "write": (
            "/v1/publications",
            {"jurisdiction_code": "231100", "kind": "plan", "title": "方案"},
        ),
        "admin_only": ("POST", "/v1/publications"),
    },
    "feedback": {
        "write": ("/v1/citizen-feedback", {"jurisdiction_code": "231100", "text": "好"}),
        "admin_only": ("GET", "/v1/results-uses/summary"),
    },
}
SERVICES = list(ROUTES)


def assert_problem(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status
    assert problem["type"].startswith("urn:govperf:problem:")
    assert problem["title"]
    assert problem["request_id"] == response.headers["x-request-id"]
    if code is not None:
        assert problem["code"] == code
    return problem


@pytest.mark.parametrize("service", SERVICES)
class TestProblemDetails:
    async def test_malformed_json_is_422(self, stack: Stack, service: str) -> None:
        path, _ = ROUTES[service]["write"]
        response = await stack.client(service).post(
            path,
            content=b'{"jurisdiction_code": "231100",',
            headers={**auth(), "content-type": "application/json"},
        )
        problem = assert_problem(response, 422, "validation-error")
        assert problem["errors"][0]["type"] == "json_invalid"

    @pytest.mark.parametrize(
        ("body", "location"),
        [
            pytest.param(b"\xff\x0f", ["body", 0], id="not-utf8"),
            pytest.param(b'{"code": "\xc3"}', ["body", 10], id="truncated-utf8-in-a-string"),
            pytest.param(b"[" * 100_000 + b"]" * 100_000, ["body"], id="nested-too-deeply"),
        ],
    )
    async def test_a_body_the_json_parser_cannot_read_is_422_like_malformed_json(
        self, stack: Stack, service: str, body: bytes, location: list[object]
    ) -> None:
        path, _ = ROUTES[service]["write"]
        response = await stack.client(service).post(
            path, content=body, headers={**auth(), "content-type": "application/json"}
        )
        problem = assert_problem(response, 422, "validation-error")
        [error] = problem["errors"]
        assert (error["type"], error["location"]) == ("json_invalid", location)
        assert error["message"].startswith("JSON decode error")
        # The OpenAPI declares what the route answers to such a body, and nothing it never does.
        declared = stack.apps[service].openapi()["paths"][path]["post"]["responses"]
        assert "422" in declared
        assert "400" not in declared

    async def test_wrong_type_is_422_naming_the_field(self, stack: Stack, service: str) -> None:
        path, body = ROUTES[service]["write"]
        response = await stack.client(service).post(
            path, json={**body, "jurisdiction_code": ["not", "a", "string"]}, headers=auth()
        )
        problem = assert_problem(response, 422, "validation-error")
        assert ["body", "jurisdiction_code"] in [e["location"] for e in problem["errors"]]
        assert "jurisdiction_code" in problem["detail"]

    async def test_unknown_route_is_404(self, stack: Stack, service: str) -> None:
        response = await stack.client(service).get("/v1/no-such-thing", headers=auth())
        problem = assert_problem(response, 404, "not-found")
        assert "/v1/no-such-thing" in problem["detail"]

    async def test_missing_token_is_401(self, stack: Stack, service: str) -> None:
        method, path = ROUTES[service]["admin_only"]
        _, body = ROUTES[service]["write"]
        response = await stack.client(service).request(
            method, path, json=body if method == "POST" else None
        )
        assert_problem(response, 401, "unauthorized")
        assert response.headers["www-authenticate"].startswith("Bearer")

    async def test_invalid_token_is_401(self, stack: Stack, service: str) -> None:
        method, path = ROUTES[service]["admin_only"]
        response = await stack.client(service).request(
            method, path, headers={"authorization": "Bearer not.a.jwt"}
        )
        assert_problem(response, 401, "unauthorized")

    async def test_expired_token_is_401(self, stack: Stack, service: str) -> None:
        method, path = ROUTES[service]["admin_only"]
        response = await stack.client(service).request(method, path, headers=auth(ttl_seconds=-60))
        assert "expired" in assert_problem(response, 401)["detail"]

    @pytest.mark.parametrize("role", ["department", "evaluator", "citizen_app", "portal"])
    async def test_wrong_role_is_403(self, stack: Stack, service: str, role: str) -> None:
        method, path = ROUTES[service]["admin_only"]
        _, body = ROUTES[service]["write"]
        response = await stack.client(service).request(
            method, path, json=body if method == "POST" else None, headers=auth(role)
        )
        assert_problem(response, 403, "forbidden")
        assert response.headers.get("www-authenticate") is None

    async def test_method_not_allowed_is_405(self, stack: Stack, service: str) -> None:
        path, _ = ROUTES[service]["write"]
        response = await stack.client(service).delete(path, headers=auth())
        assert_problem(response, 405, "method-not-allowed")

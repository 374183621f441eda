"""The checks of the policy test can fail: an unlisted route, a stale entry, a malformed
policy and a wrong answer are each reported by name."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter, WebSocket

from tests.policy import calls
from tests.policy.policy import (
    PolicyError,
    build_app,
    coverage_problems,
    load_policy,
    parse_policy,
    route_keys,
)
from tests.policy.seed import Principal

ALL = ("anonymous", "citizen_app", "department", "integration", "portal", "evaluator", "admin")


def document(**routes: Any) -> dict[str, Any]:
    return {
        "access": {"admin": {k: ("allow" if k == "admin" else "deny") for k in ALL}},
        "components": {"evaluation": routes},
    }


class TestCoverage:
    def test_a_route_added_without_an_entry_is_named(self) -> None:
        app = build_app("feedback")

        @app.get("/v1/unlisted")
        async def unlisted() -> dict[str, str]:
            return {}

        extra = APIRouter(prefix="/v1/extra")

        @extra.post("/things/{thing_id}")
        async def add_thing(thing_id: str) -> dict[str, str]:
            return {}

        app.include_router(extra)
        assert coverage_problems("feedback", app, load_policy()) == [
            "feedback GET /v1/unlisted: no policy entry",
            "feedback POST /v1/extra/things/{thing_id}: no policy entry",
        ]

    def test_an_entry_whose_route_is_gone_is_named(self) -> None:
        policy = parse_policy(
            document(**{"DELETE /v1/cycles/{cycle_id}": {"access": "admin", "isolation": "hidden"}})
        )
        problems = coverage_problems("evaluation", build_app("evaluation"), policy)
        assert (
            "evaluation DELETE /v1/cycles/{cycle_id}: policy entry for a route that does not exist"
            in problems
        )
        assert "evaluation GET /v1/cycles: no policy entry" in problems

    def test_routes_of_included_routers_websockets_and_hidden_routes_are_all_listed(
        self,
    ) -> None:
        app = build_app("gateway")
        live = APIRouter(prefix="/v1/live")

        @live.websocket("/feed")
        async def feed(websocket: WebSocket) -> None:
            await websocket.close()

        app.include_router(live)
        keys = route_keys(app)
        assert {
            "GET /v1/api-clients",
            "GET /metrics",
            "GET /openapi.json",
            "POST /graphql",
            "WEBSOCKET /v1/live/feed",
            "PUT /api/{service}/{path:path}",
        } <= keys
        assert "HEAD /openapi.json" not in keys


class TestMalformedPolicy:
    @pytest.mark.parametrize(
        ("entry", "complaint"),
        [
            ({"access": "admin"}, "no valid isolation"),
            ({"access": "admins", "isolation": "hidden"}, "no known access rule"),
            ({"access": "admin", "isolation": "hidden", "portal": "maybe"}, "unknown value"),
            ({"access": "admin", "isolation": "secret"}, "no valid isolation"),
            ({"access": "admin", "isolation": "hidden", "owner": "allow"}, "unknown fields"),
        ],
    )
    def test_is_refused_with_the_route_named(self, entry: dict[str, Any], complaint: str) -> None:
        with pytest.raises(PolicyError, match=complaint) as raised:
            parse_policy(document(**{"GET /v1/cycles": entry}))
        assert "GET /v1/cycles" in str(raised.value)

    def test_a_rule_must_name_every_principal_kind(self) -> None:
        with pytest.raises(PolicyError, match="every principal kind"):
            parse_policy({"access": {"partial": {"admin": "allow"}}})


OFFICER_A = Principal("officer_a", "department", {}, bound="A")
OFFICER_B = Principal("officer_b", "department", {}, bound="B")
ANONYMOUS = Principal("anonymous", "anonymous", {})
PORTAL = Principal("portal", "portal", {})


class TestJudging:
    @pytest.mark.parametrize(
        ("value", "principal", "status", "agrees"),
        [
            ("deny", ANONYMOUS, 401, True),
            ("deny", ANONYMOUS, 403, False),
            ("deny", PORTAL, 403, True),
            ("deny", PORTAL, 200, False),
            ("deny", PORTAL, 404, False),
            ("allow", PORTAL, 404, True),
            ("allow", PORTAL, 403, False),
            ("allow", PORTAL, 500, False),
            ("own", OFFICER_A, 200, True),
            ("own", OFFICER_A, 403, False),
            ("own", OFFICER_B, 404, True),
            ("own", OFFICER_B, 200, False),
        ],
    )
    def test_an_answer_against_the_policy_value(
        self, value: str, principal: Principal, status: int, agrees: bool
    ) -> None:
        mismatch = calls.access_mismatch(value, principal, calls.Answer(status, None, None))
        assert (mismatch is None) is agrees

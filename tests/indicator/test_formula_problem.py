"""A formula that does not parse reaches a client as the indicator service's 422 problem."""

from __future__ import annotations

import httpx
from fastapi.routing import APIRoute

from services.indicator.app import create_app
from services.indicator.settings import Settings
from services.scoring import formula


async def test_invalid_formula_is_a_422_problem_with_its_position() -> None:
    app = create_app(Settings())

    async def check() -> None:
        formula.parse("1 + (2")

    # A plain route: the app's own routes take a database session this test has no need of.
    app.router.add_api_route(
        "/formula-check", check, methods=["GET"], route_class_override=APIRoute
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://indicator.test") as client:
        response = await client.get("/formula-check")

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "invalid-formula"
    assert problem["type"] == "urn:govperf:problem:invalid-formula"
    assert problem["title"] == "The formula cannot be parsed"
    assert problem["detail"] == "unclosed '(' at position 4"
    assert problem["position"] == 4

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from govperf.components import create_app, settings_class
from services.common.app import lifespan_of
from services.common.migrate import head_revision
from services.common.settings import COMPONENTS
from tests import factories
from tests.harness import Stack, auth


class TestRequestId:
    async def test_an_incoming_request_id_is_kept_and_echoed(self, stack: Stack) -> None:
        response = await stack.client("indicator").get(
            "/v1/departments", headers={**auth(), "x-request-id": "portal-42"}
        )
        assert response.headers["x-request-id"] == "portal-42"

    async def test_a_missing_or_unsafe_request_id_is_replaced(self, stack: Stack) -> None:
        plain = await stack.client("indicator").get("/healthz")
        unsafe = await stack.client("indicator").get(
            "/healthz", headers={"x-request-id": "bad id\nwith newline"}
        )
        for response in (plain, unsafe):
            assert len(response.headers["x-request-id"]) == 32

    async def test_the_gateway_passes_its_request_id_to_the_service(self, stack: Stack) -> None:
        await factories.create_department(stack.client("indicator"), code="EDU")
        department_id = (
            await stack.client("indicator").get("/v1/departments", headers=auth())
        ).json()["items"][0]["id"]
        response = await stack.gateway.patch(
            f"/api/indicator/v1/departments/{department_id}",
            json={"name_en": "x"},
            headers={**auth(), "x-request-id": "trace-through-gateway"},
        )
        assert response.status_code == 200
        trail = await stack.client("indicator").get(
            "/v1/audit", params={"action": "department.updated"}, headers=auth()
        )
        assert trail.json()["items"][0]["request_id"] == "trace-through-gateway"


class TestHealth:
    @pytest.mark.parametrize("component", COMPONENTS)
    async def test_every_component_is_live_and_ready(self, stack: Stack, component: str) -> None:
        live = await stack.client(component).get("/healthz")
        ready = await stack.client(component).get("/readyz")
        assert live.status_code == 200 and live.json()["service"] == component
        assert ready.status_code == 200
        assert ready.json()["migration"] == head_revision(component)

    async def test_not_ready_while_migrations_are_pending(self, tmp_path: Path) -> None:
        settings = settings_class("indicator")(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}", migrate_on_start=False
        )
        app = create_app("indicator", settings)
        async with (
            lifespan_of(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://indicator.test"
            ) as client,
        ):
            response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["code"] == "migrations-pending"
        assert "govperf migrate indicator" in response.json()["detail"]

    async def test_start_up_migrates_a_new_database(self, tmp_path: Path) -> None:
        settings = settings_class("feedback")(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"
        )
        app = create_app("feedback", settings)
        async with (
            lifespan_of(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://feedback.test"
            ) as client,
        ):
            assert (await client.get("/readyz")).status_code == 200


class TestMetrics:
    async def test_requests_are_counted_by_route_template(self, stack: Stack) -> None:
        client = stack.client("indicator")
        department = await factories.create_department(client, code="EDU")
        await client.get(f"/v1/departments/{department['id']}", headers=auth())
        text = (await client.get("/metrics")).text
        assert 'route="/v1/departments/{department_id}"' in text
        assert department["id"] not in text
        assert "govperf_http_request_duration_seconds_bucket" in text

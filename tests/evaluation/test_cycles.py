from __future__ import annotations

import pytest

from tests import factories
from tests.harness import HEIHE, Stack, auth


class TestCycleLifecycle:
    async def test_draft_opens_then_closes(self, stack: Stack) -> None:
        client = stack.client("evaluation")
        cycle = await factories.create_cycle(client)
        assert cycle["status"] == "draft" and cycle["opened_at"] is None
        opened = await client.patch(
            f"/v1/cycles/{cycle['id']}", json={"status": "open"}, headers=auth()
        )
        assert opened.json()["status"] == "open" and opened.json()["opened_at"]
        closed = await client.patch(
            f"/v1/cycles/{cycle['id']}", json={"status": "closed"}, headers=auth()
        )
        assert closed.json()["status"] == "closed" and closed.json()["closed_at"]

    @pytest.mark.parametrize(
        ("path", "target"),
        [
            ((), "closed"),
            (("open", "closed"), "open"),
            (("open", "closed"), "draft"),
            (("open",), "draft"),
        ],
    )
    async def test_invalid_transitions_are_409(
        self, stack: Stack, path: tuple[str, ...], target: str
    ) -> None:
        client = stack.client("evaluation")
        cycle = await factories.create_cycle(client)
        for status in path:
            await client.patch(f"/v1/cycles/{cycle['id']}", json={"status": status}, headers=auth())
        response = await client.patch(
            f"/v1/cycles/{cycle['id']}", json={"status": target}, headers=auth()
        )
        assert response.status_code == 409
        assert response.json()["code"] == "invalid-cycle-transition"

    async def test_the_period_is_fixed_once_open(self, stack: Stack) -> None:
        client = stack.client("evaluation")
        cycle = await factories.create_cycle(client)
        await client.patch(f"/v1/cycles/{cycle['id']}", json={"status": "open"}, headers=auth())
        response = await client.patch(
            f"/v1/cycles/{cycle['id']}", json={"period": "2027"}, headers=auth()
        )
        assert response.status_code == 409
        assert response.json()["code"] == "cycle-not-draft"

    @pytest.mark.parametrize("period", ["2026", "2026Q3", "202612"])
    async def test_dhis2_style_periods_are_accepted(self, stack: Stack, period: str) -> None:
        cycle = await factories.create_cycle(stack.client("evaluation"), period=period)
        assert cycle["period"] == period

    @pytest.mark.parametrize("period", ["26", "2026Q5", "202613", "2026-01"])
    async def test_malformed_periods_are_422(self, stack: Stack, period: str) -> None:
        response = await stack.client("evaluation").post(
            "/v1/cycles",
            headers=auth(),
            json={"jurisdiction_code": HEIHE, "code": "c", "name": "n", "period": period},
        )
        assert response.status_code == 422

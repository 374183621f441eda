"""The latest values of a batch of departments in one read (`latest` with `department_ids`),
as the gateway's loaders use it."""

from __future__ import annotations

import uuid

import pytest

from tests.harness import Stack, auth
from tests.indicator.builders import city
from tests.indicator.test_measurements import post_import, rows


class TestLatestByDepartment:
    async def test_each_department_gets_its_most_recently_changed_values(
        self, stack: Stack
    ) -> None:
        client = stack.client("indicator")
        departments = await city(client, "FGW", "SWJ", "JYJ")
        await post_import(
            client,
            rows(
                ("ECO.2", "FGW", "2026", 1),
                ("ECO.1.1", "FGW", "2026Q1", 2),
                ("ECO.1.1", "FGW", "2026Q2", 3),
                ("ECO.2", "SWJ", "2026", 4),
            ),
        )
        # A correction makes the oldest value of FGW its latest.
        await post_import(client, rows(("ECO.2", "FGW", "2026", 5)))
        fgw, swj, jyj = (departments[c]["id"] for c in ("FGW", "SWJ", "JYJ"))
        response = await client.get(
            "/v1/measurements",
            params={"department_ids": [fgw, swj, jyj], "latest": 2},
            headers=auth(),
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["next_cursor"] is None
        by_department: dict[str, list[float]] = {}
        for item in body["items"]:
            by_department.setdefault(item["department_id"], []).append(item["value"])
        assert by_department == {fgw: [5, 3], swj: [4]}

    async def test_an_officer_may_ask_only_for_its_own_department(self, stack: Stack) -> None:
        client = stack.client("indicator")
        departments = await city(client, "FGW", "SWJ")
        own, other = departments["FGW"]["id"], departments["SWJ"]["id"]
        officer = auth("department", department_id=own)
        mine = await client.get(
            "/v1/measurements", params={"department_ids": [own], "latest": 5}, headers=officer
        )
        assert mine.status_code == 200
        both = await client.get(
            "/v1/measurements",
            params={"department_ids": [own, other], "latest": 5},
            headers=officer,
        )
        assert both.status_code == 403 and both.json()["code"] == "other-department"

    @pytest.mark.parametrize(
        ("params", "code"),
        [
            pytest.param({"latest": 3}, "latest-needs-departments", id="no-departments"),
            pytest.param(
                {"department_ids": [str(uuid.uuid4())]}, "latest-needs-departments", id="no-latest"
            ),
            pytest.param(
                {"department_ids": [str(uuid.uuid4())], "latest": 0},
                "validation-error",
                id="latest-zero",
            ),
            pytest.param(
                {"department_ids": [str(uuid.uuid4()) for _ in range(101)], "latest": 1},
                "validation-error",
                id="too-many",
            ),
        ],
    )
    async def test_a_batch_out_of_bounds_is_422(
        self, stack: Stack, params: dict[str, object], code: str
    ) -> None:
        response = await stack.client("indicator").get(
            "/v1/measurements", params=params, headers=auth()
        )
        assert response.status_code == 422, response.text
        assert response.json()["code"] == code

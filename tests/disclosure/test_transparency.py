"""The transparency index: what a cycle must disclose, what was, and how late."""

from __future__ import annotations

import uuid
from datetime import timedelta

from services.common.db import utcnow
from services.disclosure.public.settings import PublicSettings
from tests.disclosure import published
from tests.harness import HARBIN, Stack


def by_item(cycle: dict) -> dict[tuple[str, str | None], dict]:
    return {(i["item"], i["department"]): i for i in cycle["items"]}


class TestTransparency:
    async def test_each_required_item_on_time_late_overdue_or_not_due(self, stack: Stack) -> None:
        now = utcnow()
        system, cycle = uuid.uuid4(), uuid.uuid4()
        fin, edu = uuid.uuid4(), uuid.uuid4()
        await published.known_cycle(
            stack,
            cycle_id=cycle,
            system_id=system,
            opened_at=now - timedelta(days=60),
            preliminary_at=now - timedelta(days=20),
            finalized_at=now - timedelta(days=40),
            departments=[
                {"department_id": str(fin), "code": "FIN", "name_zh": "财政局"},
                {"department_id": str(edu), "code": "EDU", "name_zh": "教育局"},
            ],
        )
        # Plan: due 7 days after opening, out on day 10 → 3 days late.
        plan = await published.publish_version(
            stack,
            kind="plan",
            title="指标体系",
            subject_key=f"plan:{system}",
            published_at=now - timedelta(days=50),
        )
        # Preliminary results a day after scoring: on time. No final results: overdue.
        results = await published.publish_version(
            stack,
            data=published.results_data(cycle, [], status="preliminary"),
            published_at=now - timedelta(days=19),
        )
        # Rectification of FIN on time (30 days grace); EDU never.
        await published.publish_version(
            stack,
            kind="rectification",
            cycle_id=cycle,
            department_id=fin,
            published_at=now - timedelta(days=15),
        )
        response = await stack.client("disclosure").get(
            "/v1/transparency", params={"cycle_id": str(cycle)}
        )
        assert response.status_code == 200
        (summary,) = response.json()["items"]
        items = by_item(summary)
        assert items[("plan", None)]["state"] == "late"
        assert items[("plan", None)]["days_late"] == 3
        assert items[("plan", None)]["publication_id"] == str(plan.publication_id)
        assert items[("preliminary_results", None)]["state"] == "on_time"
        assert items[("preliminary_results", None)]["publication_id"] == str(results.publication_id)
        assert items[("final_results", None)]["state"] == "overdue"
        assert items[("final_results", None)]["days_late"] == 37
        assert items[("rectification", "FIN")]["state"] == "on_time"
        assert items[("rectification", "EDU")]["state"] == "overdue"
        assert items[("rectification", "EDU")]["days_late"] == 10
        assert items[("rectification", "EDU")]["department_name"] == "教育局"
        assert (summary["due"], summary["disclosed"], summary["on_time"]) == (5, 3, 2)
        assert (summary["late"], summary["overdue"]) == (1, 2)
        assert summary["index"] == 0.4

    async def test_grace_days_come_from_settings(self, stack: Stack) -> None:
        now = utcnow()
        cycle = uuid.uuid4()
        await published.known_cycle(stack, cycle_id=cycle, preliminary_at=now - timedelta(days=10))
        await published.publish_version(
            stack,
            data=published.results_data(cycle, [], status="preliminary"),
            published_at=now - timedelta(days=5),
        )
        client = stack.client("disclosure")
        default = by_item((await client.get("/v1/transparency")).json()["items"][0])
        assert default[("preliminary_results", None)]["days_late"] == 2
        app = stack.apps["disclosure"]
        app.state.public_settings = PublicSettings(grace_days_preliminary=5)
        try:
            relaxed = by_item((await client.get("/v1/transparency")).json()["items"][0])
        finally:
            del app.state.public_settings
        assert relaxed[("preliminary_results", None)]["state"] == "on_time"

    async def test_stages_not_reached_are_not_due(self, stack: Stack) -> None:
        cycle = uuid.uuid4()
        await published.known_cycle(
            stack,
            cycle_id=cycle,
            opened_at=utcnow() - timedelta(days=1),
            departments=[{"department_id": str(uuid.uuid4()), "code": "FIN", "name_zh": "财政局"}],
        )
        (summary,) = (await stack.client("disclosure").get("/v1/transparency")).json()["items"]
        assert {i["state"] for i in summary["items"]} == {"not_due"}
        assert summary["due"] == 0 and summary["index"] == 1.0

    async def test_final_results_count_only_once_final(self, stack: Stack) -> None:
        now = utcnow()
        cycle = uuid.uuid4()
        await published.known_cycle(
            stack,
            cycle_id=cycle,
            preliminary_at=now - timedelta(days=30),
            finalized_at=now - timedelta(days=10),
        )
        first = await published.publish_version(
            stack,
            data=published.results_data(cycle, [], status="preliminary"),
            published_at=now - timedelta(days=29),
        )
        await published.publish_version(
            stack,
            publication_id=first.publication_id,
            data=published.results_data(cycle, [], status="finalized", result_version=2),
            published_at=now - timedelta(days=9),
        )
        (summary,) = (await stack.client("disclosure").get("/v1/transparency")).json()["items"]
        items = by_item(summary)
        assert items[("preliminary_results", None)]["state"] == "on_time"
        final = items[("final_results", None)]
        assert final["state"] == "on_time"
        assert final["published_at"].startswith((now - timedelta(days=9)).date().isoformat())

    async def test_per_jurisdiction_and_paginated(self, stack: Stack) -> None:
        heihe = [await published.known_cycle(stack, code=f"C{i}") for i in range(3)]
        await published.known_cycle(stack, jurisdiction=HARBIN, code="H1")
        client = stack.client("disclosure")
        first = (await client.get("/v1/transparency?jurisdiction=231100&limit=2")).json()
        rest = (
            await client.get(
                f"/v1/transparency?jurisdiction=231100&limit=2&cursor={first['next_cursor']}"
            )
        ).json()
        seen = [c["cycle_id"] for c in first["items"] + rest["items"]]
        assert sorted(seen) == sorted(str(c) for c in heihe) and len(seen) == 3
        harbin = (await client.get(f"/v1/transparency?jurisdiction={HARBIN}")).json()
        assert [c["cycle"] for c in harbin["items"]] == ["H1"]

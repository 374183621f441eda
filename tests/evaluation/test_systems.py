"""Indicator-system snapshots: received from `indicator_system.published`, kept once, read
by the cycles' jurisdiction only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from services.common.events.subscriptions import ReceivedEvent
from services.evaluation import events
from services.evaluation.models import IndicatorSystemSnapshot
from tests import factories
from tests.common.events.receivers import eventually
from tests.harness import HARBIN, Stack, auth

NODES = [
    {
        "code": "E",
        "name_zh": "经济发展",
        "weight": 100,
        "children": [factories.indicator_leaf("E.1", 100)],
    }
]


async def publish(stack: Stack, *, year: int = 2026, category: str = "economic", **kw: Any) -> Any:
    return await factories.create_indicator_system(
        stack.client("indicator"), year=year, category=category, nodes=NODES, publish=True, **kw
    )


async def listed(
    stack: Stack, *, headers: dict[str, str] | None = None, **params: Any
) -> list[dict[str, Any]]:
    response = await stack.client("evaluation").get(
        "/v1/indicator-systems", params=params, headers=headers or auth()
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


class TestReceived:
    async def test_a_published_system_arrives_with_its_tree(self, stack: Stack) -> None:
        system = await publish(stack)

        async def arrived() -> list[dict[str, Any]]:
            return await listed(stack)

        [summary] = await eventually(arrived)
        assert summary["id"] == system["id"]
        assert (summary["year"], summary["category"], summary["version"]) == (2026, "economic", 1)
        assert summary["received_via"] == "event" and "snapshot" not in summary
        one = await stack.client("evaluation").get(
            f"/v1/indicator-systems/{system['id']}", headers=auth()
        )
        tree = one.json()["snapshot"]["nodes"]
        assert tree[0]["children"][0]["code"] == "E.1"
        assert tree[0]["children"][0]["rule"]["method"] == "ratio"

    async def test_the_same_version_twice_is_kept_once(self, stack: Stack) -> None:
        system = await publish(stack)
        await eventually(lambda: listed(stack))
        event = ReceivedEvent(
            webhook_id="msg_resent",
            type="indicator_system.published",
            timestamp="2026-12-01T00:00:00Z",
            data={"system": {**system, "name": "a later copy"}},
        )
        db = stack.apps["evaluation"].state.db
        for _ in range(2):
            async with db.session() as session, session.begin():
                await events.on_system_published(session, event)
        async with db.session(read_only=True) as session:
            count = await session.scalar(select(func.count()).select_from(IndicatorSystemSnapshot))
            name = await session.scalar(select(IndicatorSystemSnapshot.name))
        assert count == 1 and name == system["name"]


class TestReading:
    async def test_lists_filter_by_year_and_category_and_page(self, stack: Stack) -> None:
        await publish(stack, year=2025)
        await publish(stack, year=2026)
        await publish(stack, year=2026, category="districts")
        await eventually(lambda: _count_is(stack, 3))
        assert [s["year"] for s in await listed(stack, year=2025)] == [2025]
        assert [s["category"] for s in await listed(stack, category="districts")] == ["districts"]
        first = await stack.client("evaluation").get(
            "/v1/indicator-systems", params={"limit": 2}, headers=auth()
        )
        rest = await stack.client("evaluation").get(
            "/v1/indicator-systems",
            params={"limit": 2, "cursor": first.json()["next_cursor"]},
            headers=auth(),
        )
        ids = [s["id"] for s in first.json()["items"] + rest.json()["items"]]
        assert len(ids) == len(set(ids)) == 3 and rest.json()["next_cursor"] is None

    async def test_another_jurisdiction_sees_none_of_them(self, stack: Stack) -> None:
        system = await publish(stack)
        await eventually(lambda: listed(stack))
        harbin = auth(jurisdictions=(HARBIN,))
        assert await listed(stack, headers=harbin) == []
        one = await stack.client("evaluation").get(
            f"/v1/indicator-systems/{system['id']}", headers=harbin
        )
        assert one.status_code == 404

    async def test_reading_needs_a_token(self, stack: Stack) -> None:
        response = await stack.client("evaluation").get("/v1/indicator-systems")
        assert response.status_code == 401


async def _count_is(stack: Stack, count: int) -> bool:
    return len(await listed(stack)) == count

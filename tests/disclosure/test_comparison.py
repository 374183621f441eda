"""Comparison across jurisdictions: one indicator code, published data only."""

from __future__ import annotations

import uuid

from tests.disclosure import published
from tests.harness import HARBIN, HEIHE, Stack

QIQIHAR = "230200"


async def publish_city(
    stack: Stack, jurisdiction: str, departments: list[tuple[str, float, float]], **extra
) -> uuid.UUID:
    cycle = uuid.uuid4()
    retracted = extra.pop("retracted", None)
    await published.publish_version(
        stack,
        jurisdiction=jurisdiction,
        data=published.results_data(
            cycle,
            [
                published.department(
                    name,
                    80,
                    rank,
                    indicators=[
                        published.indicator("GDP", value, points),
                        published.indicator("OTHER", 1, 1),
                    ],
                )
                for rank, (name, value, points) in enumerate(departments, start=1)
            ],
            **extra,
        ),
        retracted=retracted,
    )
    return cycle


class TestComparison:
    async def test_departments_and_jurisdictions_ranked_by_points(self, stack: Stack) -> None:
        await publish_city(stack, HEIHE, [("黑河发改委", 92, 9.2), ("黑河统计局", 70, 7.0)])
        await publish_city(stack, HARBIN, [("哈尔滨发改委", 88, 8.8)])
        await publish_city(stack, QIQIHAR, [("齐齐哈尔发改委", 88, 8.8)], period="2025")
        response = await stack.client("disclosure").get(
            "/v1/comparison", params={"indicator": "GDP", "period": "2026"}
        )
        assert response.status_code == 200
        body = response.json()
        assert body["indicator"] == "GDP" and body["indicator_name"] == "指标GDP"
        assert [
            (r["rank"], r["jurisdiction_code"], r["name_zh"], r["value"], r["points"])
            for r in body["rows"]
        ] == [
            (1, HEIHE, "黑河发改委", 92, 9.2),
            (2, HARBIN, "哈尔滨发改委", 88, 8.8),
            (3, HEIHE, "黑河统计局", 70, 7.0),
        ]
        assert [
            (j["rank"], j["jurisdiction_code"], j["departments"], j["mean_points"])
            for j in body["jurisdictions"]
        ] == [
            (1, HARBIN, 1, 8.8),
            (2, HEIHE, 2, 8.1),
        ]

    async def test_ties_share_a_rank(self, stack: Stack) -> None:
        await publish_city(stack, HEIHE, [("A", 90, 9.0)])
        await publish_city(stack, HARBIN, [("B", 90, 9.0)])
        await publish_city(stack, QIQIHAR, [("C", 50, 5.0)])
        body = (await stack.client("disclosure").get("/v1/comparison?indicator=GDP")).json()
        assert [r["rank"] for r in body["rows"]] == [1, 1, 3]

    async def test_only_current_published_data_enters(self, stack: Stack) -> None:
        await publish_city(stack, HEIHE, [("黑河发改委", 92, 9.2)])
        await publish_city(stack, HARBIN, [("哈尔滨发改委", 88, 8.8)], retracted="数据有误")
        client = stack.client("disclosure")
        draft = await client.post(
            "/v1/publications",
            headers={},
            json={"jurisdiction_code": HARBIN, "kind": "results", "title": "草稿"},
        )
        assert draft.status_code == 401  # nobody outside the office writes one
        body = (await client.get("/v1/comparison?indicator=GDP")).json()
        assert [r["jurisdiction_code"] for r in body["rows"]] == [HEIHE]

    async def test_a_department_result_and_its_cycle_results_count_once(self, stack: Stack) -> None:
        cycle, dept = uuid.uuid4(), uuid.uuid4()
        await published.publish_version(
            stack,
            data=published.results_data(
                cycle,
                [
                    published.department(
                        "黑河发改委",
                        80,
                        1,
                        department_id=dept,
                        indicators=[published.indicator("GDP", 92, 9.2)],
                    )
                ],
            ),
        )
        newer = published.department(
            "黑河发改委",
            82,
            1,
            department_id=dept,
            indicators=[published.indicator("GDP", 95, 9.5)],
        ) | {"cycle_id": str(cycle), "period": "2026", "category": "economic"}
        await published.publish_version(
            stack, kind="department_result", department_id=dept, data=newer
        )
        body = (await stack.client("disclosure").get("/v1/comparison?indicator=GDP")).json()
        assert [(r["department_id"], r["value"]) for r in body["rows"]] == [(str(dept), 95)]

    async def test_an_unknown_indicator_compares_nothing(self, stack: Stack) -> None:
        await publish_city(stack, HEIHE, [("A", 90, 9.0)])
        body = (await stack.client("disclosure").get("/v1/comparison?indicator=NONE")).json()
        assert body["rows"] == [] and body["jurisdictions"] == []

    async def test_the_indicator_is_required(self, stack: Stack) -> None:
        response = await stack.client("disclosure").get("/v1/comparison")
        assert response.status_code == 422

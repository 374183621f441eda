"""An indicator tree that uses every scoring rule, and helpers that publish it."""

from __future__ import annotations

import copy
from typing import Any

import httpx

from tests import factories
from tests.harness import HEIHE, auth

YEAR = 2026


def leaf(code: str, weight: float, rule: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "code": code,
        "name_zh": f"指标 {code}",
        "weight": weight,
        "frequency": fields.pop("frequency", "quarterly"),
        "target": fields.pop("target", 100),
        "rule": rule,
        **fields,
    }


def tree() -> list[dict[str, Any]]:
    """Two dimensions (60 + 40), three levels, every rule."""
    return copy.deepcopy(
        [
            {
                "code": "ECO",
                "name_zh": "经济发展",
                "weight": 60,
                "children": [
                    {
                        "code": "ECO.1",
                        "name_zh": "增长",
                        "weight": 30,
                        "children": [
                            leaf("ECO.1.1", 20, {"method": "ratio", "ceiling": 1.2}),
                            leaf(
                                "ECO.1.2",
                                10,
                                {"method": "linear_interval", "best": 10, "worst": 0},
                                frequency="monthly",
                            ),
                        ],
                    },
                    leaf(
                        "ECO.2",
                        30,
                        {
                            "method": "threshold_bands",
                            "bands": [
                                {"min": 90, "points": 1},
                                {"min": 60, "max": 90, "points": 0.6},
                            ],
                        },
                        frequency="annual",
                    ),
                ],
            },
            {
                "code": "SOC",
                "name_zh": "社会民生",
                "weight": 40,
                "children": [
                    leaf(
                        "SOC.1",
                        25,
                        {"method": "deduction", "per_unit": 2, "basis": "incident"},
                        frequency="annual",
                    ),
                    leaf(
                        "SOC.2",
                        15,
                        {"method": "formula", "numerator": "#{ECO.1.1}", "factor": 100},
                    ),
                    leaf(
                        "SOC.B",
                        0,
                        {"method": "bonus", "per_unit": 1, "cap": 5},
                        frequency="annual",
                    ),
                    leaf(
                        "SOC.V",
                        0,
                        {
                            "method": "veto",
                            "operator": ">=",
                            "threshold": 1,
                            "grade_cap": "fail",
                            "reason": "重大安全事故",
                        },
                        frequency="annual",
                    ),
                ],
            },
        ]
    )


def system_body(
    *, category: str = "economic", year: int = YEAR, jurisdiction: str = HEIHE
) -> dict[str, Any]:
    return {
        "jurisdiction_code": jurisdiction,
        "year": year,
        "category": category,
        "name": f"{year} {category}",
        "nodes": tree(),
    }


async def create_system(
    client: httpx.AsyncClient,
    *,
    category: str = "economic",
    year: int = YEAR,
    nodes: list[dict[str, Any]] | None = None,
    jurisdiction: str = HEIHE,
) -> httpx.Response:
    return await client.post(
        "/v1/indicator-systems",
        headers=auth(jurisdictions=(jurisdiction,)),
        json={
            "jurisdiction_code": jurisdiction,
            "year": year,
            "category": category,
            "name": f"{year} {category}",
            "nodes": tree() if nodes is None else nodes,
        },
    )


async def published_system(
    client: httpx.AsyncClient, *, category: str = "economic", year: int = YEAR
) -> dict[str, Any]:
    created = await create_system(client, category=category, year=year)
    assert created.status_code == 201, created.text
    published = await client.post(
        f"/v1/indicator-systems/{created.json()['id']}/publish", headers=auth()
    )
    assert published.status_code == 200, published.text
    return published.json()


async def city(client: httpx.AsyncClient, *departments: str) -> dict[str, dict[str, Any]]:
    """A published economic system and the given economic departments, by code."""
    await published_system(client)
    return {
        code: await factories.create_department(client, code=code, category="economic")
        for code in departments
    }

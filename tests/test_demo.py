"""The demo city: its tables pass the real validation, and seeding it through the gateway works
once and only once."""

from __future__ import annotations

import asyncio
import random
import re
from typing import Any

import httpx
import pytest

from govperf import demo
from govperf.demo_data import CATEGORIES, DEPARTMENTS, SYSTEMS
from services.indicator.systems import schemas
from services.scoring import rules as scoring
from services.scoring.rules import references
from tests.harness import Stack, auth

METHODS = {"ratio", "linear_interval", "threshold_bands", "deduction", "bonus", "veto", "formula"}


def _depth(nodes: list[Any], level: int = 1) -> int:
    return max((_depth(n.children, level + 1) if n.children else level for n in nodes), default=0)


def _weight_problems(nodes: list[schemas.NodeIn], total: float = 100) -> list[str]:
    problems = []
    if abs(sum(n.weight for n in nodes) - total) > 1e-9:
        problems.append(f"{[n.code for n in nodes]} sum to {sum(n.weight for n in nodes)}")
    for node in nodes:
        if node.children:
            problems += _weight_problems(node.children, node.weight)
    return problems


@pytest.mark.parametrize("category", CATEGORIES)
def test_each_category_has_a_valid_system(category: str) -> None:
    system = schemas.SystemCreate.model_validate(demo.system_body(category, demo.fake_ids()))
    leaves = [n for n in _walk(system.nodes) if not n.children]
    by_code = {n.code: n for n in leaves}
    assert 3 <= len(system.nodes) <= 4
    assert _depth(system.nodes) == 3
    assert 14 <= len(leaves) <= 18
    assert {n.rule.method for n in leaves if n.rule} == METHODS
    assert _weight_problems(system.nodes) == []
    codes = [n.code for n in _walk(system.nodes)]
    assert len(codes) == len(set(codes))
    for node in leaves:
        assert node.rule is not None and node.frequency is not None, node.code
        assert (node.weight == 0) == (node.rule.method in ("bonus", "veto")), node.code
        for code in references(node.rule):
            assert by_code[code].rule.method != "formula", node.code  # type: ignore[union-attr]
    for node in _walk(system.nodes):
        if node.children:
            assert node.rule is None and node.frequency is None, node.code


def _walk(nodes: list[schemas.NodeIn]) -> list[schemas.NodeIn]:
    return [m for n in nodes for m in (n, *_walk(n.children))]


def test_target_overrides_and_data_sources_name_departments() -> None:
    ids = demo.fake_ids()
    nodes = [
        n for c in CATEGORIES for n in _walk(schemas.SystemCreate(**demo.system_body(c, ids)).nodes)
    ]
    overridden = {n.code: n.target_overrides for n in nodes if n.target_overrides}
    assert overridden
    assert {str(k) for v in overridden.values() for k in v} <= set(ids.values())
    assert any(n.data_source_department_id for n in nodes)


def test_about_forty_departments_in_four_categories() -> None:
    codes = [code for code, *_ in DEPARTMENTS]
    assert 38 <= len(codes) <= 42
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"HH-[A-Z]{3}", code) for code in codes)
    assert {category for *_, category, _ in DEPARTMENTS} == set(CATEGORIES) == set(SYSTEMS)
    seen: set[str] = set()
    for code, _, _, _, parent in DEPARTMENTS:
        assert parent is None or parent in seen, code
        seen.add(code)
    districts = {zh for _, zh, _, category, _ in DEPARTMENTS if category == "districts"}
    assert {"爱辉区人民政府", "北安市人民政府", "嫩江市人民政府", "孙吴县人民政府"} <= districts


def _rows() -> list[dict[str, Any]]:
    rng = random.Random(demo.SEED)
    return [
        row
        for category in CATEGORIES
        for code, _, _, department_category, _ in DEPARTMENTS
        if department_category == category
        for row in demo.simulate(rng, code, SYSTEMS[category][2])
    ]


def test_a_year_of_values_for_every_department_and_reported_leaf() -> None:
    rows = _rows()
    assert rows == _rows()  # deterministic
    keys = {(r["department"], r["indicator"], r["period"]) for r in rows}
    assert len(keys) == len(rows)
    expected = {
        (code, leaf["code"], period)
        for code, _, _, category, _ in DEPARTMENTS
        for leaf in demo.reported(SYSTEMS[category][2])
        for period in demo.periods(leaf["frequency"])
    }
    assert keys == expected
    assert all(r["value"] >= 0 for r in rows)
    units = {leaf["code"]: leaf for _, _, tree in SYSTEMS.values() for leaf in demo.reported(tree)}
    for row in rows:
        leaf = units[row["indicator"]]
        if leaf["unit"] in demo.WHOLE_UNITS:
            assert row["value"] == int(row["value"]), row
        if leaf["unit"] == "%":
            assert row["value"] <= 100, row
        rule = scoring.parse_rule(leaf["rule"])
        target = leaf["_overrides"].get(row["department"], leaf["target"])
        scoring.score(
            rule,
            weight=leaf["weight"],
            polarity=leaf["polarity"],
            value=row["value"],
            target=target,
        )  # raises ScoringError for a value that cannot be scored
    vetoes = [r["value"] for r in rows if units[r["indicator"]]["rule"]["method"] == "veto"]
    assert sum(vetoes) <= 2 and set(vetoes) <= {0, 1}
    bonuses = [r["value"] for r in rows if units[r["indicator"]]["rule"]["method"] == "bonus"]
    assert set(bonuses) <= {0, 1, 2, 3} and bonuses.count(0) > len(bonuses) / 2


class Blocking:
    """A synchronous admin client on the stack's gateway, rooted at /api, for a worker thread."""

    def __init__(self, client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        self.client, self.loop = client, loop

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        call = self.client.request(method, f"/api{url}", headers=auth(), **kwargs)
        return asyncio.run_coroutine_threadsafe(call, self.loop).result(timeout=120)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._send("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._send("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._send("PATCH", url, **kwargs)


async def test_seeding_through_the_gateway_happens_once(stack: Stack) -> None:
    api = Blocking(stack.gateway, asyncio.get_running_loop())
    lines: list[str] = []
    await asyncio.to_thread(demo.seed_city, api, log=lines.append)
    rows = len(_rows())
    assert lines[-1].startswith(
        f"== demo city seeded: {len(DEPARTMENTS)} departments, 4 published indicator systems "
        f"(67 indicators), {rows} measurements"
    ), lines

    async def items(path: str, **params: Any) -> list[dict[str, Any]]:
        response = await stack.gateway.get(
            f"/api/indicator/v1/{path}", params=params, headers=auth()
        )
        assert response.status_code == 200, response.text
        return response.json()["items"]

    systems = await items("indicator-systems", status="published")
    assert sorted(s["category"] for s in systems) == sorted(CATEGORIES)
    assert len(await items("departments", limit=200)) == len(DEPARTMENTS)
    assert len(await items("measurements", status="verified", limit=200)) >= 10
    (returned,) = await items("measurements", status="returned")
    assert returned["status_reason"]
    (flagged,) = await items("measurements", flagged="true")
    assert flagged["flag_reason"]

    await asyncio.to_thread(demo.seed_city, api, log=lines.append)
    assert lines[-1] == "== demo data already present; nothing seeded"
    assert len(await items("departments", limit=200)) == len(DEPARTMENTS)
    assert len(await items("indicator-systems")) == len(CATEGORIES)

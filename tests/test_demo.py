"""The demo city: its tables pass the real validation, and seeding it through the gateway works
once and only once."""

from __future__ import annotations

import asyncio
import math
import random
import re
from collections import Counter
from typing import Any

import httpx
import pytest

from govperf import demo
from govperf.demo_data import (
    CATEGORIES,
    DEPARTMENTS,
    EVALUATORS,
    EXCELLENT_QUOTA,
    FINALIZED_CATEGORY,
    GROUPS,
    QUESTIONNAIRE,
    SYSTEMS,
)
from services.indicator.systems import schemas
from services.scoring import rules as scoring
from services.scoring.rules import references
from tests.harness import Stack, auth, token

RATINGS = 600  # enough for the speeder check in every cycle (it needs 100 timed responses)
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


def test_citizen_ratings_give_the_quality_checks_something_to_find() -> None:
    ids = demo.fake_ids()
    cycles = {category: f"cycle-{category}" for category in CATEGORIES}
    ratings = demo.citizen_ratings(600, cycles, ids, "questionnaire")
    assert ratings == demo.citizen_ratings(600, cycles, ids, "questionnaire")  # deterministic
    assert len(ratings) == 600
    assert len({r["response_id"] for r in ratings}) == 600
    respondents = [(r["respondent"]["token"], r["department_id"]) for r in ratings]
    assert len(set(respondents)) == len(respondents)  # one rating per respondent and department
    assert {r["cycle_id"] for r in ratings} == set(cycles.values())
    items = {item["code"] for item in QUESTIONNAIRE["items"]}
    assert all(set(r["answers"]) == items for r in ratings)
    answered = [a for r in ratings for a in r["answers"].values() if a is not None]
    assert set(answered) == {1, 2, 3, 4, 5}
    assert any(None in r["answers"].values() for r in ratings)  # don't know
    straight = [r for r in ratings if len(set(r["answers"].values())) == 1]
    assert any(r["duration_seconds"] < 25 for r in straight)
    by_device = Counter(r.get("device_token", r["respondent"]["token"]) for r in ratings)
    [(_, most)] = by_device.most_common(1)
    assert most == demo.BURST
    phones = [r for r in ratings if re.search(r"1[3-9]\d{9}", r.get("comment") or "")]
    assert phones


def test_every_department_of_a_cycle_gets_its_evaluators() -> None:
    ids = demo.fake_ids()
    groups = {g["code"]: f"group-{g['code']}" for g in GROUPS}
    wanted = demo.assignments({"economic": groups, "districts": groups}, ids)
    for category, items in wanted.items():
        departments = [ids[code] for code, _, _, c, _ in DEPARTMENTS if c == category]
        per_department = Counter((a["department_id"], a["group_id"]) for a in items)
        assert per_department == {
            (department, f"group-{group}"): len(EVALUATORS["leadership"])
            if group == "leadership"
            else demo.PER_DEPARTMENT
            for department in departments
            for group in EVALUATORS
        }
    pairs = [
        (a["evaluator_subject"], a["department_id"], a["group_id"]) for a in wanted["economic"]
    ]
    assert len(set(pairs)) == len(pairs)
    scorecard_groups = [g for g in GROUPS if g.get("dimensions")]
    cards = [
        demo.scorecard(subject, code, group)
        for group in scorecard_groups
        for subject, _ in EVALUATORS[group["code"]]
        for code, *_ in DEPARTMENTS
    ]
    scores = [v for card in cards for v in card["scores"].values()]
    assert None in scores
    assert all(v is None or 0 <= v <= 100 for v in scores)
    assert all(any(v is not None for v in card["scores"].values()) for card in cards)


class Blocking:
    """A synchronous admin client on the stack's gateway, rooted at /api, for a worker thread."""

    def __init__(self, client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        self.client, self.loop = client, loop

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**auth(), **kwargs.pop("headers", {})}
        call = self.client.request(method, f"/api{url}", headers=headers, **kwargs)
        return asyncio.run_coroutine_threadsafe(call, self.loop).result(timeout=120)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._send("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._send("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._send("PATCH", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._send("PUT", url, **kwargs)


def mint(role: str, subject: str, department_id: str | None = None) -> str:
    return token(role, subject=subject, department_id=department_id)


def _parts_add_up(node: dict[str, Any]) -> bool:
    if not node["children"]:
        return True
    parts = round(math.fsum(child["points"] for child in node["children"]), 4)
    return abs(parts - node["points"]) < 1e-6 and all(map(_parts_add_up, node["children"]))


async def test_seeding_through_the_gateway_happens_once(stack: Stack) -> None:
    api = Blocking(stack.gateway, asyncio.get_running_loop())
    lines: list[str] = []
    await asyncio.to_thread(demo.seed_city, api, mint=mint, log=lines.append, ratings=RATINGS)
    rows = len(_rows())
    assert lines[-1].startswith(
        f"== demo city seeded: {len(DEPARTMENTS)} departments, 4 published indicator systems "
        f"(67 indicators), {rows} measurements"
    ), lines
    assert (
        f"4 evaluation cycles (3 preliminary, 1 finalized) with {len(DEPARTMENTS)} results, "
        f"{RATINGS} citizen ratings"
    ) in lines[-1], lines[-1]

    async def get(service: str, path: str, **params: Any) -> Any:
        response = await stack.gateway.get(
            f"/api/{service}/v1/{path}", params=params, headers=auth()
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def items(path: str, **params: Any) -> list[dict[str, Any]]:
        return (await get("indicator", path, **params))["items"]

    systems = await items("indicator-systems", status="published")
    assert sorted(s["category"] for s in systems) == sorted(CATEGORIES)
    assert len(await items("departments", limit=200)) == len(DEPARTMENTS)
    assert len(await items("measurements", status="verified", limit=200)) >= 10
    (returned,) = await items("measurements", status="returned")
    assert returned["status_reason"]
    (flagged,) = await items("measurements", flagged="true")
    assert flagged["flag_reason"]

    cycles = (await get("evaluation", "cycles"))["items"]
    assert sorted(c["category"] for c in cycles) == sorted(CATEGORIES)
    assert {c["system_id"] for c in cycles} == {s["id"] for s in systems}
    assert {c["category"]: c["status"] for c in cycles} == {
        category: "finalized" if category == FINALIZED_CATEGORY else "preliminary"
        for category in CATEGORIES
    }
    ids = {d["code"]: d["id"] for d in await items("departments", limit=200)}
    grades: Counter[str] = Counter()
    responses = excluded = counted_out = 0
    for cycle in cycles:
        url = f"cycles/{cycle['id']}"
        groups = (await get("evaluation", f"{url}/groups"))["items"]
        assert sorted(g["kind"] for g in groups) == sorted(g["kind"] for g in GROUPS)
        progress = await get("evaluation", f"{url}/scorecards/progress")
        assert progress["submitted"] == progress["assigned"] > 0
        results = (await get("evaluation", f"{url}/results"))["results"]
        members = {ids[code] for code, _, _, c, _ in DEPARTMENTS if c == cycle["category"]}
        assert {r["department_id"] for r in results} == members
        assert [r["rank"] for r in results] == sorted(r["rank"] for r in results)
        grades.update(r["grade"] for r in results)
        excellent = sum(r["grade"] == "excellent" for r in results)
        assert excellent <= EXCELLENT_QUOTA[cycle["category"]]
        for result in results:
            scores = {g["code"]: g for g in result["group_scores"]}
            assert set(scores) == {g["code"] for g in GROUPS}
            assert all(g["has_data"] for c, g in scores.items() if c != "citizens"), result
            breakdown = await get(
                "evaluation", f"{url}/results/{result['department_id']}/breakdown"
            )
            tree = breakdown["breakdown"]
            assert tree["points"] == breakdown["total"] == result["total"]
            assert _parts_add_up(tree), tree
            (citizens,) = [n for n in tree["children"] if n["code"] == "citizens"]
            counted_out += citizens.get("excluded", 0)
            if result["department_id"] == ids[demo.BURST_DEPARTMENT]:
                assert citizens["excluded"] >= demo.BURST, citizens
        summary = await get("evaluation", f"{url}/ratings/summary")
        responses += summary["responses"]
        excluded += summary["excluded"]
        comments = [
            r["comment"]
            for r in (await get("evaluation", f"{url}/ratings", limit=200))["items"]
            if r["comment"]
        ]
        assert comments and not [c for c in comments if re.search(r"1[3-9]\d{9}", c)]
    assert responses == RATINGS
    assert demo.BURST < excluded < RATINGS / 5
    assert counted_out == excluded  # every exclusion shows in the results
    assert f"({excluded} excluded by the quality checks)" in lines[-1]
    assert len(grades) >= 3, grades

    # The feedback loop: reports of the finalized cycle, tasks in every state, one upheld
    # appeal whose re-score made a revised result version of a preliminary cycle.
    finalized = next(c for c in cycles if c["category"] == FINALIZED_CATEGORY)
    reports = await get("feedback", "feedback-reports", cycle_id=finalized["id"], limit=200)
    members = sum(1 for *_, category, _ in DEPARTMENTS if category == FINALIZED_CATEGORY)
    assert len(reports["items"]) == members
    tasks = (await get("feedback", "rectification-tasks", limit=200))["items"]
    assert {t["status"] for t in tasks} >= {s for s, _ in demo.TASK_STATES}
    (upheld,) = (await get("feedback", "appeals", status="upheld"))["items"]
    appealed = await get("evaluation", f"cycles/{upheld['cycle_id']}")
    assert appealed["status"] == "preliminary" and appealed["result_version"] == 2
    assert any(line.startswith("== demo: ") and "upheld and re-scored" in line for line in lines)
    feedback = (await get("feedback", "citizen-feedback", limit=200))["items"]
    (reopened,) = [f for f in feedback if f["status"] == "reopened"]
    assert reopened["answer"] and reopened["reopen_count"] == 1 and reopened["task_id"]

    await asyncio.to_thread(demo.seed_city, api, mint=mint, log=lines.append)
    assert lines[-1] == "== demo data already present; nothing seeded"
    assert len(await items("departments", limit=200)) == len(DEPARTMENTS)
    assert len(await items("indicator-systems")) == len(CATEGORIES)
    assert len((await get("evaluation", "cycles"))["items"]) == len(CATEGORIES)

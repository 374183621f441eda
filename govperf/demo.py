"""Demo data of a Heihe-like city, written through the public API like any client would.

The tables are in `govperf.demo_data`; this module sends them: departments, one published
2026 indicator system per category, a year of measurements (some verified, one returned,
one flagged), an open evaluation cycle, a published plan and some citizen feedback.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

import httpx

from govperf.demo_data import (
    CATEGORIES,
    DEPARTMENTS,
    JURISDICTION,
    SOURCE_SYSTEM,
    SYSTEMS,
    YEAR,
)
from services.common.auth import mint_token
from services.common.settings import ComponentSettings

Log = Callable[[str], None]
SEED = 231100
WHOLE_UNITS = frozenset({"件", "起", "人", "个", "家", "项"})
VERIFIED_IN_JANUARY = ("HH-DRC", "HH-EDU", "HH-PSB", "HH-AIH")
# (department, indicator, period, reason): the value sent back, and the one flagged.
RETURNED = (
    "HH-HRS",
    "SOC.2.1.1",
    f"{YEAR}02",
    "受理量与12345热线平台统计不一致，请核对后重新报送。",
)
FLAGGED = ("HH-EMB", "LAW.1.1.4", f"{YEAR}03", "较上月波动超过30%，请核实数据来源。")


class Api(Protocol):
    """What seeding needs of an HTTP client rooted at the gateway's `/api` (an httpx.Client)."""

    def get(self, url: str, **kwargs: Any) -> httpx.Response: ...
    def post(self, url: str, **kwargs: Any) -> httpx.Response: ...
    def patch(self, url: str, **kwargs: Any) -> httpx.Response: ...


def _ok(response: httpx.Response, *expected: int) -> Any:
    """The response's JSON; anything but the expected status stops seeding, saying why."""
    if response.status_code not in (expected or (200, 201)):
        raise RuntimeError(
            f"demo seeding: {response.request.method} {response.request.url} answered "
            f"{response.status_code}: {response.text[:2000]}"
        )
    return response.json()


# --- the data as the API takes it ---------------------------------------------------------


def walk(nodes: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every node of a tree, parents before their children."""
    for node in nodes:
        yield node
        yield from walk(node.get("children", []))


def leaves(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [n for n in walk(nodes) if not n.get("children")]


def reported(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The leaves departments report values for (a formula's value is computed)."""
    return [n for n in leaves(nodes) if n["rule"]["method"] != "formula"]


def _node_body(node: dict[str, Any], ids: Mapping[str, str]) -> dict[str, Any]:
    body = {k: v for k, v in node.items() if not k.startswith("_") and k != "children"}
    if node.get("children"):
        body["children"] = [_node_body(child, ids) for child in node["children"]]
        return body
    if node["_source"]:
        body["data_source_department_id"] = ids[node["_source"]]
    body["target_overrides"] = {ids[code]: t for code, t in node["_overrides"].items()}
    return body


def system_body(category: str, ids: Mapping[str, str]) -> dict[str, Any]:
    """The `POST /indicator-systems` body of a category; `ids` maps department codes to ids."""
    name, description, tree = SYSTEMS[category]
    return {
        "jurisdiction_code": JURISDICTION,
        "year": YEAR,
        "category": category,
        "name": name,
        "description": description,
        "nodes": [_node_body(node, ids) for node in tree],
    }


def periods(frequency: str) -> list[str]:
    if frequency == "monthly":
        return [f"{YEAR}{month:02d}" for month in range(1, 13)]
    if frequency == "quarterly":
        return [f"{YEAR}Q{quarter}" for quarter in range(1, 5)]
    return [str(YEAR)]


def _poisson(rng: random.Random, mean: float) -> int:
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _value(rng: random.Random, node: dict[str, Any], department: str, factor: float) -> float:
    """One plausible value: around the (department's) target, better or worse by `factor`."""
    kind, *args = node["_sim"] or ("normal", None, 0.06)
    if kind == "count":
        return _poisson(rng, args[0])
    center, spread = args
    center = node["_overrides"].get(department, node["target"] if center is None else center)
    level = center * factor if node["polarity"] == "higher" else center / factor
    value = max(0.0, level * (1 + rng.gauss(0, spread)))
    if node["unit"] in ("%", "分"):
        value = min(value, 100.0)
    return round(value) if node["unit"] in WHOLE_UNITS else round(value, 2)


def simulate(
    rng: random.Random, department: str, nodes: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """A year of one department's values for every reported leaf, as import rows."""
    factor = rng.uniform(0.92, 1.06)  # how well this department does, all year
    values: dict[tuple[str, str], float] = {}
    comments: dict[tuple[str, str], str] = {}
    shares = []
    for node in reported(nodes):
        method = node["rule"]["method"]
        if node["_sim"] and node["_sim"][0] == "share":
            shares.append(node)
            continue
        for period in periods(node["frequency"]):
            key = (node["code"], period)
            if method == "veto":
                values[key] = 1 if rng.random() < 0.01 else 0
                if values[key]:
                    comments[key] = "已按规定上报，事故调查处理中。"
            elif method == "bonus":
                values[key] = rng.choices((0, 1, 2, 3), weights=(60, 22, 12, 6))[0]
                if values[key]:
                    comments[key] = f"附省级以上文件 {values[key]} 份。"
            else:
                values[key] = _value(rng, node, department, factor)
    for node in shares:  # a part of another leaf's value, e.g. settled of received
        _, whole, low, high = node["_sim"]
        for period in periods(node["frequency"]):
            values[(node["code"], period)] = round(values[(whole, period)] * rng.uniform(low, high))
    rows = []
    for (indicator, period), value in values.items():
        row = {
            "indicator": indicator,
            "department": department,
            "period": period,
            "value": value,
            "source_system": SOURCE_SYSTEM,
        }
        if (indicator, period) in comments:
            row["comment"] = comments[(indicator, period)]
        rows.append(row)
    return rows


# --- sending it ---------------------------------------------------------------------------


def _departments(api: Api) -> dict[str, str]:
    """Create the departments, parents first; their ids by code."""
    ids: dict[str, str] = {}
    for code, name_zh, name_en, category, parent in DEPARTMENTS:
        body = {
            "jurisdiction_code": JURISDICTION,
            "code": code,
            "name_zh": name_zh,
            "name_en": name_en,
            "category": category,
        }
        if parent is not None:
            body["parent_id"] = ids[parent]
        ids[code] = _ok(api.post("/indicator/v1/departments", json=body), 201)["id"]
    return ids


def _systems(api: Api, ids: Mapping[str, str]) -> int:
    """Create and publish each category's system; how many leaf indicators they hold."""
    for category in CATEGORIES:
        created = _ok(api.post("/indicator/v1/indicator-systems", json=system_body(category, ids)))
        _ok(api.post(f"/indicator/v1/indicator-systems/{created['id']}/publish"), 200)
    return sum(len(leaves(tree)) for _, _, tree in SYSTEMS.values())


def _measurements(api: Api) -> int:
    """A year of values of every department, one bulk import per category."""
    rng = random.Random(SEED)
    total = 0
    for category in CATEGORIES:
        tree = SYSTEMS[category][2]
        rows = [
            row
            for code, _, _, department_category, _ in DEPARTMENTS
            if department_category == category
            for row in simulate(rng, code, tree)
        ]
        summary = _ok(
            api.post(
                "/indicator/v1/measurements/import",
                params={"jurisdiction": JURISDICTION},
                json={"measurements": rows},
            ),
            200,
        )
        if summary["imported"] != len(rows):
            raise RuntimeError(f"demo seeding: {len(rows)} {category} values sent, got {summary}")
        total += len(rows)
    return total


def _find(api: Api, department_id: str, **filters: str) -> list[dict[str, Any]]:
    params = {"department_id": department_id, "limit": 100, **filters}
    items = _ok(api.get("/indicator/v1/measurements", params=params), 200)["items"]
    return sorted(items, key=lambda item: item["indicator_code"])


def _workflow(api: Api, ids: Mapping[str, str]) -> int:
    """Verify some January values, return one and flag one; how many were verified."""
    verified = 0
    for department in VERIFIED_IN_JANUARY:
        for item in _find(api, ids[department], period=f"{YEAR}01"):
            _ok(api.post(f"/indicator/v1/measurements/{item['id']}/verify"), 200)
            verified += 1
    for (department, indicator, period, reason), action in (
        (RETURNED, "return"),
        (FLAGGED, "flag"),
    ):
        (item,) = _find(api, ids[department], indicator=indicator, period=period)
        _ok(api.post(f"/indicator/v1/measurements/{item['id']}/{action}", json={"reason": reason}))
    return verified


def _cycle_plan_feedback(api: Api) -> None:
    cycle = _ok(
        api.post(
            "/evaluation/v1/cycles",
            json={
                "jurisdiction_code": JURISDICTION,
                "code": f"{YEAR}-annual",
                "name": f"{YEAR}年度黑河市政府绩效综合考评",
                "period": str(YEAR),
                "category": CATEGORIES[0],
            },
        )
    )
    _ok(
        api.post(
            f"/evaluation/v1/cycles/{cycle['id']}/groups",
            json={"kind": "objective", "code": "objective", "name": "目标考核", "weight": 100},
        )
    )
    _ok(api.post(f"/evaluation/v1/cycles/{cycle['id']}/open"), 200)
    plan = _ok(
        api.post(
            "/disclosure/v1/publications",
            json={
                "jurisdiction_code": JURISDICTION,
                "kind": "plan",
                "title": f"{YEAR}年度黑河市政府绩效综合考评方案",
                "body": "考评由目标考核、领导考评和社会评价三部分组成，"
                "社会评价面向市民、企业和人大代表、政协委员开展。",
            },
        )
    )
    _ok(api.post(f"/disclosure/v1/publications/{plan['id']}/publish"), 200)
    for kind, department, text in [
        ("suggestion", "HH-BEB", "建议企业开办全程网办，减少跑腿次数。"),
        ("complaint", "HH-HRS", "社保窗口排队时间太长。"),
        ("praise", "HH-EDU", "学校课后服务做得很好。"),
    ]:
        _ok(
            api.post(
                "/feedback/v1/citizen-feedback",
                json={
                    "jurisdiction_code": JURISDICTION,
                    "kind": kind,
                    "department_code": department,
                    "text": text,
                },
            )
        )


def seed_city(api: Api, *, log: Log = print) -> None:
    """Seed the demo city through `api` (admin, rooted at `/api`); a second run adds nothing."""
    existing = _ok(
        api.get("/indicator/v1/departments", params={"jurisdiction": JURISDICTION, "limit": 200}),
        200,
    )
    if existing["items"]:
        log("== demo data already present; nothing seeded")
        return
    ids = _departments(api)
    log(f"== demo: {len(ids)} departments in {len(CATEGORIES)} categories")
    indicators = _systems(api, ids)
    log(f"== demo: {len(SYSTEMS)} indicator systems for {YEAR} published")
    measurements = _measurements(api)
    verified = _workflow(api, ids)
    log(f"== demo: {measurements} measurements imported, {verified} verified")
    _cycle_plan_feedback(api)
    log(
        f"== demo city seeded: {len(ids)} departments, {len(SYSTEMS)} published indicator "
        f"systems ({indicators} indicators), {measurements} measurements ({verified} verified, "
        "1 returned, 1 flagged), 1 open cycle, 1 published plan, 3 citizen feedback items "
        f"(jurisdiction {JURISDICTION}, Heihe)"
    )


def seed(gateway_url: str, *, log: Log = print) -> None:
    """Create the demo city through the gateway; running it twice adds nothing twice."""
    settings = ComponentSettings()
    token = mint_token(
        settings.jwt_secret.get_secret_value(),
        role="admin",
        subject="demo-seed",
        jurisdictions=[JURISDICTION],
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
    )
    headers = {"authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"{gateway_url}/api", headers=headers, timeout=60) as api:
        seed_city(api, log=log)


def fake_ids() -> dict[str, str]:
    """Stand-in department ids (for checking the systems without a server)."""
    return {code: str(uuid.uuid5(uuid.NAMESPACE_URL, code)) for code, *_ in DEPARTMENTS}

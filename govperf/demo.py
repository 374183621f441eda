"""Demo data of a Heihe-like city, written through the public API like any client would.

The tables are in `govperf.demo_data`; this module sends them: departments, one published
2026 indicator system per category, a year of measurements (some verified, one returned,
one flagged), and a whole evaluation round: an annual cycle per category with every kind of
evaluator group, named evaluators' scorecards, thousands of citizen ratings from an app,
scored (preliminary; one cycle finalized); then a published plan and some citizen feedback;
then the feedback loop: the finalized cycle's feedback reports (from its results events),
rectification tasks in every state, and one upheld appeal on a preliminary cycle with the
revision it brings.
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

import httpx

from govperf.demo_data import (
    APPEAL_DAYS,
    CALL_BACK,
    CATEGORIES,
    COMMENTS,
    CYCLE_NAMES,
    DEPARTMENTS,
    EVALUATORS,
    EXCELLENT_QUOTA,
    FINALIZED_CATEGORY,
    GRADE_BANDS,
    GROUPS,
    JURISDICTION,
    PER_DEPARTMENT,
    QUESTIONNAIRE,
    SOURCE_SYSTEM,
    SYSTEMS,
    TENDENCIES,
    VISIBILITY,
    YEAR,
)
from services.common.auth import mint_token
from services.common.settings import ComponentSettings

Log = Callable[[str], None]


class Mint(Protocol):
    """(role, subject) → a bearer token; a department's token names its department."""

    def __call__(self, role: str, subject: str, department_id: str | None = None) -> str: ...


SEED = 231100
RATINGS = 6000  # citizen ratings seeded by default
BATCH = 500  # ratings per request, the most the intake takes
CONCURRENCY = 4  # requests in flight while verifying values and filling scorecards
CITIZEN_APP = "app:heihe-citizens"  # the citizen app's token subject
BURST = 30  # responses from one device within seconds (the burst check allows 20)
BURST_DEPARTMENT = "HH-UMB"
STRAIGHT_LINERS = 0.03  # share of respondents who give one answer to every item
DONT_KNOW = 0.04  # chance of "don't know" on an item (a scorecard dimension)
COMMENTING = 0.12  # share of responses with a comment
MEDIAN_SECONDS = 75.0  # time to answer the six items
CITY_MEAN = 3.85  # the mean answer, 1–5
SCORECARD_MEAN = 86.0
# Dimensions evaluators of a group are often unsure about (3× the "don't know"s).
UNSURE_DIMENSIONS = {("enterprises", "integrity"), ("leadership", "innovation")}
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
    def put(self, url: str, **kwargs: Any) -> httpx.Response: ...


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


def _systems(api: Api, ids: Mapping[str, str]) -> tuple[dict[str, str], int]:
    """Create and publish each category's system: their ids by category, and how many leaf
    indicators they hold."""
    systems = {}
    for category in CATEGORIES:
        created = _ok(api.post("/indicator/v1/indicator-systems", json=system_body(category, ids)))
        _ok(api.post(f"/indicator/v1/indicator-systems/{created['id']}/publish"), 200)
        systems[category] = created["id"]
    return systems, sum(len(leaves(tree)) for _, _, tree in SYSTEMS.values())


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


# --- the evaluation: what citizens and evaluators answer ----------------------------------


@cache
def tendencies() -> dict[str, float]:
    """How citizens and evaluators see each department, around the city's mean (1–5 scale)."""
    rng = random.Random(f"{SEED}:tendencies")
    drawn = {code: round(rng.gauss(0, 0.25), 2) for code, *_ in DEPARTMENTS}
    return {**drawn, **TENDENCIES}


def _response_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _comment(rng: random.Random, answers: Mapping[str, int | None]) -> str:
    given = [a for a in answers.values() if a is not None]
    mean = sum(given) / len(given)
    mood = "good" if mean >= 4 else "poor" if mean <= 2.5 else "fair"
    text = rng.choice(COMMENTS[mood])
    if mood != "good" and rng.random() < 0.25:  # scrubbed before it is stored
        text = text.rstrip("。") + CALL_BACK + f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
    return text


def citizen_ratings(
    count: int,
    cycles: Mapping[str, str],
    ids: Mapping[str, str],
    questionnaire_id: str,
) -> list[dict[str, Any]]:
    """`count` questionnaire responses about the departments of `cycles` (category → cycle
    id), as a citizen app sends them; the same every time.

    Citizens rate one to three departments each, the departments they meet more often more;
    answers follow each department's tendency, with some "don't know"s, realistic durations
    and a few comments (some with a phone number). For the quality checks to find: a few
    straight-liners (most of them also far too fast) and one device that sends `BURST`
    fast, all-top-marks responses about one department within seconds."""
    rng = random.Random(f"{SEED}:ratings")
    rated = [(code, category) for code, _, _, category, _ in DEPARTMENTS if category in cycles]
    weights = [VISIBILITY[category] for _, category in rated]
    tendency = tendencies()
    items = [(item["code"], item["dimension"]) for item in QUESTIONNAIRE["items"]]
    dimensions = [d["code"] for d in QUESTIONNAIRE["dimensions"]]
    facet = {(code, d): rng.gauss(0, 0.2) for code, _ in rated for d in dimensions}

    def body(code: str, category: str, respondent: dict[str, str]) -> dict[str, Any]:
        return {
            "response_id": _response_id(rng),
            "cycle_id": cycles[category],
            "department_id": ids[code],
            "questionnaire_id": questionnaire_id,
            "respondent": respondent,
        }

    burst_code, burst_category = next(((c, k) for c, k in rated if c == BURST_DEPARTMENT), rated[0])
    burst = []  # top marks for one department, clicked through, phone after phone
    for n in range(min(BURST, count)):
        rating = body(burst_code, burst_category, {"kind": "phone", "token": f"demo-bp-{n:04d}"})
        rating["device_token"] = "demo-burst-device-0001"
        rating["answers"] = {code: 5 for code, _ in items}
        rating["duration_seconds"] = round(rng.uniform(9, 24), 1)
        burst.append(rating)

    ratings: list[dict[str, Any]] = []
    respondent_no = 0
    while len(ratings) < count - len(burst):
        respondent_no += 1
        if rng.random() < 0.3:
            respondent = {"kind": "phone", "token": f"demo-phone-{respondent_no:05d}"}
            device: str | None = f"demo-device-{respondent_no:05d}"
        else:
            respondent = {"kind": "device", "token": f"demo-device-{respondent_no:05d}"}
            device = None
        leniency = rng.gauss(0, 0.45)
        straight = rng.random() < STRAIGHT_LINERS
        chosen: set[int] = set()
        for _ in range(rng.choices((1, 2, 3), weights=(60, 30, 10))[0]):
            chosen.add(rng.choices(range(len(rated)), weights=weights)[0])
        for index in sorted(chosen):
            if len(ratings) >= count - len(burst):
                break
            code, category = rated[index]
            latent = CITY_MEAN + tendency[code] + leniency
            if straight:
                value = min(5, max(1, round(latent)))
                answers: dict[str, int | None] = {item: value for item, _ in items}
            else:
                answers = {}
                for item, dimension in items:
                    unsure = DONT_KNOW * (3 if category == "economic" else 1)
                    if rng.random() < unsure:
                        answers[item] = None
                    else:
                        x = latent + facet[(code, dimension)] + rng.gauss(0, 0.6)
                        answers[item] = min(5, max(1, round(x)))
                if all(a is None for a in answers.values()):
                    answers[items[0][0]] = 3
            rating = body(code, category, respondent)
            if device is not None:
                rating["device_token"] = device
            rating["answers"] = answers
            seconds = math.exp(rng.gauss(math.log(MEDIAN_SECONDS), 0.3))
            if rng.random() < COMMENTING:
                rating["comment"] = _comment(rng, answers)
                seconds += rng.uniform(20, 60)
            if straight and rng.random() < 0.7:
                seconds = rng.uniform(8, 22)  # clicked through
            rating["duration_seconds"] = round(seconds, 1)
            ratings.append(rating)
    middle = len(ratings) // 2
    return ratings[:middle] + burst + ratings[middle:]


def assignments(
    cycles: Mapping[str, Mapping[str, str]], ids: Mapping[str, str]
) -> dict[str, list[dict[str, Any]]]:
    """The assignments of each cycle (category → {group code: group id}): every leader rates
    every department; `PER_DEPARTMENT` evaluators of each other group rate each, in turn."""
    turn = dict.fromkeys(EVALUATORS, 0)
    result: dict[str, list[dict[str, Any]]] = {}
    for category, groups in cycles.items():
        items = []
        for code, _, _, department_category, _ in DEPARTMENTS:
            if department_category != category:
                continue
            for group, evaluators in EVALUATORS.items():
                chosen = evaluators
                if group != "leadership":
                    chosen = [
                        evaluators[(turn[group] + k) % len(evaluators)]
                        for k in range(PER_DEPARTMENT)
                    ]
                    turn[group] += PER_DEPARTMENT
                items += [
                    {
                        "group_id": groups[group],
                        "evaluator_subject": subject,
                        "evaluator_name": name,
                        "department_id": ids[code],
                    }
                    for subject, name in chosen
                ]
        result[category] = items
    return result


def scorecard(subject: str, department: str, group: Mapping[str, Any]) -> dict[str, Any]:
    """What one evaluator gives one department on the group's dimensions (null: don't know)."""
    leniency = random.Random(f"{SEED}:{subject}").gauss(0, 2.5)
    rng = random.Random(f"{SEED}:{subject}:{department}:{group['code']}")
    level = SCORECARD_MEAN + 9 * tendencies()[department] + leniency
    scores: dict[str, float | None] = {}
    for dim in group["dimensions"]:
        unsure = DONT_KNOW * (3 if (group["code"], dim["code"]) in UNSURE_DIMENSIONS else 1)
        if rng.random() < unsure:
            scores[dim["code"]] = None
        else:
            scores[dim["code"]] = float(round(min(100, max(55, level + rng.gauss(0, 3.5)))))
    if all(v is None for v in scores.values()):
        scores[group["dimensions"][0]["code"]] = float(round(min(100, max(55, level))))
    return {"scores": scores}


# --- the evaluation: sending it -----------------------------------------------------------


@dataclass(frozen=True)
class OpenCycle:
    id: str
    category: str
    groups: dict[str, dict[str, Any]]  # by code


@dataclass(frozen=True)
class Scored:
    status: str
    results: int
    excluded: int


def _bearer(mint: Mint, role: str, subject: str) -> dict[str, str]:
    return {"authorization": f"Bearer {mint(role, subject)}"}


def _questionnaire(api: Api) -> str:
    body = {"jurisdiction_code": JURISDICTION, **QUESTIONNAIRE}
    created = _ok(api.post("/evaluation/v1/questionnaires", json=body), 201)
    _ok(api.post(f"/evaluation/v1/questionnaires/{created['id']}/publish"), 200)
    return str(created["id"])


def _cycles(api: Api, systems: Mapping[str, str], questionnaire: str) -> list[OpenCycle]:
    """One annual cycle per category, bound to its published system, with every kind of
    evaluator group, opened."""
    opened = []
    for category in CATEGORIES:
        cycle = _ok(
            api.post(
                "/evaluation/v1/cycles",
                json={
                    "jurisdiction_code": JURISDICTION,
                    "code": f"{YEAR}-{category}",
                    "name": CYCLE_NAMES[category],
                    "period": str(YEAR),
                    "category": category,
                    "system_id": systems[category],
                    "appeal_days": 0 if category == FINALIZED_CATEGORY else APPEAL_DAYS,
                    "rules": {
                        "bands": GRADE_BANDS,
                        "quotas": {"excellent": EXCELLENT_QUOTA[category]},
                        # Every demo response reaches evaluation from the gateway's one
                        # address, so a per-network limit would flag them all.
                        "burst_max_per_network": 1_000_000,
                    },
                },
            ),
            201,
        )
        groups = {}
        for group in GROUPS:
            body = dict(group)
            if group["kind"] == "citizen":
                body["questionnaire_id"] = questionnaire
            groups[group["code"]] = _ok(
                api.post(f"/evaluation/v1/cycles/{cycle['id']}/groups", json=body), 201
            )
        _ok(api.post(f"/evaluation/v1/cycles/{cycle['id']}/open"), 200)
        opened.append(OpenCycle(id=cycle["id"], category=category, groups=groups))
    return opened


def _pages(
    api: Api, url: str, params: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> Iterator[dict[str, Any]]:
    """Every item of a paginated list."""
    query = {**params, "limit": 200}
    while True:
        page = _ok(api.get(url, params=query, headers=dict(headers or {})), 200)
        yield from page["items"]
        if not page.get("next_cursor"):
            return
        query["cursor"] = page["next_cursor"]


def _concurrently(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls a few at a time (the services work on several requests at once)."""
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        return list(pool.map(lambda call: call(), calls))


def _verify_for_cycles(api: Api) -> int:
    """Verify each department's latest value of every reported leaf (an annual cycle scores
    the latest verified period of its year); how many were verified."""
    wanted = [
        item["id"]
        for period in (f"{YEAR}12", f"{YEAR}Q4", str(YEAR))
        for item in _pages(
            api,
            "/indicator/v1/measurements",
            {"jurisdiction": JURISDICTION, "period": period, "status": "submitted"},
        )
        if not item["flagged"]  # the office looks into a flagged value before verifying it
    ]
    _concurrently(
        [
            lambda id_=id_: _ok(api.post(f"/indicator/v1/measurements/{id_}/verify"), 200)
            for id_ in wanted
        ]
    )
    return len(wanted)


def _evaluator_count() -> int:
    return sum(len(evaluators) for evaluators in EVALUATORS.values())


def _scorecards(api: Api, mint: Mint, cycles: list[OpenCycle], ids: Mapping[str, str]) -> int:
    """Assign the named evaluators; each then lists its own assignments and fills them."""
    wanted = assignments(
        {c.category: {code: g["id"] for code, g in c.groups.items()} for c in cycles}, ids
    )
    for cycle in cycles:
        _ok(
            api.post(
                f"/evaluation/v1/cycles/{cycle.id}/assignments/batch",
                json={"assignments": wanted[cycle.category]},
            ),
            201,
        )
    groups = {g["id"]: g for c in cycles for g in c.groups.values()}
    codes = {department_id: code for code, department_id in ids.items()}
    calls = []
    for evaluators in EVALUATORS.values():
        for subject, _ in evaluators:
            headers = _bearer(mint, "evaluator", subject)
            for assignment in _pages(api, "/evaluation/v1/my/assignments", {}, headers):
                if assignment["scorecard_submitted"]:
                    continue
                url = f"/evaluation/v1/assignments/{assignment['id']}/scorecard"
                body = scorecard(
                    subject, codes[assignment["department_id"]], groups[assignment["group_id"]]
                )
                calls.append(
                    lambda url=url, body=body, headers=headers: _ok(
                        api.put(url, json=body, headers=headers), 200
                    )
                )
    return len(_concurrently(calls))


def _ratings(
    api: Api,
    mint: Mint,
    cycles: list[OpenCycle],
    ids: Mapping[str, str],
    questionnaire: str,
    count: int,
) -> int:
    """The citizen app's responses, in batches; every one must be accepted."""
    bodies = citizen_ratings(count, {c.category: c.id for c in cycles}, ids, questionnaire)
    headers = _bearer(mint, "citizen_app", CITIZEN_APP)
    accepted = 0
    for start in range(0, len(bodies), BATCH):
        batch = bodies[start : start + BATCH]
        answer = _ok(
            api.post("/evaluation/v1/ratings/batch", json={"ratings": batch}, headers=headers),
            200,
        )
        if answer["accepted"] != len(batch):
            refused = [r for r in answer["results"] if r["status"] != "accepted"][:5]
            raise RuntimeError(f"demo seeding: ratings not accepted: {refused}")
        accepted += answer["accepted"]
    return accepted


def _score(api: Api, cycles: list[OpenCycle]) -> list[Scored]:
    """Close and score every cycle (preliminary, appeal window open); finalize the one
    without an appeal window."""
    scored = []
    for cycle in cycles:
        url = f"/evaluation/v1/cycles/{cycle.id}"
        _ok(api.post(f"{url}/close"), 200)
        status = _ok(api.post(f"{url}/score"), 200)["status"]
        if cycle.category == FINALIZED_CATEGORY:
            status = _ok(api.post(f"{url}/finalize"), 200)["status"]
        results = _ok(api.get(f"{url}/results"), 200)["results"]
        summary = _ok(api.get(f"{url}/ratings/summary"), 200)
        scored.append(Scored(status=status, results=len(results), excluded=summary["excluded"]))
    return scored


def _plan_and_feedback(api: Api) -> dict[str, Any]:
    """The published plan and three citizen feedback items; the complaint's receipt (with
    the citizen's token)."""
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
    receipts = {}
    for kind, department, text in [
        ("suggestion", "HH-BEB", "建议企业开办全程网办，减少跑腿次数。"),
        ("complaint", "HH-HRS", "社保窗口排队时间太长。"),
        ("praise", "HH-EDU", "学校课后服务做得很好。"),
    ]:
        receipts[kind] = _ok(
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
    return receipts["complaint"]


# (status to reach, the steps there: (to_status, by the department?, reason)); the tasks of
# the finalized cycle are moved along so that every state shows.
TASK_STATES: tuple[tuple[str, tuple[tuple[str, bool, str], ...]], ...] = (
    ("open", ()),
    ("planned", ()),
    ("in_progress", (("in_progress", True, "开始整改"),)),
    ("submitted", (("in_progress", True, "开始整改"), ("submitted", True, "整改完成，提交核查"))),
    (
        "verified",
        (
            ("in_progress", True, "开始整改"),
            ("submitted", True, "整改完成，提交核查"),
            ("verified", False, "经核查整改到位"),
        ),
    ),
    (
        "returned",
        (
            ("in_progress", True, "开始整改"),
            ("submitted", True, "整改完成，提交核查"),
            ("returned", False, "佐证材料不足，请补充整改前后对比数据"),
        ),
    ),
)
WAIT_SECONDS = 60.0  # for the services' events to arrive (results → feedback → evaluation)


def _until(check: Callable[[], Any], what: str) -> Any:
    """Poll `check` until it answers something truthy: events travel between the services."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise RuntimeError(f"demo seeding: {what} did not arrive in {WAIT_SECONDS:.0f} s")
        time.sleep(0.1)


def _department_headers(mint: Mint, department_id: str, code: str) -> dict[str, str]:
    return {"authorization": f"Bearer {mint('department', f'officer:{code}', department_id)}"}


def _reports(api: Api, cycle_id: str, expected: int) -> list[dict[str, Any]]:
    def written() -> list[dict[str, Any]]:
        params = {"cycle_id": cycle_id, "limit": 200}
        items = _ok(api.get("/feedback/v1/feedback-reports", params=params), 200)["items"]
        return items if len(items) >= expected else []

    return _until(written, "the finalized cycle's feedback reports")


def _tasks_in_every_state(api: Api, mint: Mint, reports: list[dict[str, Any]]) -> int:
    """One task per state, for the departments of the finalized cycle (lowest totals first),
    planned and answered by each department, verified or returned by the office."""
    reports = sorted(reports, key=lambda r: (r["total"], r["department_code"]))
    deadline = f"{YEAR + 1}-06-30"
    for (state, steps), report in zip(TASK_STATES, reports, strict=False):
        department = report["department_code"]
        officer = _department_headers(mint, report["department_id"], department)
        task = _ok(
            api.post(
                "/feedback/v1/rectification-tasks",
                json={
                    "jurisdiction_code": JURISDICTION,
                    "department_id": report["department_id"],
                    "department_code": department,
                    "cycle_id": report["cycle_id"],
                    "origin": "result",
                    "origin_ref": "total",
                    "title": f"{department} 综合考评得分整改",
                    "description": f"{YEAR}年度综合考评得分 {report['total']:g}，需制定整改方案。",
                    "deadline": deadline,
                },
            ),
            201,
        )
        url = f"/feedback/v1/rectification-tasks/{task['id']}"
        if state == "open":
            continue
        _ok(
            api.put(
                f"{url}/plan",
                json={"plan": "梳理薄弱指标，逐项明确责任人和完成时限，每月报送进展。"},
                headers=officer,
            ),
            200,
        )
        if steps:
            for title, weight, progress in (("查找问题原因", 1, 100), ("落实整改措施", 2, 50)):
                _ok(
                    api.post(
                        f"{url}/milestones",
                        json={"title": title, "weight": weight, "progress": progress},
                        headers=officer,
                    ),
                    201,
                )
        for to_status, by_department, reason in steps:
            if to_status == "submitted":
                _ok(
                    api.post(
                        f"{url}/evidence",
                        json={
                            "url": "https://www.heihe.gov.cn/zwgk/zgtz.html",
                            "description": "整改情况通报",
                        },
                        headers=officer,
                    ),
                    201,
                )
            who = {"headers": officer} if by_department else {}
            _ok(
                api.post(f"{url}/status", json={"to_status": to_status, "reason": reason}, **who),
                200,
            )
    return min(len(TASK_STATES), len(reports))


def _upheld_appeal(api: Api, mint: Mint, cycles: list[OpenCycle]) -> str:
    """The last-ranked department of a preliminary cycle appeals its weakest indicator; the
    office upholds it with 2 points; evaluation re-scores (a revised version)."""
    cycle = next(c for c in cycles if c.category != FINALIZED_CATEGORY)
    url = f"/evaluation/v1/cycles/{cycle.id}"
    results = _ok(api.get(f"{url}/results"), 200)["results"]
    last = max(results, key=lambda r: (r["rank"], r["department_id"]))
    weakest = last["weakest_indicators"]
    target_kind, target = ("indicator", weakest[0]["code"]) if weakest else ("group", "objective")
    listed = _ok(
        api.get("/indicator/v1/departments", params={"jurisdiction": JURISDICTION, "limit": 200}),
        200,
    )["items"]
    code = next(d["code"] for d in listed if d["id"] == last["department_id"])
    officer = _department_headers(mint, last["department_id"], code)
    body = {
        "cycle_id": cycle.id,
        "target_kind": target_kind,
        "target": target,
        "reason": "该指标第四季度数据漏报，已由统计部门出具核实说明。",
        "evidence": [
            {"url": "https://www.heihe.gov.cn/tjj/hssm.html", "description": "统计部门核实说明"}
        ],
    }

    def filed() -> Any:
        # 409 until results.preliminary has reached the feedback service.
        response = api.post("/feedback/v1/appeals", json=body, headers=officer)
        return response.json() if response.status_code == 201 else None

    appeal = _until(filed, "the preliminary results at the feedback service")
    _ok(
        api.post(
            f"/feedback/v1/appeals/{appeal['id']}/decision",
            json={
                "decision": "upheld",
                "adjustment_points": 2,
                "decision_text": "经复核，漏报数据属实，该指标加 2 分。",
            },
        ),
        200,
    )
    _until(
        lambda: _ok(api.get(url), 200)["result_version"] >= 2,
        "the re-score after the upheld appeal",
    )
    return code


def _answered_and_reopened(api: Api, complaint: dict[str, Any]) -> None:
    """The office answers the complaint; the citizen, with the token, says it is not
    resolved, which reopens it; the office makes it a rectification task."""
    url = f"/feedback/v1/citizen-feedback/{complaint['id']}"
    _ok(
        api.post(f"{url}/answer", json={"answer": "已增设两个社保服务窗口，推行预约办理。"}),
        200,
    )
    _ok(
        api.post(
            f"{url}/resolution",
            json={"resolved": False, "comment": "高峰时段仍需排队一小时以上。"},
            headers={"x-feedback-token": complaint["token"]},
        ),
        200,
    )
    _ok(api.post(f"{url}/task", json={"title": "社保窗口高峰时段排队整改"}), 200, 201)


def _feedback_loop(api: Api, mint: Mint, cycles: list[OpenCycle], complaint: dict[str, Any]) -> str:
    finalized = next(c for c in cycles if c.category == FINALIZED_CATEGORY)
    members = sum(1 for *_, category, _ in DEPARTMENTS if category == FINALIZED_CATEGORY)
    reports = _reports(api, finalized.id, members)
    tasks = _tasks_in_every_state(api, mint, reports)
    automatic = _ok(
        api.get(
            "/feedback/v1/rectification-tasks",
            params={"cycle_id": finalized.id, "limit": 200},
        ),
        200,
    )["items"]
    appellant = _upheld_appeal(api, mint, cycles)
    _answered_and_reopened(api, complaint)
    return (
        f"== demo: {len(reports)} feedback reports, {len(automatic)} rectification tasks of "
        f"the finalized cycle ({tasks} moved through every state), 1 appeal of {appellant} "
        "upheld and re-scored, 1 citizen complaint answered, reopened and made a task"
    )


def seed_city(api: Api, *, mint: Mint, log: Log = print, ratings: int = RATINGS) -> None:
    """Seed the demo city through `api` (admin, rooted at `/api`), with `ratings` citizen
    ratings; `mint(role, subject)` makes the evaluators' and the app's tokens. A second run
    adds nothing."""
    started = time.monotonic()
    existing = _ok(
        api.get("/indicator/v1/departments", params={"jurisdiction": JURISDICTION, "limit": 200}),
        200,
    )
    if existing["items"]:
        log("== demo data already present; nothing seeded")
        return
    ids = _departments(api)
    log(f"== demo: {len(ids)} departments in {len(CATEGORIES)} categories")
    systems, indicators = _systems(api, ids)
    log(f"== demo: {len(SYSTEMS)} indicator systems for {YEAR} published")
    measurements = _measurements(api)
    verified = _workflow(api, ids)
    log(f"== demo: {measurements} measurements imported, {verified} verified")
    questionnaire = _questionnaire(api)
    cycles = _cycles(api, systems, questionnaire)
    log(f"== demo: {len(cycles)} evaluation cycles opened, {len(GROUPS)} evaluator groups each")
    verified += _verify_for_cycles(api)
    log(f"== demo: {verified} measurements verified in all, every value the cycles score")
    scorecards = _scorecards(api, mint, cycles, ids)
    log(f"== demo: {scorecards} scorecards filled by {_evaluator_count()} named evaluators")
    accepted = _ratings(api, mint, cycles, ids, questionnaire, ratings)
    log(f"== demo: {accepted} citizen ratings accepted in batches of {BATCH}")
    scored = _score(api, cycles)
    complaint = _plan_and_feedback(api)
    log(_feedback_loop(api, mint, cycles, complaint))
    finalized = sum(s.status == "finalized" for s in scored)
    log(
        f"== demo city seeded: {len(ids)} departments, {len(SYSTEMS)} published indicator "
        f"systems ({indicators} indicators), {measurements} measurements ({verified} verified, "
        f"1 returned, 1 flagged), {len(scored)} evaluation cycles ({len(scored) - finalized} "
        f"preliminary, {finalized} finalized) with {sum(s.results for s in scored)} results, "
        f"{accepted} citizen ratings ({sum(s.excluded for s in scored)} excluded by the quality "
        f"checks), {scorecards} scorecards, 1 published plan, 3 citizen feedback items "
        f"(jurisdiction {JURISDICTION}, Heihe) in {time.monotonic() - started:.1f} s"
    )


def minter(settings: ComponentSettings) -> Mint:
    """Tokens signed as the platform's own (the way `govperf token` makes them)."""

    def mint(role: str, subject: str, department_id: str | None = None) -> str:
        return mint_token(
            settings.jwt_secret.get_secret_value(),
            role=role,
            subject=subject,
            jurisdictions=[JURISDICTION],
            department_id=department_id,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
        )

    return mint


def seed(gateway_url: str, *, log: Log = print) -> None:
    """Create the demo city through the gateway; running it twice adds nothing twice."""
    mint = minter(ComponentSettings())
    headers = {"authorization": f"Bearer {mint('admin', 'demo-seed')}"}
    with httpx.Client(base_url=f"{gateway_url}/api", headers=headers, timeout=120) as api:
        seed_city(api, mint=mint, log=log)


def fake_ids() -> dict[str, str]:
    """Stand-in department ids (for checking the systems without a server)."""
    return {code: str(uuid.uuid5(uuid.NAMESPACE_URL, code)) for code, *_ in DEPARTMENTS}

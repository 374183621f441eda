"""The records every route of the policy test is called with, and the principals calling.

Each city gets one record of every kind (two departments, A and B, so a department officer
can be tried on its own and on another department's data). Writes that use up their record
(delete, publish, verify ...) get a fresh one for every call that is expected to pass.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from govperf.components import SERVICES
from tests import factories
from tests.harness import Stack, auth

PORTAL_ORIGIN = "https://portal.test"
YEAR = 2026
CATEGORY = "economic"
PREFIX = {"231100": "HH", "230100": "HB"}


def tree() -> list[dict[str, Any]]:
    """One dimension, three leaves: quarterly, monthly (room for fresh values), annual."""
    return [
        {
            "code": "E",
            "name_zh": "经济发展",
            "weight": 100,
            "children": [
                factories.indicator_leaf("E.1", 50, frequency="quarterly"),
                factories.indicator_leaf("E.2", 30, frequency="monthly"),
                factories.indicator_leaf("E.3", 20, frequency="annual"),
            ],
        }
    ]


@dataclass
class City:
    """One jurisdiction's seeded records, and how to make more of them."""

    stack: Stack
    jurisdiction: str
    records: dict[str, Any] = field(default_factory=dict)
    per_service: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> service -> rec
    counters: dict[str, itertools.count] = field(default_factory=dict)

    @property
    def prefix(self) -> str:
        return PREFIX.get(self.jurisdiction, "XX")

    @property
    def department_a(self) -> dict[str, Any]:
        return self.records["department"]

    @property
    def department_b(self) -> dict[str, Any]:
        return self.records["department_b"]

    def record(self, key: str, component: str) -> dict[str, Any]:
        if key in self.per_service:
            return self.per_service[key][component]
        return self.records[key]

    def next(self, what: str) -> int:
        """1, 2, 3 ... for each kind of fresh record (codes, years, periods)."""
        return next(self.counters.setdefault(what, itertools.count(1)))

    def admin(self) -> dict[str, str]:
        return auth("admin", jurisdictions=(self.jurisdiction,))

    def portal(self) -> dict[str, str]:
        return auth("portal", jurisdictions=(self.jurisdiction,), subject=self.portal_subject)

    @property
    def portal_subject(self) -> str:
        return f"portal:{self.jurisdiction}"

    # --- principals -----------------------------------------------------------------

    def principals(self) -> list[Principal]:
        """Every kind of principal of this city; department-bound ones for A and for B."""
        j = (self.jurisdiction,)
        a, b = self.department_a["id"], self.department_b["id"]
        return [
            Principal("anonymous", "anonymous", {}),
            Principal("citizen_app", "citizen_app", auth("citizen_app", jurisdictions=j)),
            Principal(
                "officer_a",
                "department",
                auth("department", jurisdictions=j, department_id=a),
                bound="A",
            ),
            Principal(
                "officer_b",
                "department",
                auth("department", jurisdictions=j, department_id=b),
                bound="B",
            ),
            Principal(
                "integration_a",
                "integration",
                auth("integration", jurisdictions=j, department_id=a),
                bound="A",
            ),
            Principal(
                "integration_b",
                "integration",
                auth("integration", jurisdictions=j, department_id=b),
                bound="B",
            ),
            Principal("portal", "portal", self.portal()),
            Principal("evaluator", "evaluator", auth("evaluator", jurisdictions=j)),
            Principal("admin", "admin", self.admin()),
        ]

    # --- fresh records, for writes that use theirs up -----------------------------------

    async def fresh(self, key: str, component: str) -> dict[str, Any]:
        if key in FRESH_PER_SERVICE:
            return await FRESH_PER_SERVICE[key](self, component)
        return await FRESH[key](self)


@dataclass(frozen=True)
class Principal:
    name: str  # as reported: officer_a, integration_b ...
    kind: str  # the policy's principal kind
    headers: dict[str, str]
    bound: str | None = None  # department-bound principals: "A" (the records') or "B"


@dataclass
class Seed:
    stack: Stack
    cities: dict[str, City]


# --- seeding ------------------------------------------------------------------------------


async def _published_system(city: City, *, year: int, category: str) -> dict[str, Any]:
    return await factories.create_indicator_system(
        city.stack.client("indicator"),
        jurisdiction=city.jurisdiction,
        year=year,
        category=category,
        nodes=tree(),
        publish=True,
    )


async def _draft_system(city: City, *, year: int, category: str) -> dict[str, Any]:
    return await factories.create_indicator_system(
        city.stack.client("indicator"),
        jurisdiction=city.jurisdiction,
        year=year,
        category=category,
        nodes=tree(),
    )


async def _measurement(city: City, *, indicator: str, period: str) -> dict[str, Any]:
    return await factories.create_measurement(
        city.stack.client("indicator"),
        jurisdiction=city.jurisdiction,
        indicator=indicator,
        department=city.department_a["code"],
        period=period,
    )


async def _fresh_measurement(city: City) -> dict[str, Any]:
    month = city.next("month")
    assert month <= 12, "the seed ran out of fresh periods for values of department A"
    return await _measurement(city, indicator="E.2", period=f"{YEAR}{month:02d}")


async def _fresh_verified_measurement(city: City) -> dict[str, Any]:
    row = await _fresh_measurement(city)
    response = await city.stack.client("indicator").post(
        f"/v1/measurements/{row['id']}/verify", headers=city.admin()
    )
    assert response.status_code == 200, response.text
    return response.json()


async def _subscription(city: City, service: str) -> dict[str, Any]:
    return await factories.create_subscription(
        city.stack.client(service),
        jurisdiction=city.jurisdiction,
        url=f"{PORTAL_ORIGIN}/hooks/{city.jurisdiction}",
        name=f"portal of {city.jurisdiction} #{city.next('subscription ' + service)}",
        headers=city.portal(),
    )


async def _ready_cycle(city: City) -> dict[str, Any]:
    """A draft cycle that opens: one objective group of weight 100."""
    evaluation = city.stack.client("evaluation")
    cycle = await factories.create_cycle(
        evaluation, jurisdiction=city.jurisdiction, code=f"R{city.next('ready cycle')}"
    )
    await factories.create_group(evaluation, cycle["id"], jurisdiction=city.jurisdiction)
    return cycle


async def _open_cycle(city: City, code: str | None = None) -> dict[str, Any]:
    """An open cycle of department A and B's category: an objective (50), a citizen (30, on
    the published questionnaire) and an expert group (20, dimensions efficiency and
    integrity), which it keeps as its `groups`."""
    evaluation = city.stack.client("evaluation")
    j = city.jurisdiction
    cycle = await factories.create_cycle(
        evaluation, jurisdiction=j, code=code or f"O{city.next('open cycle')}", category=CATEGORY
    )
    groups = {
        "objective": await factories.create_group(
            evaluation, cycle["id"], jurisdiction=j, kind="objective", weight=50
        ),
        "citizen": await factories.create_group(
            evaluation,
            cycle["id"],
            jurisdiction=j,
            kind="citizen",
            weight=30,
            questionnaire_id=city.records["published_questionnaire"]["id"],
        ),
        "expert": await factories.create_group(
            evaluation, cycle["id"], jurisdiction=j, kind="expert", weight=20
        ),
    }
    return {**await factories.open_cycle(evaluation, cycle["id"], jurisdiction=j), "groups": groups}


async def _assignment(city: City, evaluator: str | None = None) -> dict[str, Any]:
    """Department A for an evaluator of the open cycle's expert group."""
    open_cycle = city.records["open_cycle"]
    return await factories.create_assignment(
        city.stack.client("evaluation"),
        open_cycle["id"],
        jurisdiction=city.jurisdiction,
        group_id=open_cycle["groups"]["expert"]["id"],
        department_id=city.department_a["id"],
        evaluator=evaluator or f"expert:fresh-{city.next('assignment')}",
    )


def rating_body(city: City) -> dict[str, Any]:
    """A new citizen response about department A in the open cycle, from a new device."""
    open_cycle = city.records["open_cycle"]
    return {
        "response_id": str(uuid.uuid4()),
        "cycle_id": open_cycle["id"],
        "department_id": city.department_a["id"],
        "questionnaire_id": open_cycle["groups"]["citizen"]["questionnaire_id"],
        "respondent": {"kind": "device", "token": f"device-{uuid.uuid4()}"},
        "answers": {"Q1": 4, "Q2": 5, "Q3": 3, "Q4": None},
    }


async def _rating(city: City) -> dict[str, Any]:
    """A response the citizen app sent to the open cycle (its `id` is the response_id)."""
    body = rating_body(city)
    response = await city.stack.client("evaluation").post(
        "/v1/ratings",
        json=body,
        headers=auth("citizen_app", jurisdictions=(city.jurisdiction,)),
    )
    assert response.status_code == 201, response.text
    return {"id": body["response_id"], **response.json()}


async def _snapshot_received(city: City, system_id: str) -> None:
    """Wait until the evaluation service has the published system (its event arrived)."""
    for _ in range(200):
        response = await city.stack.client("evaluation").get(
            f"/v1/indicator-systems/{system_id}", headers=city.admin()
        )
        if response.status_code == 200:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"evaluation never received indicator system {system_id}")


FRESH: dict[str, Callable[[City], Any]] = {
    "department": lambda city: factories.create_department(
        city.stack.client("indicator"),
        jurisdiction=city.jurisdiction,
        code=f"{city.prefix}-F{city.next('department')}",
        category=CATEGORY,
    ),
    "draft_system": lambda city: _draft_system(
        city, year=2040 + city.next("year"), category=CATEGORY
    ),
    "published_system": lambda city: _published_system(
        city, year=2040 + city.next("year"), category=CATEGORY
    ),
    "measurement": _fresh_measurement,
    "verified_measurement": _fresh_verified_measurement,
    "draft_publication": lambda city: factories.create_publication(
        city.stack.client("disclosure"), jurisdiction=city.jurisdiction, title="待发布"
    ),
    "published_publication": lambda city: factories.create_publication(
        city.stack.client("disclosure"), jurisdiction=city.jurisdiction, publish=True
    ),
    # Drafted by another admin than the one the policy test calls as: approvable by it.
    "others_draft_publication": lambda city: factories.draft_publication(
        city.stack.client("disclosure"), jurisdiction=city.jurisdiction, kind="notice"
    ),
    "api_client": lambda city: factories.create_api_client(
        city.stack.gateway, jurisdiction=city.jurisdiction, role="portal"
    ),
    "cycle": _ready_cycle,
    "open_cycle": _open_cycle,
    "group": lambda city: factories.create_group(
        city.stack.client("evaluation"),
        city.records["cycle"]["id"],
        jurisdiction=city.jurisdiction,
        kind="expert",
        code=f"G{city.next('group')}",
        weight=0,
    ),
    "assignment": _assignment,
    "draft_questionnaire": lambda city: factories.create_questionnaire(
        city.stack.client("evaluation"),
        jurisdiction=city.jurisdiction,
        code=f"draft-{city.next('draft questionnaire')}",
    ),
    "published_questionnaire": lambda city: factories.create_questionnaire(
        city.stack.client("evaluation"),
        jurisdiction=city.jurisdiction,
        code=f"published-{city.next('published questionnaire')}",
        publish=True,
    ),
}
FRESH_PER_SERVICE = {"subscription": _subscription}


async def _delivery(city: City, service: str, subscription: dict[str, Any]) -> dict[str, Any]:
    """A delivery of a test ping to the city's portal, listed right away (the outbox writes
    it with the event)."""
    client = city.stack.client(service)
    url = f"/v1/webhooks/subscriptions/{subscription['id']}"
    ping = await client.post(f"{url}/test", headers=city.admin())
    assert ping.status_code == 202, ping.text
    listed = await client.get(
        "/v1/webhooks/deliveries",
        params={"subscription_id": subscription["id"]},
        headers=city.admin(),
    )
    assert listed.status_code == 200, listed.text
    delivery = listed.json()["items"][0]
    return {**delivery, "id": delivery["seq"]}


def _names_city(city: City, aggregate: str) -> bool:
    ids = {str(r["id"]) for r in city.records.values()}
    return city.jurisdiction in aggregate or any(i in aggregate for i in ids)


async def _sibling_delivery(city: City, service: str) -> dict[str, Any] | None:
    """A delivery to a sibling service of an event about one of the city's records; None if
    the service sends nothing to its siblings."""
    client = city.stack.client(service)
    listed = await client.get(
        "/v1/webhooks/subscriptions", params={"limit": 200}, headers=city.admin()
    )
    assert listed.status_code == 200, listed.text
    siblings = {s["id"] for s in listed.json()["items"] if s["kind"] == "sibling"}
    if not siblings:
        return None
    params: dict[str, Any] = {"limit": 200}
    while True:
        page = await client.get("/v1/webhooks/deliveries", params=params, headers=city.admin())
        assert page.status_code == 200, page.text
        for delivery in page.json()["items"]:
            if delivery["subscription_id"] in siblings and _names_city(city, delivery["aggregate"]):
                return {**delivery, "id": delivery["seq"]}
        if not page.json()["next_cursor"]:
            raise AssertionError(
                f"{service} sent none of {city.jurisdiction}'s events to a sibling"
            )
        params["cursor"] = page.json()["next_cursor"]


async def _import_job(city: City, officer: dict[str, str]) -> dict[str, Any]:
    response = await city.stack.client("indicator").post(
        "/v1/measurements/import",
        params={"jurisdiction": city.jurisdiction, "async": "true"},
        json={
            "measurements": [
                {
                    "indicator": "E.3",
                    "department": city.department_a["code"],
                    "period": str(YEAR),
                    "value": 3,
                }
            ]
        },
        headers=officer,
    )
    assert response.status_code == 202, response.text
    return response.json()


async def seed_city(stack: Stack, jurisdiction: str) -> City:
    """One record of every kind in `jurisdiction`, through the public APIs."""
    city = City(stack=stack, jurisdiction=jurisdiction)
    indicator = stack.client("indicator")
    records = city.records
    for key, letter in (("department", "A"), ("department_b", "B")):
        records[key] = await factories.create_department(
            indicator, jurisdiction=jurisdiction, code=f"{city.prefix}-{letter}", category=CATEGORY
        )
    records["published_system"] = await _published_system(city, year=YEAR, category=CATEGORY)
    records["draft_system"] = await _draft_system(city, year=YEAR, category="social_services")
    records["measurement"] = await _measurement(city, indicator="E.1", period=f"{YEAR}Q1")
    records["verified_measurement"] = await _fresh_verified_measurement(city)
    officer = auth(
        "department", jurisdictions=(jurisdiction,), department_id=city.department_a["id"]
    )
    records["import_job"] = await _import_job(city, officer)
    evaluation = stack.client("evaluation")
    records["cycle"] = await factories.create_cycle(evaluation, jurisdiction=jurisdiction)
    records["group"] = await factories.create_group(
        evaluation, records["cycle"]["id"], jurisdiction=jurisdiction, kind="expert"
    )
    records["draft_questionnaire"] = await factories.create_questionnaire(
        evaluation, jurisdiction=jurisdiction, code="draft"
    )
    records["published_questionnaire"] = await factories.create_questionnaire(
        evaluation, jurisdiction=jurisdiction, code="satisfaction", publish=True
    )
    await _snapshot_received(city, records["published_system"]["id"])
    records["open_cycle"] = await _open_cycle(city, code="open")
    # The evaluator principal's own assignment (subject evaluator:dev), its scorecard filled.
    records["assignment"] = await _assignment(city, evaluator="evaluator:dev")
    records["rating"] = await _rating(city)
    scored = await evaluation.put(
        f"/v1/assignments/{records['assignment']['id']}/scorecard",
        json={"scores": {"efficiency": 80, "integrity": 90}},
        headers=auth("evaluator", jurisdictions=(jurisdiction,)),
    )
    assert scored.status_code == 200, scored.text
    disclosure = stack.client("disclosure")
    records["draft_publication"] = await factories.create_publication(
        disclosure, jurisdiction=jurisdiction
    )
    records["published_publication"] = await factories.create_publication(
        disclosure, jurisdiction=jurisdiction, publish=True
    )
    records["others_draft_publication"] = await factories.draft_publication(
        disclosure, jurisdiction=jurisdiction, kind="notice"
    )
    records["feedback"] = await factories.submit_department_feedback(
        stack.client("feedback"), jurisdiction=jurisdiction, department=records["department"]
    )
    records["feedback_cycle"] = await factories.deliver_finalized_results(
        stack,
        jurisdiction=jurisdiction,
        departments=[records["department"], records["department_b"]],
    )
    records["results_use"] = await factories.record_results_use(
        stack.client("feedback"),
        jurisdiction=jurisdiction,
        cycle_id=records["feedback_cycle"]["id"],
        department_id=records["department"]["id"],
    )
    await seed_feedback_records(city)
    records["api_client"] = await factories.create_api_client(
        stack.gateway, jurisdiction=jurisdiction, role="portal"
    )
    records["api_key"] = records["api_client"]["keys"][0]
    spare = await stack.gateway.post(
        f"/v1/api-clients/{records['api_client']['id']}/keys",
        headers=auth("admin", jurisdictions=(jurisdiction,)),
    )
    assert spare.status_code == 201, spare.text
    records["spare_api_key"] = spare.json()
    city.per_service = {"subscription": {}, "delivery": {}, "sibling_delivery": {}}
    for service in SERVICES:
        subscription = await _subscription(city, service)
        city.per_service["subscription"][service] = subscription
        city.per_service["delivery"][service] = await _delivery(city, service, subscription)
        sibling_delivery = await _sibling_delivery(city, service)
        if sibling_delivery is not None:
            city.per_service["sibling_delivery"][service] = sibling_delivery
    # Not a record: the number of a published publication's first version, for paths.
    city.per_service["first_version"] = {"disclosure": {"id": 1}}
    return city


# --- feedback: reports, rectification tasks, appeals ---------------------------------------


async def _appeal(city: City, target: str) -> dict[str, Any]:
    """Department A's appeal against one indicator of the preliminary appeal cycle."""
    response = await city.stack.client("feedback").post(
        "/v1/appeals",
        json={
            "cycle_id": city.records["appeal_cycle"]["id"],
            "target_kind": "indicator",
            "target": target,
            "reason": "数据漏报",
        },
        headers=auth(
            "department", jurisdictions=(city.jurisdiction,), department_id=city.department_a["id"]
        ),
    )
    assert response.status_code == 201, response.text
    return response.json()


async def seed_feedback_records(city: City) -> None:
    """A feedback report of department A (from a finalized result), a task of A with a
    milestone, a preliminary result with its appeal window open, one decided (public) and
    one filed appeal of A."""
    from tests.feedback.results import deliver, department_result, results_data

    stack, records = city.stack, city.records
    a, b = city.department_a, city.department_b
    feedback = stack.client("feedback")
    # A cycle scored to preliminary: evaluation sends its results to feedback (a sibling).
    evaluation = stack.client("evaluation")
    scored = records["scored_cycle"] = await _ready_cycle(city)
    await factories.open_cycle(evaluation, scored["id"], jurisdiction=city.jurisdiction)
    for step in ("close", "score"):
        response = await evaluation.post(f"/v1/cycles/{scored['id']}/{step}", headers=city.admin())
        assert response.status_code == 200, response.text
    results = [
        department_result(a["id"], a["code"], total=55.0, indicators=(("E.1", 0.4),)),
        department_result(b["id"], b["code"], total=80.0, rank=2),
    ]
    final = str(uuid.uuid4())
    await deliver(
        stack,
        "results.finalized",
        results_data(
            final, results, jurisdiction=city.jurisdiction, category=CATEGORY, period="2025"
        ),
    )
    listed = await feedback.get(
        "/v1/feedback-reports",
        params={"cycle_id": final, "department_id": a["id"]},
        headers=city.admin(),
    )
    assert listed.status_code == 200, listed.text
    records["feedback_report"] = listed.json()["items"][0]
    created = await feedback.post(
        "/v1/rectification-tasks",
        json={
            "jurisdiction_code": city.jurisdiction,
            "department_id": a["id"],
            "department_code": a["code"],
            "title": "办事窗口整改",
            "deadline": f"{YEAR + 1}-06-30",
        },
        headers=city.admin(),
    )
    assert created.status_code == 201, created.text
    records["rectification_task"] = created.json()
    officer = auth("department", jurisdictions=(city.jurisdiction,), department_id=a["id"])
    with_milestone = await feedback.post(
        f"/v1/rectification-tasks/{created.json()['id']}/milestones",
        json={"title": "排查原因"},
        headers=officer,
    )
    assert with_milestone.status_code == 201, with_milestone.text
    records["milestone"] = with_milestone.json()["milestones"][0]
    appeal_cycle = str(uuid.uuid4())
    await deliver(
        stack,
        "results.preliminary",
        results_data(
            appeal_cycle,
            results,
            status="preliminary",
            jurisdiction=city.jurisdiction,
            category=CATEGORY,
        ),
    )
    records["appeal_cycle"] = {"id": appeal_cycle}
    decided = await _appeal(city, "E.1")
    response = await feedback.post(
        f"/v1/appeals/{decided['id']}/decision",
        json={"decision": "dismissed", "decision_text": "证据不足"},
        headers=city.admin(),
    )
    assert response.status_code == 200, response.text
    records["appeal"] = response.json()
    records["filed_appeal"] = await _appeal(city, "E.2")


FRESH["appeal"] = lambda city: _appeal(city, f"F{city.next('fresh appeal')}")

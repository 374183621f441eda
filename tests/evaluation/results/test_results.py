"""Scoring a cycle, its result versions, who sees them, finalizing and appeals that revise."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook

from services.common.events.subscriptions import inbox_secret
from tests import factories
from tests.evaluation.ratings.conftest import app_headers, publish_questionnaire
from tests.harness import HEIHE, Stack, auth, delivered

CATEGORY = "social_services"


@dataclass
class Scored:
    stack: Stack
    cycle: dict[str, Any]
    departments: list[str]

    @property
    def url(self) -> str:
        return f"/v1/cycles/{self.cycle['id']}"

    @property
    def client(self) -> Any:
        return self.stack.client("evaluation")


async def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def scored_cycle(
    stack: Stack,
    *,
    appeal_days: int = 0,
    score: bool = True,
    rules: dict[str, Any] | None = None,
    answers_of_a: tuple[int | dict[str, int | None], ...] = (5, 5, 5, 5),
    strata_of_a: tuple[str | None, ...] = (None, None, None, None),
) -> Scored:
    """Two departments (A reports 100 of a target of 100, B 60), objective 60 % and
    citizens 40 % (A rated 5 of 5 by four citizens, B 3 of 5), closed and scored."""
    indicator, evaluation = stack.client("indicator"), stack.client("evaluation")
    departments = [
        (await factories.create_department(indicator, code=code, category=CATEGORY))["id"]
        for code in ("A", "B")
    ]
    system = await factories.create_indicator_system(
        indicator,
        category=CATEGORY,
        nodes=[factories.indicator_leaf("S1", 100, frequency="annual", target=100)],
        publish=True,
    )
    for code, value in (("A", 100), ("B", 60)):
        measurement = await factories.create_measurement(
            indicator, indicator="S1", department=code, period="2026", value=value
        )
        await _ok(
            await indicator.post(f"/v1/measurements/{measurement['id']}/verify", headers=auth())
        )
    # The values' events reach the evaluation service before the cycle exists, as the tests
    # of staleness below assume.
    await delivered(stack, "indicator")
    questionnaire = await publish_questionnaire(evaluation)
    cycle = await _ok(
        await evaluation.post(
            "/v1/cycles",
            json={
                "jurisdiction_code": HEIHE,
                "code": "2026-social",
                "name": "2026 年度考评",
                "period": "2026",
                "category": CATEGORY,
                "system_id": system["id"],
                "appeal_days": appeal_days,
                "rules": rules or {},
            },
            headers=auth(),
        ),
        201,
    )
    url = f"/v1/cycles/{cycle['id']}"
    for group in (
        {"kind": "objective", "code": "objective", "name": "目标考核", "weight": 60},
        {
            "kind": "citizen",
            "code": "citizens",
            "name": "社会评价",
            "weight": 40,
            "questionnaire_id": questionnaire["id"],
        },
    ):
        await _ok(await evaluation.post(f"{url}/groups", json=group, headers=auth()), 201)
    await _ok(await evaluation.post(f"{url}/open", headers=auth()))
    ratings = [
        {
            "response_id": str(uuid.uuid4()),
            "cycle_id": cycle["id"],
            "department_id": department,
            "questionnaire_id": questionnaire["id"],
            "respondent": {"kind": "device", "token": f"device-token-{n}"},
            "answers": answer
            if isinstance(answer, dict)
            else {"Q1": answer, "Q2": answer, "Q4": answer},
            "stratum": stratum,
        }
        for n in range(4)
        for department, answer, stratum in (
            (departments[0], answers_of_a[n], strata_of_a[n]),
            (departments[1], 3, None),
        )
    ]
    batch = await _ok(
        await evaluation.post("/v1/ratings/batch", json={"ratings": ratings}, headers=app_headers())
    )
    assert batch["accepted"] == 8
    await _ok(await evaluation.post(f"{url}/close", headers=auth()))
    if score:
        cycle = await _ok(await evaluation.post(f"{url}/score", headers=auth()))
    return Scored(stack=stack, cycle=cycle, departments=departments)


async def _totals(scored: Scored, **params: Any) -> dict[str, float]:
    body = await _ok(
        await scored.client.get(f"{scored.url}/results", params=params, headers=auth())
    )
    return {r["department_id"]: r["total"] for r in body["results"]}


async def _deliver(stack: Stack, event_type: str, data: dict[str, Any], webhook_id: str) -> None:
    """A sibling's signed webhook, as the feedback service would send it."""
    secret = inbox_secret(stack.apps["evaluation"].state.settings, "evaluation")
    body = json.dumps(
        {"type": event_type, "timestamp": datetime.now(UTC).isoformat(), "data": data}
    )
    now = datetime.now(UTC)
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, now, body),
        "content-type": "application/json",
    }
    response = await stack.client("evaluation").post(
        "/v1/webhooks/inbox", content=body, headers=headers
    )
    assert response.status_code == 200, response.text


def _appeal(scored: Scored, *, appeal_id: str, decision: str = "upheld", points: float = 5) -> dict:
    return {
        "appeal_id": appeal_id,
        "jurisdiction_code": HEIHE,
        "cycle_id": scored.cycle["id"],
        "department_id": scored.departments[1],
        "decision": decision,
        "adjustment": {"target_kind": "indicator", "target": "S1", "points": points},
        "decision_text": "统计口径有误，予以更正",
    }


class TestScoring:
    async def test_a_scored_cycle_is_preliminary_with_totals_ranks_and_grades(
        self, stack: Stack
    ) -> None:
        scored = await scored_cycle(stack, appeal_days=7)
        assert scored.cycle["status"] == "preliminary"
        assert scored.cycle["appeal_window_ends_at"]
        a, b = scored.departments
        body = await _ok(await scored.client.get(f"{scored.url}/results", headers=auth()))
        assert [(r["department_id"], r["rank"]) for r in body["results"]] == [(a, 1), (b, 2)]
        # A: 100 × 60 % + 100 × 40 % = 100; B: 60 × 60 % + 50 × 40 % = 56.
        assert await _totals(scored) == {a: 100.0, b: 56.0}
        grades = {r["department_id"]: r["grade"] for r in body["results"]}
        assert grades == {a: "excellent", b: "fail"}
        citizens = next(g for g in body["results"][1]["group_scores"] if g["code"] == "citizens")
        assert (citizens["score"], citizens["n"]) == (50.0, 4)

    async def test_the_breakdown_explains_the_total(self, stack: Stack) -> None:
        scored = await scored_cycle(stack)
        b = scored.departments[1]
        body = await _ok(
            await scored.client.get(f"{scored.url}/results/{b}/breakdown", headers=auth())
        )
        tree = body["breakdown"]
        assert tree["points"] == body["total"] == 56.0
        assert round(sum(c["points"] for c in tree["children"]), 4) == tree["points"]
        objective = next(c for c in tree["children"] if c["code"] == "objective")
        [leaf] = [n for n in _walk(objective) if n.get("code") == "S1"]
        assert (leaf["value"], leaf["target"], leaf["rule"]["method"]) == (60.0, 100.0, "ratio")

    async def test_a_cycle_still_open_cannot_be_scored(self, stack: Stack) -> None:
        scored = await scored_cycle(stack, score=False)
        reopened = await scored.client.post(f"{scored.url}/score", headers=auth())
        assert reopened.status_code == 200  # closed (scoring) → preliminary
        again = await scored.client.post(f"{scored.url}/score", headers=auth())
        assert again.status_code == 200  # a preliminary cycle may be re-scored
        versions = await _ok(
            await scored.client.get(f"{scored.url}/result-versions", headers=auth())
        )
        assert [v["version"] for v in versions] == [1, 2]
        assert versions[0]["inputs_digest"] == versions[1]["inputs_digest"]

    async def test_scoring_an_open_cycle_is_409(self, stack: Stack) -> None:
        evaluation = stack.client("evaluation")
        cycle = await _ok(
            await evaluation.post(
                "/v1/cycles",
                json={
                    "jurisdiction_code": HEIHE,
                    "code": "draft",
                    "name": "草稿",
                    "period": "2026",
                    "category": CATEGORY,
                },
                headers=auth(),
            ),
            201,
        )
        response = await evaluation.post(f"/v1/cycles/{cycle['id']}/score", headers=auth())
        assert response.status_code == 409
        assert response.json()["code"] == "invalid-cycle-transition"
        results = await evaluation.get(f"/v1/cycles/{cycle['id']}/results", headers=auth())
        assert results.status_code == 409 and results.json()["code"] == "not-scored"

    async def test_excluded_ratings_are_left_out_and_counted(self, stack: Stack) -> None:
        scored = await scored_cycle(stack, score=False)
        a = scored.departments[0]
        listed = await _ok(
            await scored.client.get(
                f"{scored.url}/ratings", params={"department_id": a}, headers=auth()
            )
        )
        decided = await scored.client.post(
            f"{scored.url}/ratings/{listed['items'][0]['id']}/decision",
            json={"decision": "excluded", "reason": "同一人多次填写"},
            headers=auth(),
        )
        assert decided.status_code == 200, decided.text
        await _ok(await scored.client.post(f"{scored.url}/score", headers=auth()))
        body = await _ok(
            await scored.client.get(f"{scored.url}/results/{a}/breakdown", headers=auth())
        )
        citizens = next(c for c in body["breakdown"]["children"] if c["code"] == "citizens")
        assert (citizens["n"], citizens["excluded"]) == (3, 1)
        assert "1 responses excluded" in citizens["explanation"]


class TestWhoSeesResults:
    async def test_a_department_sees_only_its_own_result(self, stack: Stack) -> None:
        scored = await scored_cycle(stack)
        a, b = scored.departments
        officer = auth("department", department_id=a)
        own = await _ok(await scored.client.get(f"{scored.url}/results", headers=officer))
        assert [r["department_id"] for r in own["results"]] == [a]
        mine = await scored.client.get(f"{scored.url}/results/{a}/breakdown", headers=officer)
        assert mine.status_code == 200
        theirs = await scored.client.get(f"{scored.url}/results/{b}/breakdown", headers=officer)
        assert theirs.status_code == 404

    async def test_departments_see_nothing_before_the_preliminary_stage(self, stack: Stack) -> None:
        scored = await scored_cycle(stack, score=False)
        officer = auth("department", department_id=scored.departments[0])
        response = await scored.client.get(f"{scored.url}/results", headers=officer)
        assert response.status_code == 404

    async def test_evaluators_and_portals_are_refused(self, stack: Stack) -> None:
        scored = await scored_cycle(stack)
        for role in ("evaluator", "portal", "citizen_app"):
            response = await scored.client.get(f"{scored.url}/results", headers=auth(role))
            assert response.status_code == 403, role


class TestFinalizing:
    async def test_finalizing_waits_for_the_appeal_window(self, stack: Stack) -> None:
        scored = await scored_cycle(stack, appeal_days=7)
        response = await scored.client.post(f"{scored.url}/finalize", headers=auth())
        assert response.status_code == 409
        assert response.json()["code"] == "appeal-window-open"

    async def test_a_closed_window_finalizes(self, stack: Stack) -> None:
        scored = await scored_cycle(stack, appeal_days=0)
        cycle = await _ok(await scored.client.post(f"{scored.url}/finalize", headers=auth()))
        assert cycle["status"] == "finalized" and cycle["finalized_at"]
        again = await scored.client.post(f"{scored.url}/score", headers=auth())
        assert again.status_code == 409


class TestAppeals:
    async def test_an_upheld_appeal_revises_the_results_once(self, stack: Stack) -> None:
        scored = await scored_cycle(stack)
        a, b = scored.departments
        await _ok(await scored.client.post(f"{scored.url}/finalize", headers=auth()))
        await _deliver(stack, "appeal.decided", _appeal(scored, appeal_id="ap-1"), "msg_ap1")
        # B's indicator gains 5 points of 100 in a group weighted 60 %: +3.
        assert await _totals(scored) == {a: 100.0, b: 59.0}
        assert await _totals(scored, version=1) == {a: 100.0, b: 56.0}
        cycle = await _ok(await scored.client.get(scored.url, headers=auth()))
        assert cycle["status"] == "revised"
        versions = await _ok(
            await scored.client.get(f"{scored.url}/result-versions", headers=auth())
        )
        assert [(v["version"], v["stage"]) for v in versions] == [
            (1, "preliminary"),
            (2, "revised"),
        ]
        assert "ap-1" in versions[1]["reason"]
        # The same decision again (a new delivery) changes nothing.
        await _deliver(stack, "appeal.decided", _appeal(scored, appeal_id="ap-1"), "msg_ap1b")
        versions = await _ok(
            await scored.client.get(f"{scored.url}/result-versions", headers=auth())
        )
        assert len(versions) == 2

    async def test_a_dismissed_appeal_changes_nothing(self, stack: Stack) -> None:
        scored = await scored_cycle(stack)
        await _deliver(
            stack,
            "appeal.decided",
            _appeal(scored, appeal_id="ap-2", decision="dismissed"),
            "msg_ap2",
        )
        versions = await _ok(
            await scored.client.get(f"{scored.url}/result-versions", headers=auth())
        )
        assert len(versions) == 1

    async def test_an_appeal_upheld_in_the_window_keeps_the_cycle_preliminary(
        self, stack: Stack
    ) -> None:
        scored = await scored_cycle(stack, appeal_days=7)
        await _deliver(stack, "appeal.decided", _appeal(scored, appeal_id="ap-3"), "msg_ap3")
        cycle = await _ok(await scored.client.get(scored.url, headers=auth()))
        assert cycle["status"] == "preliminary" and cycle["result_version"] == 2


def _walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(n for child in node.get("children", []) for n in _walk(child))]


class TestChangedMeasurements:
    async def test_a_value_changed_after_scoring_marks_the_results_stale(
        self, stack: Stack
    ) -> None:
        scored = await scored_cycle(stack, appeal_days=7)
        listed = await _ok(await scored.client.get(f"{scored.url}/results", headers=auth()))
        assert listed["stale"] is False and listed["measurements_changed_at"] is None

        other_year = {"jurisdiction_code": HEIHE, "period": "2025Q2", "status": "verified"}
        await _deliver(stack, "measurement.verified", other_year, "msg_m1")
        listed = await _ok(await scored.client.get(f"{scored.url}/results", headers=auth()))
        assert listed["stale"] is False

        this_year = {"jurisdiction_code": HEIHE, "periods": ["202605"], "imported": 1}
        await _deliver(stack, "measurements.imported", this_year, "msg_m2")
        listed = await _ok(await scored.client.get(f"{scored.url}/results", headers=auth()))
        assert listed["stale"] is True

        rescored = await _ok(await scored.client.post(f"{scored.url}/score", headers=auth()))
        assert rescored["result_version"] == 2
        listed = await _ok(await scored.client.get(f"{scored.url}/results", headers=auth()))
        assert listed["stale"] is False


class TestPostStratification:
    async def test_a_dimension_answered_only_dont_know_is_left_out_of_that_dimension(
        self, stack: Stack
    ) -> None:
        # The fourth respondent answers the service items 1 and integrity "don't know": the
        # service index counts four respondents (mean 4: 75), integrity three (mean 5: 100).
        partial = {"Q1": 1, "Q2": 1, "Q4": None}
        scored = await scored_cycle(stack, answers_of_a=(5, 5, 5, partial))
        result = await _ok(
            await scored.client.get(f"{scored.url}/results/{scored.departments[0]}", headers=auth())
        )
        dimensions = {d["code"]: d["score"] for d in result["weakest_dimensions"]}
        assert dimensions == {"service": 75.0, "integrity": 100.0}
        citizens = next(g for g in result["group_scores"] if g["code"] == "citizens")
        assert citizens["score"] == 87.5 and citizens["n"] == 4

    async def test_population_shares_weight_the_citizen_index(self, stack: Stack) -> None:
        # A's sample: three young respondents answering 5, one old answering 1. Unweighted the
        # mean is 4 (index 75); weighted to a population half young, half old it is 3 (50).
        strata = ("age=young", "age=young", "age=young", "age=old")
        weighted = await scored_cycle(
            stack,
            answers_of_a=(5, 5, 5, 1),
            strata_of_a=strata,
            rules={"population_shares": {"age=young": 0.5, "age=old": 0.5}},
        )
        result = await _ok(
            await weighted.client.get(
                f"{weighted.url}/results/{weighted.departments[0]}", headers=auth()
            )
        )
        citizens = next(g for g in result["group_scores"] if g["code"] == "citizens")
        assert citizens["score"] == 50.0 and citizens["n"] == 4

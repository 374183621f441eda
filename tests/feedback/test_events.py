"""What the feedback service announces, to whom, and what each event carries."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import select

from tests.feedback.results import deliver, department_result, results_data
from tests.harness import HEIHE, Stack, auth

A = str(uuid.UUID(int=0xA))


async def _subscriptions(stack: Stack, service: str) -> dict[str, list[str]]:
    response = await stack.client(service).get(
        "/v1/webhooks/subscriptions", params={"limit": 200}, headers=auth()
    )
    assert response.status_code == 200, response.text
    return {s["name"]: s["event_types"] for s in response.json()["items"] if s["kind"] == "sibling"}


async def _bodies(stack: Stack, event_type: str) -> list[dict[str, Any]]:
    app = stack.apps["feedback"]
    outbox = app.state.tables.outbox
    async with app.state.db.session() as session:
        rows = (await session.scalars(select(outbox).where(outbox.type == event_type))).all()
    return [{"aggregate": r.aggregate, **json.loads(r.body)} for r in rows]


class TestSiblings:
    async def test_feedback_announces_to_evaluation_and_disclosure(self, stack: Stack) -> None:
        siblings = await _subscriptions(stack, "feedback")
        assert siblings["evaluation"] == ["appeal.decided"]
        assert set(siblings["disclosure"]) == {
            "feedback_report.*",
            "rectification.*",
            "appeal.*",
            "feedback.*",
            "department_metrics.*",
        }

    async def test_evaluation_sends_its_results_to_feedback(self, stack: Stack) -> None:
        assert (await _subscriptions(stack, "evaluation"))["feedback"] == ["results.*"]


class TestRectificationEvents:
    async def test_a_created_task_carries_the_contract_fields(self, stack: Stack) -> None:
        response = await stack.client("feedback").post(
            "/v1/rectification-tasks",
            json={
                "jurisdiction_code": HEIHE,
                "department_id": A,
                "department_code": "HH-A",
                "title": "整改",
                "deadline": "2027-03-31",
            },
            headers=auth(),
        )
        assert response.status_code == 201, response.text
        task = response.json()
        [event] = await _bodies(stack, "rectification.created")
        assert event["aggregate"] == f"rectification_task:{task['id']}"
        assert event["data"] == {
            "task_id": task["id"],
            "jurisdiction_code": HEIHE,
            "cycle_id": None,
            "department_id": A,
            "department": "HH-A",
            "title": "整改",
            "origin": "manual",
            "status": "open",
            "progress": 0.0,
            "deadline": "2027-03-31",
            "escalation_level": 0,
            "changed_at": event["data"]["changed_at"],
            "version": 1,
        }
        assert event["data"]["changed_at"].endswith("Z")


async def _send(stack: Stack, text: str) -> dict[str, Any]:
    response = await stack.client("feedback").post(
        "/v1/citizen-feedback",
        json={
            "jurisdiction_code": HEIHE,
            "kind": "complaint",
            "text": text,
            "department_id": A,
            "department_code": "HH-A",
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def _weak_department(total: float = 55.0) -> list[dict[str, Any]]:
    # S2 is below the 60 % threshold, Q2 below 70: two automatic tasks.
    return [
        department_result(
            A,
            "HH-A",
            total=total,
            rank=3,
            grade="poor",
            indicators=(("S2", 0.3), ("S4", 0.8)),
            dimensions=(("Q2", 52.5),),
        )
    ]


class TestReportIssued:
    async def test_a_final_result_issues_each_report_with_its_public_summary(
        self, stack: Stack
    ) -> None:
        await _send(stack, "窗口电话 13812345678 打不通")
        cycle = str(uuid.uuid4())
        await deliver(stack, "results.finalized", results_data(cycle, _weak_department()))
        [event] = await _bodies(stack, "feedback_report.issued")
        data = event["data"]
        report = (
            await stack.client("feedback").get(
                "/v1/feedback-reports", params={"cycle_id": cycle}, headers=auth()
            )
        ).json()["items"][0]
        assert event["aggregate"] == f"feedback_report:{report['id']}"
        assert {k: data[k] for k in ("report_id", "cycle_id", "department_id", "department")} == {
            "report_id": report["id"],
            "cycle_id": cycle,
            "department_id": A,
            "department": "HH-A",
        }
        assert (data["total"], data["grade"], data["rank"], data["vetoed"]) == (
            55.0,
            "poor",
            3,
            False,
        )
        assert (data["result_version"], data["task_count"], data["version"]) == (1, 2, 1)
        assert [i["code"] for i in data["weakest_indicators"]] == ["S2", "S4"]
        assert [d["code"] for d in data["weakest_dimensions"]] == ["Q2"]
        assert data["themes"]["feedback_count"] == 1
        assert data["themes"]["by_kind"] == {"complaint": 1}
        assert "13812345678" not in json.dumps(data)
        assert "[phone]" in data["themes"]["samples"][0]["text"]
        assert data["issued_at"].endswith("Z")

    async def test_a_revision_issues_it_again_and_a_duplicate_does_not(self, stack: Stack) -> None:
        cycle = str(uuid.uuid4())
        final = results_data(cycle, _weak_department())
        await deliver(stack, "results.finalized", final)
        await deliver(stack, "results.finalized", final)
        await deliver(stack, "results.preliminary", results_data(cycle, _weak_department()))
        revised = results_data(cycle, _weak_department(62.0), version=2, status="revised")
        await deliver(stack, "results.revised", revised)
        issued = [e["data"] for e in await _bodies(stack, "feedback_report.issued")]
        assert [(d["result_version"], d["total"]) for d in issued] == [(1, 55.0), (2, 62.0)]
        assert issued[0]["report_id"] == issued[1]["report_id"]

    async def test_a_preliminary_result_issues_nothing(self, stack: Stack) -> None:
        cycle = str(uuid.uuid4())
        await deliver(
            stack,
            "results.preliminary",
            results_data(cycle, _weak_department(), status="preliminary"),
        )
        assert await _bodies(stack, "feedback_report.issued") == []


class TestCitizensJudgement:
    async def test_not_resolved_then_resolved_are_announced_with_the_reopen_count(
        self, stack: Stack
    ) -> None:
        client = stack.client("feedback")
        feedback = await _send(stack, "路灯不亮，联系 li@example.com")
        path = f"/v1/citizen-feedback/{feedback['id']}"
        token = {"X-Feedback-Token": feedback["token"]}
        for answer, resolved in (("已修复", False), ("已更换灯泡", True)):
            answered = await client.post(f"{path}/answer", json={"answer": answer}, headers=auth())
            assert answered.status_code == 200, answered.text
            judged = await client.post(
                f"{path}/resolution", json={"resolved": resolved}, headers=token
            )
            assert judged.status_code == 200, judged.text
        [reopened] = await _bodies(stack, "feedback.reopened")
        [resolved_event] = await _bodies(stack, "feedback.resolved")
        assert (
            reopened["aggregate"]
            == resolved_event["aggregate"]
            == (f"citizen_feedback:{feedback['id']}")
        )
        assert (
            reopened["data"]["status"],
            reopened["data"]["resolution"],
            reopened["data"]["reopen_count"],
            reopened["data"]["answer"],
        ) == ("reopened", "not_resolved", 1, "已修复")
        assert (
            resolved_event["data"]["status"],
            resolved_event["data"]["resolution"],
            resolved_event["data"]["reopen_count"],
        ) == ("resolved", "resolved", 1)
        for event in (reopened, resolved_event):
            assert event["data"]["text"] == "路灯不亮，联系 [email]"
            assert event["data"]["received_at"].endswith("Z")
            assert event["data"]["answered_at"].endswith("Z")
            assert feedback["token"] not in json.dumps(event)

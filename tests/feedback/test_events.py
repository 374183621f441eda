"""What the feedback service announces, to whom, and what each event carries."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import select

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

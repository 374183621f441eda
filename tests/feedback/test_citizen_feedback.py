"""Citizen feedback: sent by anyone, answered by the department concerned (or the office),
judged by its sender with the token it was given, reopened when not resolved."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from services.feedback.models import COMMON, CitizenFeedback, CycleResult, RectificationTask
from tests import factories
from tests.harness import HARBIN, HEIHE, Stack, auth, running_stack

DEPARTMENT_A = str(uuid.uuid4())
DEPARTMENT_B = str(uuid.uuid4())
TOKEN = "X-Feedback-Token"


def officer(department_id: str = DEPARTMENT_A) -> dict[str, str]:
    return auth("department", department_id=department_id)


async def send(stack: Stack, **fields: Any) -> dict[str, Any]:
    body = {
        "jurisdiction_code": HEIHE,
        "kind": "complaint",
        "text": "社保窗口排队时间太长",
        "department_code": "HH-SOC",
        "department_id": DEPARTMENT_A,
        **fields,
    }
    response = await stack.client("feedback").post("/v1/citizen-feedback", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def emitted(stack: Stack, event_type: str) -> list[dict[str, Any]]:
    async with stack.apps["feedback"].state.db.session(read_only=True) as session:
        bodies = (
            await session.scalars(
                select(COMMON.outbox.body)
                .where(COMMON.outbox.type == event_type)
                .order_by(COMMON.outbox.seq)
            )
        ).all()
    return [json.loads(body)["data"] for body in bodies]


async def answer(stack: Stack, feedback_id: str, text: str = "已增加两个窗口", **kw: Any) -> Any:
    return await stack.client("feedback").post(
        f"/v1/citizen-feedback/{feedback_id}/answer",
        json={"answer": text},
        headers=kw.get("headers") or auth(),
    )


async def judge(stack: Stack, feedback: dict[str, Any], resolved: bool, **body: Any) -> Any:
    return await stack.client("feedback").post(
        f"/v1/citizen-feedback/{feedback['id']}/resolution",
        json={"resolved": resolved, **body},
        headers={TOKEN: feedback["token"]},
    )


class TestSubmission:
    async def test_anyone_submits_and_the_office_answers(self, stack: Stack) -> None:
        client = stack.client("feedback")
        feedback = await factories.submit_feedback(client, text="社保窗口排队时间太长")
        assert feedback["status"] == "received"
        answered = await answer(stack, feedback["id"])
        assert answered.json()["status"] == "answered"
        assert answered.json()["answer"] == "已增加两个窗口"
        listed = await client.get(
            "/v1/citizen-feedback", params={"status": "answered"}, headers=auth()
        )
        assert [f["id"] for f in listed.json()["items"]] == [feedback["id"]]

    async def test_personal_data_is_scrubbed_before_it_is_kept(self, stack: Stack) -> None:
        feedback = await send(stack, text="请回电 13812345678 或写信 li@example.com")
        assert feedback["text"] == "请回电 [phone] 或写信 [email]"
        [event] = await emitted(stack, "feedback.received")
        assert event["text"] == "请回电 [phone] 或写信 [email]"
        assert event["department_code"] == "HH-SOC"
        assert feedback["token"] not in json.dumps(event)

    async def test_the_token_is_shown_once_and_kept_only_as_a_hash(self, stack: Stack) -> None:
        feedback = await send(stack)
        assert len(feedback["token"]) >= 32
        read = await stack.client("feedback").get(
            f"/v1/citizen-feedback/{feedback['id']}", headers=auth()
        )
        assert "token" not in read.json()
        async with stack.apps["feedback"].state.db.session(read_only=True) as session:
            row = await session.get(CitizenFeedback, uuid.UUID(feedback["id"]))
        assert row is not None and row.token_hash is not None
        assert feedback["token"] not in row.token_hash

    async def test_the_response_deadline_comes_from_the_settings(self, stack: Stack) -> None:
        feedback = await send(stack)
        received = datetime.fromisoformat(feedback["created_at"])
        respond_by = datetime.fromisoformat(feedback["respond_by"])
        assert respond_by - received == timedelta(days=15)

    async def test_a_department_code_is_routed_to_its_department(self, stack: Stack) -> None:
        department_id = uuid.uuid4()
        async with stack.apps["feedback"].state.db.session() as session:
            session.add(
                CycleResult(
                    cycle_id=uuid.uuid4(),
                    department_id=department_id,
                    jurisdiction_code=HEIHE,
                    cycle_code="C2026",
                    period="2026",
                    category="economic",
                    department_code="HH-EDU",
                    result_version=1,
                    stage="finalized",
                    total=80.0,
                    vetoed=False,
                    weakest_indicators=[],
                    weakest_dimensions=[],
                )
            )
            await session.commit()
        feedback = await send(stack, department_code="HH-EDU", department_id=None)
        assert feedback["department_id"] == str(department_id)

    async def test_text_is_bounded(self, stack: Stack) -> None:
        response = await stack.client("feedback").post(
            "/v1/citizen-feedback", json={"jurisdiction_code": HEIHE, "text": "长" * 2001}
        )
        assert response.status_code == 422

    async def test_an_unpublished_item_cannot_be_commented_on(self, stack: Stack) -> None:
        response = await stack.client("feedback").post(
            "/v1/citizen-feedback",
            json={"jurisdiction_code": HEIHE, "text": "好", "publication_id": str(uuid.uuid4())},
        )
        assert (response.status_code, response.json()["code"]) == (422, "unknown-publication")


class TestRateLimit:
    async def test_one_address_sending_too_many_gets_429(
        self, database_urls: dict[str, str], backend: str
    ) -> None:
        async with running_stack(
            backend, database_urls, citizen_feedback_limit_per_address="2/minute"
        ) as stack:
            client = stack.client("feedback")
            body = {"jurisdiction_code": HEIHE, "text": "建议增加窗口"}
            here = {"x-forwarded-for": "203.0.113.7"}
            for _ in range(2):
                assert (
                    await client.post("/v1/citizen-feedback", json=body, headers=here)
                ).status_code == 201
            refused = await client.post("/v1/citizen-feedback", json=body, headers=here)
            assert refused.status_code == 429
            assert int(refused.headers["retry-after"]) >= 1
            other = {"x-forwarded-for": "203.0.113.8"}
            assert (
                await client.post("/v1/citizen-feedback", json=body, headers=other)
            ).status_code == 201


class TestDepartments:
    async def test_the_department_concerned_answers_its_own(self, stack: Stack) -> None:
        feedback = await send(stack)
        refused = await answer(stack, feedback["id"], headers=officer(DEPARTMENT_B))
        assert refused.status_code == 403
        answered = await answer(stack, feedback["id"], headers=officer())
        assert answered.status_code == 200
        assert answered.json()["status"] == "answered"
        [event] = await emitted(stack, "feedback.answered")
        assert (event["feedback_id"], event["answer"]) == (feedback["id"], "已增加两个窗口")

    async def test_a_department_lists_and_reads_only_its_own(self, stack: Stack) -> None:
        mine = await send(stack)
        theirs = await send(stack, department_id=DEPARTMENT_B, department_code="HH-EDU")
        client = stack.client("feedback")
        listed = await client.get("/v1/citizen-feedback", headers=officer())
        assert [f["id"] for f in listed.json()["items"]] == [mine["id"]]
        hidden = await client.get(f"/v1/citizen-feedback/{theirs['id']}", headers=officer())
        assert hidden.status_code == 404
        named = await client.get(
            "/v1/citizen-feedback", params={"department_id": DEPARTMENT_B}, headers=officer()
        )
        assert named.status_code == 403
        office = await client.get("/v1/citizen-feedback", headers=auth())
        assert {f["id"] for f in office.json()["items"]} == {mine["id"], theirs["id"]}

    async def test_another_city_cannot_answer(self, stack: Stack) -> None:
        feedback = await send(stack)
        response = await answer(stack, feedback["id"], headers=auth(jurisdictions=(HARBIN,)))
        assert response.status_code == 403


class TestTheCitizensWord:
    async def test_answered_then_not_resolved_reopens_it(self, stack: Stack) -> None:
        client = stack.client("feedback")
        feedback = await send(stack)
        early = await judge(stack, feedback, False)
        assert (early.status_code, early.json()["code"]) == (409, "feedback-not-answered")
        await answer(stack, feedback["id"], headers=officer())
        status = await client.get(
            f"/v1/citizen-feedback/{feedback['id']}/status", headers={TOKEN: feedback["token"]}
        )
        assert (status.json()["status"], status.json()["answer"]) == ("answered", "已增加两个窗口")
        reopened = await judge(stack, feedback, False, comment="还是要排两个小时")
        assert reopened.status_code == 200
        assert (reopened.json()["status"], reopened.json()["reopen_count"]) == ("reopened", 1)
        await answer(stack, feedback["id"], "周末也开放", headers=officer())
        closed = await judge(stack, feedback, True)
        assert (closed.json()["status"], closed.json()["resolution"]) == ("resolved", "resolved")
        assert closed.json()["reopen_count"] == 1
        late = await answer(stack, feedback["id"], "再补充", headers=officer())
        assert (late.status_code, late.json()["code"]) == (409, "feedback-resolved")

    async def test_a_wrong_or_missing_token_reads_nothing(self, stack: Stack) -> None:
        client = stack.client("feedback")
        feedback = await send(stack)
        path = f"/v1/citizen-feedback/{feedback['id']}/status"
        assert (await client.get(path, headers={TOKEN: "not-the-token"})).status_code == 404
        assert (await client.get(path)).status_code == 404
        other = await send(stack)
        assert (await client.get(path, headers={TOKEN: other["token"]})).status_code == 404
        assert (await client.get(path, headers={TOKEN: feedback["token"]})).status_code == 200

    async def test_the_office_spawns_a_rectification_task_once(self, stack: Stack) -> None:
        client = stack.client("feedback")
        feedback = await send(stack)
        await answer(stack, feedback["id"], headers=officer())
        await judge(stack, feedback, False)
        path = f"/v1/citizen-feedback/{feedback['id']}/task"
        assert (await client.post(path, json={}, headers=officer())).status_code == 403
        spawned = await client.post(path, json={"title": "窗口排队整改"}, headers=auth())
        assert spawned.status_code == 200, spawned.text
        task_id = spawned.json()["task_id"]
        async with stack.apps["feedback"].state.db.session(read_only=True) as session:
            task = await session.get(RectificationTask, uuid.UUID(task_id))
        assert task is not None
        assert (task.origin, task.origin_ref, task.title) == (
            "feedback",
            feedback["id"],
            "窗口排队整改",
        )
        assert str(task.department_id) == DEPARTMENT_A
        again = await client.post(path, json={}, headers=auth())
        assert (again.status_code, again.json()["code"]) == (409, "feedback-task-exists")

    async def test_unrouted_feedback_gets_no_task(self, stack: Stack) -> None:
        feedback = await send(stack, department_id=None, department_code=None)
        response = await stack.client("feedback").post(
            f"/v1/citizen-feedback/{feedback['id']}/task", json={}, headers=auth()
        )
        assert (response.status_code, response.json()["code"]) == (409, "feedback-unrouted")

    async def test_a_setting_spawns_the_task_on_not_resolved(
        self, database_urls: dict[str, str], backend: str
    ) -> None:
        async with running_stack(
            backend, database_urls, citizen_feedback_reopen_spawns_task=True
        ) as stack:
            feedback = await send(stack)
            await answer(stack, feedback["id"])
            reopened = await judge(stack, feedback, False)
            assert reopened.status_code == 200
            async with stack.apps["feedback"].state.db.session(read_only=True) as session:
                tasks = (await session.scalars(select(RectificationTask))).all()
            assert [(t.origin, t.origin_ref) for t in tasks] == [("feedback", feedback["id"])]


class TestSummary:
    async def test_counts_and_rates_of_a_department_in_a_period(self, stack: Stack) -> None:
        client = stack.client("feedback")
        first = await send(stack)
        second = await send(stack, kind="suggestion")
        third = await send(stack, kind="suggestion")
        await send(stack, department_id=DEPARTMENT_B, department_code="HH-EDU")
        await answer(stack, first["id"], headers=officer())
        await judge(stack, first, True)
        await answer(stack, second["id"], headers=officer())
        await judge(stack, second, False)
        # The third is answered after its deadline.
        async with stack.apps["feedback"].state.db.session() as session:
            row = await session.get(CitizenFeedback, uuid.UUID(third["id"]))
            assert row is not None
            row.respond_by = datetime.now(UTC) - timedelta(days=1)
            await session.commit()
        await answer(stack, third["id"], headers=officer())
        year = str(datetime.now(UTC).year)
        response = await client.get(
            "/v1/citizen-feedback/summary",
            params={"department": DEPARTMENT_A, "period": year},
            headers=officer(),
        )
        assert response.status_code == 200, response.text
        summary = response.json()
        assert (summary["total"], summary["answered"], summary["answered_on_time"]) == (3, 3, 2)
        assert summary["by_kind"] == {"comment": 0, "suggestion": 2, "complaint": 1, "praise": 0}
        assert summary["by_status"] == {
            "received": 0,
            "answered": 1,
            "resolved": 1,
            "reopened": 1,
        }
        assert summary["response_rate"] == pytest.approx(2 / 3, abs=1e-4)
        assert (summary["judged"], summary["resolved"], summary["resolution_rate"]) == (2, 1, 0.5)
        assert summary["reopened"] == 1
        by_code = await client.get(
            "/v1/citizen-feedback/summary",
            params={"department": "HH-SOC", "period": year},
            headers=auth(),
        )
        assert by_code.json()["total"] == 3
        empty = await client.get(
            "/v1/citizen-feedback/summary",
            params={"department": "HH-SOC", "period": "2001Q1"},
            headers=auth(),
        )
        assert (empty.json()["total"], empty.json()["response_rate"]) == (0, None)

    async def test_a_department_reads_only_its_own_summary(self, stack: Stack) -> None:
        response = await stack.client("feedback").get(
            "/v1/citizen-feedback/summary",
            params={"department": DEPARTMENT_B, "period": "2026"},
            headers=officer(),
        )
        assert response.status_code == 403

    async def test_a_period_must_be_one(self, stack: Stack) -> None:
        response = await stack.client("feedback").get(
            "/v1/citizen-feedback/summary",
            params={"department": "HH-SOC", "period": "2026Q5"},
            headers=auth(),
        )
        assert (response.status_code, response.json()["code"]) == (422, "invalid-period")

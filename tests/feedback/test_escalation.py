"""The deadlines job with the time injected: overdue at the boundary, escalation levels,
one `rectification.overdue` per level, reminders once; and repeat problems across cycles."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select

from tests.feedback.results import deliver, department_result, results_data
from tests.harness import HEIHE, Stack, auth

A = str(uuid.UUID(int=0xA))
TASKS = "/v1/rectification-tasks"
JOB = "task_deadlines"


def at(day: str) -> datetime:
    """Noon UTC of that day."""
    return datetime.fromisoformat(f"{day}T12:00:00+00:00")


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def task_due(stack: Stack, deadline: str) -> dict[str, Any]:
    body = {
        "jurisdiction_code": HEIHE,
        "department_id": A,
        "department_code": "HH-A",
        "title": "整改",
        "deadline": deadline,
    }
    return await _ok(await stack.client("feedback").post(TASKS, json=body, headers=auth()), 201)


async def get(stack: Stack, task: dict[str, Any]) -> dict[str, Any]:
    return await _ok(await stack.client("feedback").get(f"{TASKS}/{task['id']}", headers=auth()))


async def run(stack: Stack, day: str) -> int:
    return await stack.apps["feedback"].state.scheduler.run_once(JOB, now=at(day))


async def events_of(stack: Stack, event_type: str, task: dict[str, Any]) -> list[dict[str, Any]]:
    app = stack.apps["feedback"]
    outbox = app.state.tables.outbox
    async with app.state.db.session() as session:
        rows = (
            await session.scalars(
                select(outbox)
                .where(
                    outbox.type == event_type,
                    outbox.aggregate == f"rectification_task:{task['id']}",
                )
                .order_by(outbox.seq)
            )
        ).all()
    return [json.loads(r.body)["data"] for r in rows]


class TestOverdue:
    async def test_a_task_due_today_is_not_overdue_due_yesterday_is(self, stack: Stack) -> None:
        task = await task_due(stack, "2027-03-31")
        await run(stack, "2027-03-31")
        assert (await get(stack, task))["overdue_since"] is None
        assert await events_of(stack, "rectification.overdue", task) == []
        await run(stack, "2027-04-01")
        late = await get(stack, task)
        assert late["overdue_since"] and late["escalation_level"] == 0
        [event] = await events_of(stack, "rectification.overdue", task)
        assert event["escalation_level"] == 0 and event["deadline"] == "2027-03-31"

    async def test_a_verified_task_is_never_overdue(self, stack: Stack) -> None:
        client = stack.client("feedback")
        task = await task_due(stack, "2027-03-31")
        officer = auth("department", department_id=A)
        url = f"{TASKS}/{task['id']}"
        await _ok(await client.put(f"{url}/plan", json={"plan": "p"}, headers=officer))
        for to, who in (("in_progress", officer), ("submitted", officer), ("verified", auth())):
            await _ok(await client.post(f"{url}/status", json={"to_status": to}, headers=who))
        assert await run(stack, "2027-06-01") == 0
        assert (await get(stack, task))["overdue_since"] is None

    async def test_escalation_rises_after_the_delays_announced_once_per_level(
        self, stack: Stack
    ) -> None:
        task = await task_due(stack, "2027-03-31")
        for day in ("2027-04-01", "2027-04-02", "2027-04-06"):
            await run(stack, day)
        assert (await get(stack, task))["escalation_level"] == 0
        await run(stack, "2027-04-07")  # 7 days overdue
        assert (await get(stack, task))["escalation_level"] == 1
        await run(stack, "2027-04-08")
        await run(stack, "2027-04-30")  # 30 days overdue
        await run(stack, "2027-05-30")
        assert (await get(stack, task))["escalation_level"] == 2
        levels = [
            e["escalation_level"] for e in await events_of(stack, "rectification.overdue", task)
        ]
        assert levels == [0, 1, 2]

    async def test_a_task_found_far_behind_jumps_to_its_level(self, stack: Stack) -> None:
        task = await task_due(stack, "2027-01-01")
        await run(stack, "2027-03-01")
        assert (await get(stack, task))["escalation_level"] == 2
        levels = [
            e["escalation_level"] for e in await events_of(stack, "rectification.overdue", task)
        ]
        assert levels == [0, 2]

    async def test_a_new_deadline_starts_the_clock_again(self, stack: Stack) -> None:
        task = await task_due(stack, "2027-03-31")
        await run(stack, "2027-04-10")
        assert (await get(stack, task))["escalation_level"] == 1
        await _ok(
            await stack.client("feedback").patch(
                f"{TASKS}/{task['id']}", json={"deadline": "2027-06-30"}, headers=auth()
            )
        )
        moved = await get(stack, task)
        assert moved["overdue_since"] is None and moved["escalation_level"] == 0


class TestReminders:
    async def test_the_department_is_reminded_once_before_the_deadline(self, stack: Stack) -> None:
        task = await task_due(stack, "2027-03-31")
        await run(stack, "2027-03-23")  # eight days before: not yet
        assert (await get(stack, task))["reminded_at"] is None
        await run(stack, "2027-03-24")
        await run(stack, "2027-03-25")
        assert (await get(stack, task))["reminded_at"].startswith("2027-03-24")
        [reminder] = await events_of(stack, "rectification.reminded", task)
        assert reminder["department"] == "HH-A"


class TestRepeatProblems:
    async def test_the_same_weak_indicator_two_cycles_in_a_row_is_flagged(
        self, stack: Stack
    ) -> None:
        weak = [department_result(A, "HH-A", total=50.0, indicators=(("S2", 0.3), ("S3", 0.4)))]
        last_year, this_year = str(uuid.uuid4()), str(uuid.uuid4())
        await deliver(stack, "results.finalized", results_data(last_year, weak, period="2025"))
        only_s2 = [department_result(A, "HH-A", total=55.0, indicators=(("S2", 0.35),))]
        await deliver(stack, "results.finalized", results_data(this_year, only_s2, period="2026"))
        client = stack.client("feedback")
        listed = await _ok(await client.get(TASKS, params={"cycle_id": this_year}, headers=auth()))
        [task] = listed["items"]
        earlier = await _ok(
            await client.get(
                TASKS, params={"cycle_id": last_year, "status": "open"}, headers=auth()
            )
        )
        s2_before = next(t for t in earlier["items"] if t["origin_ref"] == "S2")
        assert task["repeat"] is True and task["repeat_of"] == s2_before["id"]
        repeats = await _ok(await client.get(TASKS, params={"repeat": "true"}, headers=auth()))
        assert [t["id"] for t in repeats["items"]] == [task["id"]]
        # Another category's cycle of the previous period is not "the previous cycle".
        other = str(uuid.uuid4())
        await deliver(
            stack,
            "results.finalized",
            results_data(other, only_s2, period="2027", category="economic"),
        )
        [other_task] = (
            await _ok(await client.get(TASKS, params={"cycle_id": other}, headers=auth()))
        )["items"]
        assert other_task["repeat"] is False

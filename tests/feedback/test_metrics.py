"""Department metrics on a known fixture: every number worked out by hand."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from services.feedback.models import (
    COMMON,
    CitizenFeedback,
    CycleResult,
    RectificationTask,
    TaskStatusChange,
)
from tests.harness import HARBIN, HEIHE, Stack, auth

CYCLE, OTHER_CYCLE = uuid.uuid4(), uuid.uuid4()
A, B = uuid.uuid4(), uuid.uuid4()
JAN1 = datetime(2026, 1, 1, tzinfo=UTC)


def _result(department_id: uuid.UUID, code: str, cycle_id: uuid.UUID = CYCLE) -> CycleResult:
    return CycleResult(
        cycle_id=cycle_id,
        department_id=department_id,
        jurisdiction_code=HEIHE,
        cycle_code="2026-economic",
        period="2026",
        category="economic",
        department_code=code,
        result_version=1,
        stage="finalized",
        total=80.0,
        vetoed=False,
        weakest_indicators=[],
        weakest_dimensions=[],
    )


def _task(
    ref: str,
    status: str,
    *,
    verified_after_days: int | None = None,
    moves: tuple[str, ...] = (),
    cycle_id: uuid.UUID = CYCLE,
) -> tuple[RectificationTask, list[TaskStatusChange]]:
    task = RectificationTask(
        id=uuid.uuid4(),
        jurisdiction_code=HEIHE,
        cycle_id=cycle_id,
        department_id=A,
        department_code="HH-A",
        origin="indicator",
        origin_ref=ref,
        title=f"整改 {ref}",
        description="",
        deadline=date(2026, 2, 1),
        status=status,
        progress=100.0 if status == "verified" else 50.0,
        escalation_level=0,
        created_by="office",
        created_at=JAN1,
        updated_at=JAN1,
        verified_at=JAN1 + timedelta(days=verified_after_days)
        if verified_after_days is not None
        else None,
    )
    changes = [
        TaskStatusChange(
            task_id=task.id,
            from_status=None,
            to_status=to,
            actor="someone",
            actor_role="department",
            changed_at=JAN1 + timedelta(days=i + 1),
        )
        for i, to in enumerate(moves)
    ]
    return task, changes


def _feedback(
    created: datetime,
    respond_by: datetime,
    answered: datetime | None,
    cycle_id: uuid.UUID | None = None,
) -> CitizenFeedback:
    return CitizenFeedback(
        jurisdiction_code=HEIHE,
        cycle_id=cycle_id,
        kind="complaint",
        department_id=A,
        department_code="HH-A",
        text="排队太久",
        status="answered" if answered else "received",
        answer="已改进" if answered else None,
        answered_at=answered,
        first_answered_at=answered,
        respond_by=respond_by,
        reopen_count=0,
        created_at=created,
        updated_at=created,
    )


async def seed_fixture(stack: Stack) -> dict[str, uuid.UUID]:
    """Department A: six tasks of the cycle (two verified, one of them late and returned
    once; one submitted; one returned; one in progress; one open), one task of another
    cycle, and four pieces of feedback of 2026 (one answered in time, one late, one
    unanswered past its deadline, one not yet due) plus one of 2025. Department B: none."""
    now = datetime.now(UTC)
    rows: list[Any] = [_result(A, "HH-A"), _result(B, "HH-B"), _result(A, "HH-A", OTHER_CYCLE)]
    ids = {}
    for ref, status, days, moves in (
        ("T1", "verified", 20, ("submitted", "verified")),
        ("T2", "verified", 41, ("submitted", "returned", "submitted", "verified")),
        ("T3", "submitted", None, ("submitted",)),
        ("T4", "returned", None, ("submitted", "returned")),
        ("T5", "in_progress", None, ("in_progress",)),
        ("T6", "open", None, ()),
    ):
        task, changes = _task(ref, status, verified_after_days=days, moves=moves)
        ids[ref] = task.id
        rows += [task, *changes]
    stray, _ = _task("X1", "verified", verified_after_days=1, cycle_id=OTHER_CYCLE)
    rows.append(stray)
    march = datetime(2026, 3, 1, tzinfo=UTC)
    rows += [
        _feedback(march, march + timedelta(days=15), march + timedelta(days=3)),
        _feedback(march, march + timedelta(days=15), march + timedelta(days=20)),
        _feedback(march, march + timedelta(days=15), None),
        # Not yet due, whatever today is.
        _feedback(datetime(2026, 12, 31, tzinfo=UTC), now + timedelta(days=14), None),
        _feedback(datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 6, 16, tzinfo=UTC), None),
    ]
    async with stack.apps["feedback"].state.db.session() as session:
        for row in rows:
            session.add(row)
            await session.flush()
        await session.commit()
    return ids


async def emitted(stack: Stack) -> list[dict[str, Any]]:
    async with stack.apps["feedback"].state.db.session(read_only=True) as session:
        bodies = (
            await session.scalars(
                select(COMMON.outbox.body)
                .where(COMMON.outbox.type == "department_metrics.computed")
                .order_by(COMMON.outbox.seq)
            )
        ).all()
    return [json.loads(body)["data"] for body in bodies]


async def metrics(stack: Stack, headers: dict[str, str]) -> Any:
    return await stack.client("feedback").get(
        "/v1/metrics", params={"cycle_id": str(CYCLE)}, headers=headers
    )


class TestNumbers:
    async def test_the_known_fixture(self, stack: Stack) -> None:
        await seed_fixture(stack)
        response = await metrics(stack, auth())
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["period"] == "2026"
        a, b = body["departments"]
        assert a["department_code"] == "HH-A"
        assert {k: a[k] for k in ("tasks", "verified", "on_time", "submitted", "returned")} == {
            "tasks": 6,
            "verified": 2,
            "on_time": 1,
            "submitted": 4,
            "returned": 2,
        }
        assert a["closure_rate"] == 0.3333
        assert a["on_time_rate"] == 0.5
        assert a["reopen_rate"] == 0.5
        assert a["mean_days_to_close"] == 30.5
        assert (a["feedback"], a["feedback_due"], a["feedback_answered_on_time"]) == (4, 3, 1)
        assert a["feedback_response_rate"] == 0.3333
        assert b["department_code"] == "HH-B"
        assert (b["tasks"], b["closure_rate"], b["mean_days_to_close"]) == (0, None, None)
        assert (b["feedback"], b["feedback_response_rate"]) == (0, None)

    async def test_a_department_sees_its_own_line(self, stack: Stack) -> None:
        await seed_fixture(stack)
        own = await metrics(stack, auth("department", department_id=str(B)))
        assert [d["department_code"] for d in own.json()["departments"]] == ["HH-B"]
        named = await stack.client("feedback").get(
            "/v1/metrics",
            params={"cycle_id": str(CYCLE), "department_id": str(A)},
            headers=auth("department", department_id=str(B)),
        )
        assert named.status_code == 403
        stranger = await metrics(stack, auth("department", department_id=str(uuid.uuid4())))
        assert stranger.status_code == 404
        elsewhere = await metrics(stack, auth(jurisdictions=(HARBIN,)))
        assert elsewhere.status_code == 404
        assert (await metrics(stack, {})).status_code == 401


class TestAnnouncements:
    async def test_announced_once_then_only_when_a_number_changes(self, stack: Stack) -> None:
        ids = await seed_fixture(stack)
        scheduler = stack.apps["feedback"].state.scheduler
        now = datetime.now(UTC)
        # Two cycles are known: this one (A and B) and the other one (A).
        assert await scheduler.run_once("department_metrics", now=now) == 3
        first = await emitted(stack)
        mine = [e for e in first if e["cycle_id"] == str(CYCLE)]
        assert {e["department"]: e["closure_rate"] for e in mine} == {"HH-A": 0.3333, "HH-B": None}
        [a] = [e for e in mine if e["department"] == "HH-A"]
        assert (a["on_time_rate"], a["reopen_rate"], a["mean_days_to_close"]) == (0.5, 0.5, 30.5)
        assert a["feedback_response_rate"] == 0.3333
        assert await scheduler.run_once("department_metrics", now=now) == 0
        async with stack.apps["feedback"].state.db.session() as session:
            await session.execute(
                update(RectificationTask)
                .where(RectificationTask.id == ids["T3"])
                .values(status="verified", verified_at=JAN1 + timedelta(days=30))
            )
            await session.commit()
        assert await scheduler.run_once("department_metrics", now=now) == 1
        [change] = (await emitted(stack))[len(first) :]
        assert (change["department"], change["cycle_id"]) == ("HH-A", str(CYCLE))
        assert change["closure_rate"] == 0.5
        assert change["mean_days_to_close"] == round((20 + 41 + 30) / 3, 2)


class TestFeedbackOfTheCycle:
    async def test_feedback_on_the_cycles_publications_counts_and_another_cycles_does_not(
        self, stack: Stack
    ) -> None:
        await seed_fixture(stack)
        after = datetime(2027, 2, 1, tzinfo=UTC)
        async with stack.apps["feedback"].state.db.session() as session:
            # On this cycle's result, after its period: answered in time, so it counts.
            session.add(_feedback(after, after + timedelta(days=15), after, cycle_id=CYCLE))
            await session.flush()
            # In the period, but given on the other cycle's publication: not this cycle's.
            march = datetime(2026, 3, 1, tzinfo=UTC)
            session.add(_feedback(march, march + timedelta(days=15), march, cycle_id=OTHER_CYCLE))
            await session.commit()
        a = (await metrics(stack, auth())).json()["departments"][0]
        assert (a["feedback"], a["feedback_due"], a["feedback_answered_on_time"]) == (5, 4, 2)
        assert a["feedback_response_rate"] == 0.5

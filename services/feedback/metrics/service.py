"""Department metrics, computed from the tables every time they are asked for: the API
answers with them, and a periodic job announces `department_metrics.computed` for each
department whose numbers changed since they were last announced."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import DEPARTMENT_BOUND, Principal
from services.common.db import upsert_insert, utcnow
from services.common.errors import Forbidden, NotFound
from services.common.events.outbox import emit
from services.common.scheduler import PeriodicJob
from services.feedback import service as citizen_service
from services.feedback.metrics import schemas
from services.feedback.models import (
    CitizenFeedback,
    CycleResult,
    DepartmentMetrics,
    RectificationTask,
    TaskStatusChange,
)

JOB_NAME = "department_metrics"
# The numbers the event carries (and whose change it announces).
ANNOUNCED = (
    "closure_rate",
    "on_time_rate",
    "reopen_rate",
    "mean_days_to_close",
    "feedback_response_rate",
)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


async def compute(
    session: AsyncSession, cycle_id: uuid.UUID, now: datetime
) -> tuple[list[CycleResult], list[schemas.DepartmentMetrics]]:
    """Every department of a cycle (as its results named them), with its numbers."""
    results = list(
        (
            await session.execute(
                select(CycleResult)
                .where(CycleResult.cycle_id == cycle_id)
                .order_by(CycleResult.department_code)
            )
        ).scalars()
    )
    if not results:
        return [], []
    tasks = list(
        (
            await session.execute(
                select(RectificationTask).where(RectificationTask.cycle_id == cycle_id)
            )
        ).scalars()
    )
    task_ids = [t.id for t in tasks]
    moves: dict[uuid.UUID, set[str]] = defaultdict(set)
    if task_ids:
        changes = await session.execute(
            select(TaskStatusChange.task_id, TaskStatusChange.to_status)
            .where(
                TaskStatusChange.task_id.in_(task_ids),
                TaskStatusChange.to_status.in_(("submitted", "returned")),
            )
            .distinct()
        )
        for task_id, status in changes:
            moves[task_id].add(status)
    start, end = citizen_service.period_bounds(results[0].period)
    feedback = list(
        (
            await session.execute(
                select(CitizenFeedback).where(
                    CitizenFeedback.department_id.in_([r.department_id for r in results]),
                    CitizenFeedback.jurisdiction_code == results[0].jurisdiction_code,
                    # Given on the cycle's publications, or on none and in its period.
                    or_(
                        CitizenFeedback.cycle_id == results[0].cycle_id,
                        CitizenFeedback.cycle_id.is_(None)
                        & (CitizenFeedback.created_at >= start)
                        & (CitizenFeedback.created_at < end),
                    ),
                )
            )
        ).scalars()
    )
    by_department: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for task in tasks:
        by_department[task.department_id].append(task)
    said: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for item in feedback:
        said[item.department_id].append(item)
    return results, [
        _numbers(r, by_department[r.department_id], moves, said[r.department_id], now)
        for r in results
    ]


def _numbers(
    result: CycleResult,
    tasks: list[RectificationTask],
    moves: dict[uuid.UUID, set[str]],
    feedback: list[CitizenFeedback],
    now: datetime,
) -> schemas.DepartmentMetrics:
    verified = [t for t in tasks if t.status == "verified" and t.verified_at is not None]
    on_time = [t for t in verified if t.verified_at.date() <= t.deadline]
    submitted = [t for t in tasks if "submitted" in moves.get(t.id, ())]
    returned = [t for t in tasks if "returned" in moves.get(t.id, ())]
    days = [(t.verified_at - t.created_at).total_seconds() / 86400 for t in verified]
    due = [
        f
        for f in feedback
        if f.first_answered_at is not None or (f.respond_by is not None and f.respond_by <= now)
    ]
    answered_on_time = [
        f
        for f in due
        if f.first_answered_at is not None
        and (f.respond_by is None or f.first_answered_at <= f.respond_by)
    ]
    return schemas.DepartmentMetrics(
        department_id=result.department_id,
        department_code=result.department_code,
        tasks=len(tasks),
        verified=len(verified),
        closure_rate=_rate(len(verified), len(tasks)),
        on_time=len(on_time),
        on_time_rate=_rate(len(on_time), len(verified)),
        submitted=len(submitted),
        returned=len(returned),
        reopen_rate=_rate(len(returned), len(submitted)),
        mean_days_to_close=round(sum(days) / len(days), 2) if days else None,
        feedback=len(feedback),
        feedback_due=len(due),
        feedback_answered_on_time=len(answered_on_time),
        feedback_response_rate=_rate(len(answered_on_time), len(due)),
    )


async def cycle_metrics(
    session: AsyncSession,
    principal: Principal,
    cycle_id: uuid.UUID,
    *,
    department_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> schemas.CycleMetrics:
    """A cycle's metrics for the office (every department, or the one named) or a
    department (its own)."""
    if (
        principal.role in DEPARTMENT_BOUND
        and department_id is not None
        and str(department_id) != str(principal.department_id)
    ):
        raise Forbidden("A department reads its own metrics only")
    now = now or utcnow()
    results, numbers = await compute(session, cycle_id, now)
    if not results or not principal.may_access(results[0].jurisdiction_code):
        raise NotFound(f"No results of cycle {cycle_id} are known here")
    if principal.role in DEPARTMENT_BOUND:
        numbers = [n for n in numbers if str(n.department_id) == str(principal.department_id)]
        if not numbers:
            raise NotFound(f"Your department has no result in cycle {cycle_id}")
    elif department_id is not None:
        numbers = [n for n in numbers if n.department_id == department_id]
    return schemas.CycleMetrics(
        cycle_id=cycle_id,
        jurisdiction_code=results[0].jurisdiction_code,
        period=results[0].period,
        computed_at=now,
        departments=numbers,
    )


def _fingerprint(announced: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(announced, sort_keys=True).encode()).hexdigest()


async def announce_changes(session: AsyncSession, now: datetime) -> int:
    """One round of the job: every cycle's departments whose numbers differ from those last
    announced get `department_metrics.computed`. Each change is claimed by one conditional
    statement (an insert that finds the key free, or an UPDATE from the fingerprint it
    read), so with several replicas each change is announced once."""
    conn = await session.connection()
    cycles = list((await session.execute(select(CycleResult.cycle_id).distinct())).scalars())
    stored = {
        (row.cycle_id, row.department_id): row.fingerprint
        for row in await conn.execute(
            select(
                DepartmentMetrics.cycle_id,
                DepartmentMetrics.department_id,
                DepartmentMetrics.fingerprint,
            )
        )
    }
    announced = 0
    for cycle_id in cycles:
        results, numbers = await compute(session, cycle_id, now)
        for result, row in zip(results, numbers, strict=True):
            values = row.model_dump(include=set(ANNOUNCED))
            fingerprint = _fingerprint(values)
            key = (cycle_id, result.department_id)
            previous = stored.get(key)
            if previous == fingerprint:
                continue
            if previous is None:
                claimed = await conn.execute(
                    upsert_insert(session, DepartmentMetrics)
                    .values(
                        cycle_id=cycle_id,
                        department_id=result.department_id,
                        jurisdiction_code=result.jurisdiction_code,
                        department_code=result.department_code,
                        fingerprint=fingerprint,
                        numbers=values,
                        computed_at=now,
                    )
                    .on_conflict_do_nothing(index_elements=["cycle_id", "department_id"])
                )
            else:
                claimed = await conn.execute(
                    update(DepartmentMetrics)
                    .where(
                        DepartmentMetrics.cycle_id == cycle_id,
                        DepartmentMetrics.department_id == result.department_id,
                        DepartmentMetrics.fingerprint == previous,
                    )
                    .values(fingerprint=fingerprint, numbers=values, computed_at=now)
                )
            if claimed.rowcount != 1:
                continue  # another replica announced it first
            await emit(
                session,
                "department_metrics.computed",
                aggregate=f"department_metrics:{cycle_id}:{result.department_id}",
                jurisdiction_code=result.jurisdiction_code,
                data={
                    "jurisdiction_code": result.jurisdiction_code,
                    "cycle_id": str(cycle_id),
                    "department_id": str(result.department_id),
                    "department": result.department_code,
                    **values,
                    "computed_at": str(now),
                },
            )
            announced += 1
    return announced


METRICS_JOB = PeriodicJob(name=JOB_NAME, run=announce_changes, interval_seconds=3600)

"""The rectification deadlines job: overdue tasks, escalation, reminders.

Each round, with `now` injected in tests:
- a task past its deadline (due yesterday or earlier; due today is not late) and not
  verified is marked overdue (`overdue_since`) and `rectification.overdue` is emitted at
  escalation level 0;
- it rises to level n once it is `task_escalation_days[n-1]` days overdue, with one
  `rectification.overdue` per level reached (a task found far behind jumps straight to its
  level, announced once);
- a task still being worked on is reminded `task_reminder_days` before its deadline, once
  (`reminded_at`, and `rectification.reminded` for the owner department's systems).

Every change is a conditional UPDATE (… WHERE overdue_since IS NULL, … WHERE
escalation_level < n, … WHERE reminded_at IS NULL): with several replicas whichever gets
there first makes it, and its event is written in the same transaction, so it goes out once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.audit import record_change
from services.common.auth import Principal
from services.common.scheduler import PeriodicJob
from services.feedback import events
from services.feedback.models import RectificationTask
from services.feedback.tasks.service import WORKING

JOB_NAME = "task_deadlines"
T = RectificationTask


def _system(jurisdiction: str) -> Principal:
    return Principal(subject=f"scheduler:{JOB_NAME}", role="admin", jurisdictions=(jurisdiction,))


async def _changed(session: AsyncSession, statement: Any, event_type: str, action: str) -> int:
    """Run one conditional UPDATE … RETURNING id; audit and announce each task it changed."""
    conn = await session.connection()
    ids = list((await conn.execute(statement.returning(T.id))).scalars())
    if not ids:
        return 0
    rows = await conn.execute(select(*T.__table__.c).where(T.id.in_(ids)).order_by(T.id))
    for row in rows:
        record_change(session, _system(row.jurisdiction_code), action, row, after=None)
        await events.rectification_changed(session, event_type, row)
    return len(ids)


async def run_deadlines(
    session: AsyncSession, now: datetime, *, escalation_days: list[int], reminder_days: int
) -> int:
    today = now.date()
    late = (T.status != "verified") & (T.deadline < today)
    changed = await _changed(
        session,
        update(T).where(late, T.overdue_since.is_(None)).values(overdue_since=now, updated_at=now),
        "rectification.overdue",
        "rectification_task.overdue",
    )
    levels = sorted(enumerate(sorted(escalation_days), start=1), reverse=True)
    for level, days in levels:
        changed += await _changed(
            session,
            update(T)
            .where(
                late,
                T.overdue_since.is_not(None),
                T.deadline <= today - timedelta(days=days),
                T.escalation_level < level,
            )
            .values(escalation_level=level, updated_at=now),
            "rectification.overdue",
            "rectification_task.escalated",
        )
    changed += await _changed(
        session,
        update(T)
        .where(
            T.status.in_(WORKING),
            T.reminded_at.is_(None),
            T.deadline >= today,
            T.deadline <= today + timedelta(days=reminder_days),
        )
        .values(reminded_at=now, updated_at=now),
        "rectification.reminded",
        "rectification_task.reminded",
    )
    return changed


def deadlines_job(settings: Any) -> PeriodicJob:
    escalation_days = list(settings.task_escalation_days)
    reminder_days = settings.task_reminder_days

    async def run(session: AsyncSession, now: datetime) -> int:
        return await run_deadlines(
            session, now, escalation_days=escalation_days, reminder_days=reminder_days
        )

    return PeriodicJob(JOB_NAME, run, settings.task_deadlines_interval_seconds)

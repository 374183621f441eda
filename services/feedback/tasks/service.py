"""Rectification tasks: created by the office or from results, answered by the department,
verified (or returned) by the office.

The status machine, and who may move it:

    open → planned → in_progress → submitted → verified        (verified ends the task)
                                              ↘ returned → in_progress | submitted

The owner department moves its task forward (a written plan moves an open task to
planned); only the office verifies or returns a submitted task, and the department can do
neither to its own. Every change is audited, recorded in the task's status history when
the status moves, and announced as `rectification.status_changed`.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.audit import record_change, snapshot
from services.common.auth import Principal
from services.common.constraints import violates_unique
from services.common.db import utcnow
from services.common.errors import Conflict, Forbidden, NotFound, Unprocessable
from services.common.jurisdictions import ensure_writable, scoped
from services.common.pagination import PageParams, paginate
from services.feedback import events
from services.feedback.models import (
    TASK_ORIGINS,
    CycleResult,
    RectificationTask,
    TaskEvidence,
    TaskMilestone,
    TaskStatusChange,
)

# to_status → (from statuses, who: "department" or "office")
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "planned": (("open",), "department"),
    "in_progress": (("planned", "returned"), "department"),
    "submitted": (("in_progress", "returned"), "department"),
    "verified": (("submitted",), "office"),
    "returned": (("submitted",), "office"),
}
# Statuses in which the department still works on its task.
WORKING = ("open", "planned", "in_progress", "returned")


class TaskNotFound(NotFound):
    code = "task-not-found"
    title = "No such rectification task"


class InvalidTaskTransition(Conflict):
    code = "invalid-task-transition"
    title = "The task cannot move to that status"


class NotTheDepartment(Forbidden):
    code = "department-only"
    title = "Only the owner department may do this"


class NotTheOffice(Forbidden):
    code = "office-only"
    title = "Only the performance office may do this"


class TaskClosed(Conflict):
    code = "task-closed"
    title = "The task is no longer being worked on"


class ProgressFromMilestones(Conflict):
    code = "progress-from-milestones"
    title = "The task's progress is rolled up from its milestones"


class ReasonRequired(Unprocessable):
    code = "reason-required"
    title = "Say why"


class PlanRequired(Conflict):
    code = "plan-required"
    title = "Write the plan first"


class TaskExists(Conflict):
    code = "task-exists"
    title = "This task already exists"


class UnknownOrigin(Unprocessable):
    code = "unknown-origin"
    title = "Unknown task origin"


# --- who may ------------------------------------------------------------------------------


def department_of(principal: Principal) -> uuid.UUID | None:
    if principal.role != "department" or not principal.department_id:
        return None
    try:
        return uuid.UUID(principal.department_id)
    except ValueError:
        return None


def may_read(principal: Principal, task: Any) -> bool:
    if not principal.may_access(task.jurisdiction_code):
        return False
    if principal.role == "admin":
        return True
    return principal.role == "department" and department_of(principal) == task.department_id


def require_department(principal: Principal, task: Any, what: str) -> None:
    """The owner department's own work: the office may not do it in its place."""
    if principal.role == "admin":
        raise NotTheDepartment(f"The office cannot {what}: it is the department's to do")
    if department_of(principal) != task.department_id:
        raise NotTheDepartment(f"Only department {task.department_code} may {what}")


def require_office(principal: Principal, task: Any, what: str) -> None:
    if principal.role != "admin":
        raise NotTheOffice(f"Only the performance office may {what}")
    ensure_writable(principal, task.jurisdiction_code)


async def _locked(session: AsyncSession, principal: Principal, task_id: uuid.UUID) -> Any:
    """The task to change, locked; 404 when the principal may not even see it."""
    task = await session.get(RectificationTask, task_id, with_for_update=True)
    if task is None or not may_read(principal, task):
        raise TaskNotFound(f"Rectification task {task_id} not found")
    return task


# --- creating -----------------------------------------------------------------------------


async def previous_task(session: AsyncSession, task: RectificationTask) -> uuid.UUID | None:
    """The same problem's task of the department in its previous cycle (same category,
    previous period), if there was one: "unsatisfied twice in a row"."""
    if task.cycle_id is None or task.origin_ref is None or task.origin == "manual":
        return None
    conn = await session.connection()
    current = (
        await conn.execute(
            select(CycleResult.category, CycleResult.period).where(
                CycleResult.cycle_id == task.cycle_id,
                CycleResult.department_id == task.department_id,
            )
        )
    ).first()
    if current is None:
        return None
    before = previous_period(current.period)
    if before is None:
        return None
    previous_cycles = select(CycleResult.cycle_id).where(
        CycleResult.department_id == task.department_id,
        CycleResult.category == current.category,
        CycleResult.period == before,
    )
    found = (
        await conn.execute(
            select(RectificationTask.id)
            .where(
                RectificationTask.cycle_id.in_(previous_cycles),
                RectificationTask.department_id == task.department_id,
                RectificationTask.origin == task.origin,
                RectificationTask.origin_ref == task.origin_ref,
            )
            .order_by(RectificationTask.id)
            .limit(1)
        )
    ).scalar()
    return found


def previous_period(period: str) -> str | None:
    """`2026` → `2025`, `2026Q1` → `2025Q4`, `202603` → `202602`; None when not a period."""
    try:
        if len(period) == 4:
            return str(int(period) - 1)
        if len(period) == 6 and period[4] == "Q":
            year, quarter = int(period[:4]), int(period[5])
            return f"{year - 1}Q4" if quarter == 1 else f"{year}Q{quarter - 1}"
        if len(period) == 6:
            year, month = int(period[:4]), int(period[4:])
            return f"{year - 1}12" if month == 1 else f"{year}{month - 1:02d}"
    except ValueError:
        return None
    return None


async def create_task(
    session: AsyncSession,
    principal: Principal,
    *,
    jurisdiction_code: str,
    department_id: uuid.UUID,
    department_code: str,
    cycle_id: uuid.UUID | None,
    origin: str,
    origin_ref: str | None,
    title: str,
    description: str,
    deadline: date,
    report_id: uuid.UUID | None = None,
) -> RectificationTask:
    """A new open task (audited, `rectification.created`); 409 task-exists when the same
    cycle, department, origin and reference already have one."""
    ensure_writable(principal, jurisdiction_code)
    if origin not in TASK_ORIGINS:
        raise UnknownOrigin(f"Origin must be one of {', '.join(TASK_ORIGINS)}")
    task = RectificationTask(
        jurisdiction_code=jurisdiction_code,
        department_id=department_id,
        department_code=department_code,
        cycle_id=cycle_id,
        origin=origin,
        origin_ref=origin_ref,
        report_id=report_id,
        title=title,
        description=description,
        deadline=deadline,
        status="open",
        progress=0.0,
        escalation_level=0,
        created_by=principal.subject,
    )
    task.repeat_of = await previous_task(session, task)
    try:
        async with session.begin_nested():
            session.add(task)
            await session.flush()
    except IntegrityError as exc:
        if violates_unique(
            exc,
            RectificationTask.__table__,
            ("cycle_id", "department_id", "origin", "origin_ref"),
        ):
            raise TaskExists(
                f"Department {department_code} already has the {origin} task {origin_ref!r}"
                " of this cycle"
            ) from None
        raise
    session.add(
        TaskStatusChange(
            task_id=task.id,
            from_status=None,
            to_status="open",
            actor=principal.subject,
            actor_role=principal.role,
            reason=f"created ({origin})",
        )
    )
    record_change(session, principal, "rectification_task.created", task)
    await events.rectification_changed(session, "rectification.created", task)
    return task


async def update_task(
    session: AsyncSession, principal: Principal, task_id: uuid.UUID, changes: dict[str, Any]
) -> RectificationTask:
    """The office changes a task's title, description or deadline; a new deadline starts
    the overdue clock (and its escalation and reminder) again."""
    task = await _locked(session, principal, task_id)
    require_office(principal, task, "change a task")
    if task.status == "verified":
        raise TaskClosed(f"Task {task_id} is verified")
    before = snapshot(task)
    for field, value in changes.items():
        setattr(task, field, value)
    if "deadline" in changes and changes["deadline"] != before["deadline"]:
        task.overdue_since = None
        task.escalation_level = 0
        task.reminded_at = None
    await session.flush()
    record_change(session, principal, "rectification_task.updated", task, before=before)
    await events.rectification_changed(session, "rectification.status_changed", task)
    return task


# --- the department's work ----------------------------------------------------------------


async def _record_status(
    session: AsyncSession, principal: Principal, task: Any, to_status: str, reason: str | None
) -> None:
    session.add(
        TaskStatusChange(
            task_id=task.id,
            from_status=task.status,
            to_status=to_status,
            actor=principal.subject,
            actor_role=principal.role,
            reason=reason,
        )
    )
    task.status = to_status
    if to_status == "verified":
        task.verified_at = utcnow()


async def change_status(
    session: AsyncSession,
    principal: Principal,
    task_id: uuid.UUID,
    to_status: str,
    reason: str | None,
) -> RectificationTask:
    """Move the task along the status machine, as the one allowed to make that step."""
    task = await _locked(session, principal, task_id)
    rule = TRANSITIONS.get(to_status)
    if rule is None:
        raise InvalidTaskTransition(
            f"A task moves to {', '.join(TRANSITIONS)}; not to {to_status!r}",
            status_now=task.status,
        )
    sources, who = rule
    # The step itself first: whoever may see the task may know it cannot take that step.
    if task.status not in sources:
        raise InvalidTaskTransition(
            f"A {task.status} task cannot become {to_status}"
            f" (only a {' or '.join(sources)} one can)",
            status_now=task.status,
        )
    if who == "office":
        require_office(principal, task, f"mark a task {to_status}")
    else:
        require_department(principal, task, f"move its task to {to_status}")
    if to_status == "returned" and not (reason or "").strip():
        raise ReasonRequired("Returning a task needs the reason the department must address")
    if to_status == "planned" and not (task.plan or "").strip():
        raise PlanRequired(f"Task {task_id} has no plan yet")
    before = snapshot(task)
    await _record_status(session, principal, task, to_status, reason)
    await session.flush()
    record_change(session, principal, "rectification_task.status_changed", task, before=before)
    await events.rectification_changed(session, "rectification.status_changed", task)
    return task


async def write_plan(
    session: AsyncSession, principal: Principal, task_id: uuid.UUID, plan: str
) -> RectificationTask:
    """The department's plan; an open task becomes planned when its plan is written."""
    task = await _locked(session, principal, task_id)
    require_department(principal, task, "write the plan")
    if task.status not in WORKING:
        raise TaskClosed(f"A {task.status} task's plan can no longer change")
    before = snapshot(task)
    task.plan = plan
    if task.status == "open":
        await _record_status(session, principal, task, "planned", "plan written")
    await session.flush()
    record_change(session, principal, "rectification_task.plan_written", task, before=before)
    await events.rectification_changed(session, "rectification.status_changed", task)
    return task


async def _milestone_count(session: AsyncSession, task_id: uuid.UUID) -> int:
    conn = await session.connection()
    return (
        await conn.execute(
            select(func.count()).select_from(TaskMilestone).where(TaskMilestone.task_id == task_id)
        )
    ).scalar_one()


async def set_progress(
    session: AsyncSession,
    principal: Principal,
    task_id: uuid.UUID,
    progress: float,
    note: str | None,
) -> RectificationTask:
    """The department reports how far it is (0–100) on a task without milestones."""
    task = await _locked(session, principal, task_id)
    require_department(principal, task, "report progress")
    if task.status not in WORKING:
        raise TaskClosed(f"A {task.status} task's progress can no longer change")
    if not 0 <= progress <= 100:
        raise Unprocessable("Progress is a percentage from 0 to 100", code="invalid-progress")
    if await _milestone_count(session, task.id):
        raise ProgressFromMilestones(
            f"Task {task_id} has milestones: update their progress instead"
        )
    before = snapshot(task)
    task.progress = float(progress)
    await session.flush()
    after = {**snapshot(task), "note": note}
    record_change(
        session, principal, "rectification_task.progress_set", task, before=before, after=after
    )
    await events.rectification_changed(session, "rectification.status_changed", task)
    return task


def rolled_up(milestones: list[Any]) -> float:
    """Decidim's accountability rule: weighted by the milestones' weights when every one has
    a weight, otherwise their plain average."""
    if not milestones:
        return 0.0
    if all(m.weight is not None for m in milestones):
        total = sum(m.weight for m in milestones)
        return round(sum(m.progress * m.weight for m in milestones) / total, 4)
    return round(sum(m.progress for m in milestones) / len(milestones), 4)


async def milestones_of(session: AsyncSession, task_id: uuid.UUID) -> list[Any]:
    conn = await session.connection()
    rows = await conn.execute(
        select(*TaskMilestone.__table__.c)
        .where(TaskMilestone.task_id == task_id)
        .order_by(TaskMilestone.position, TaskMilestone.id)
    )
    return list(rows.all())


async def _roll_up(session: AsyncSession, task: Any) -> None:
    task.progress = rolled_up(await milestones_of(session, task.id))


async def add_milestone(
    session: AsyncSession, principal: Principal, task_id: uuid.UUID, data: dict[str, Any]
) -> RectificationTask:
    task = await _locked(session, principal, task_id)
    require_department(principal, task, "add milestones")
    if task.status not in WORKING:
        raise TaskClosed(f"A {task.status} task's milestones can no longer change")
    before = snapshot(task)
    position = await _milestone_count(session, task.id)
    milestone = TaskMilestone(task_id=task.id, position=position, **data)
    session.add(milestone)
    await session.flush()
    await _roll_up(session, task)
    await session.flush()
    record_change(
        session,
        principal,
        "rectification_task.milestone_added",
        task,
        before=before,
        after={**snapshot(task), "milestone": snapshot(milestone)},
    )
    await events.rectification_changed(session, "rectification.status_changed", task)
    return task


async def update_milestone(
    session: AsyncSession,
    principal: Principal,
    task_id: uuid.UUID,
    milestone_id: uuid.UUID,
    changes: dict[str, Any],
) -> RectificationTask:
    task = await _locked(session, principal, task_id)
    require_department(principal, task, "update milestones")
    if task.status not in WORKING:
        raise TaskClosed(f"A {task.status} task's milestones can no longer change")
    milestone = await session.get(TaskMilestone, milestone_id, with_for_update=True)
    if milestone is None or milestone.task_id != task.id:
        raise NotFound(f"Task {task_id} has no milestone {milestone_id}")
    before = {**snapshot(task), "milestone": snapshot(milestone)}
    for field, value in changes.items():
        setattr(milestone, field, value)
    await session.flush()
    await _roll_up(session, task)
    await session.flush()
    record_change(
        session,
        principal,
        "rectification_task.milestone_updated",
        task,
        before=before,
        after={**snapshot(task), "milestone": snapshot(milestone)},
    )
    await events.rectification_changed(session, "rectification.status_changed", task)
    return task


async def add_evidence(
    session: AsyncSession,
    principal: Principal,
    task_id: uuid.UUID,
    *,
    url: str | None,
    description: str,
) -> RectificationTask:
    task = await _locked(session, principal, task_id)
    require_department(principal, task, "add evidence")
    if task.status == "verified":
        raise TaskClosed(f"Task {task_id} is verified")
    evidence = TaskEvidence(
        task_id=task.id, url=url, description=description, added_by=principal.subject
    )
    session.add(evidence)
    await session.flush()
    record_change(
        session,
        principal,
        "rectification_task.evidence_added",
        task,
        after={"evidence": snapshot(evidence)},
    )
    return task


# --- reading ------------------------------------------------------------------------------


async def get_task(session: AsyncSession, principal: Principal, task_id: uuid.UUID) -> Any:
    task = await session.get(RectificationTask, task_id)
    if task is None or not may_read(principal, task):
        raise TaskNotFound(f"Rectification task {task_id} not found")
    return task


async def task_details(session: AsyncSession, task_id: uuid.UUID) -> dict[str, list[Any]]:
    conn = await session.connection()
    evidence = await conn.execute(
        select(*TaskEvidence.__table__.c)
        .where(TaskEvidence.task_id == task_id)
        .order_by(TaskEvidence.id)
    )
    history = await conn.execute(
        select(*TaskStatusChange.__table__.c)
        .where(TaskStatusChange.task_id == task_id)
        .order_by(TaskStatusChange.changed_at, TaskStatusChange.id)
    )
    return {
        "milestones": await milestones_of(session, task_id),
        "evidence": list(evidence.all()),
        "history": list(history.all()),
    }


async def list_tasks(
    session: AsyncSession,
    principal: Principal,
    page: PageParams,
    *,
    today: date,
    jurisdiction: str | None = None,
    cycle_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
    status: str | None = None,
    overdue: bool | None = None,
    repeat: bool | None = None,
) -> tuple[list[Any], str | None]:
    """The tasks of your jurisdictions (a department: its own), filtered, in id order."""
    T = RectificationTask
    stmt = scoped(select(T), T, principal)
    if principal.role != "admin":
        own = department_of(principal)
        if department_id is not None and department_id != own:
            raise NotTheDepartment("A department lists its own tasks only")
        stmt = stmt.where(T.department_id == (own or uuid.UUID(int=0)))
    if jurisdiction is not None:
        stmt = stmt.where(T.jurisdiction_code == jurisdiction)
    if cycle_id is not None:
        stmt = stmt.where(T.cycle_id == cycle_id)
    if department_id is not None:
        stmt = stmt.where(T.department_id == department_id)
    if status is not None:
        stmt = stmt.where(T.status == status)
    if overdue is not None:
        late = (T.deadline < today) & (T.status != "verified")
        stmt = stmt.where(late if overdue else ~late)
    if repeat is not None:
        stmt = stmt.where(T.repeat_of.is_not(None) if repeat else T.repeat_of.is_(None))
    return await paginate(session, stmt, T.id, page, plain=True)

"""Appeals: a department contests one indicator or group score of its preliminary result
within the appeal window; the office decides, in writing. `appeal.decided` makes evaluation
re-score an upheld (or partly upheld) appeal, with the adjustment in points.

Decided appeals are public; a filed one is seen by the office and the department only.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.audit import record_change, snapshot
from services.common.auth import Principal
from services.common.db import utcnow
from services.common.errors import Conflict, Forbidden, NotFound, Unprocessable
from services.common.jurisdictions import ensure_writable
from services.common.pagination import PageParams, paginate
from services.common.privacy import scrub
from services.feedback import events
from services.feedback.appeals import schemas
from services.feedback.models import Appeal, CycleResult
from services.feedback.tasks.service import department_of

DECIDED = ("upheld", "partly_upheld", "dismissed")


class AppealNotFound(NotFound):
    code = "appeal-not-found"
    title = "No such appeal"


class NoPreliminaryResult(Conflict):
    code = "no-preliminary-result"
    title = "There is no result to appeal yet"


class AppealWindowClosed(Conflict):
    code = "appeal-window-closed"
    title = "The appeal window has closed"


class AppealPending(Conflict):
    code = "appeal-pending"
    title = "This score is already under appeal"


class AlreadyDecided(Conflict):
    code = "appeal-decided"
    title = "The appeal has been decided"


class InvalidAdjustment(Unprocessable):
    code = "invalid-adjustment"
    title = "The decision and its adjustment do not agree"


class DepartmentsAppeal(Forbidden):
    code = "department-only"
    title = "Only a department appeals its own result"


async def file_appeal(
    session: AsyncSession, principal: Principal, data: schemas.AppealCreate
) -> Appeal:
    """The department's appeal, while the window of its preliminary result is open."""
    department_id = department_of(principal)
    if department_id is None:
        raise DepartmentsAppeal("Appeals are filed by the department whose result it is")
    result = await session.get(CycleResult, (data.cycle_id, department_id))
    if result is None or not principal.may_access(result.jurisdiction_code):
        raise NoPreliminaryResult(
            f"Cycle {data.cycle_id} has no preliminary result of your department yet"
        )
    ends = result.appeal_window_ends_at
    now = utcnow()
    if result.stage == "finalized" or ends is None or now >= ends:
        raise AppealWindowClosed(
            "Appeals were accepted until "
            + (ends.isoformat() if ends else "the result was announced"),
            appeal_window_ends_at=ends.isoformat() if ends else None,
        )
    pending = (
        await session.execute(
            select(Appeal.id).where(
                Appeal.cycle_id == data.cycle_id,
                Appeal.department_id == department_id,
                Appeal.target_kind == data.target_kind,
                Appeal.target == data.target,
                Appeal.status == "filed",
            )
        )
    ).first()
    if pending is not None:
        raise AppealPending(f"Appeal {pending.id} on {data.target} awaits its decision")
    appeal = Appeal(
        jurisdiction_code=result.jurisdiction_code,
        cycle_id=data.cycle_id,
        department_id=department_id,
        department_code=result.department_code,
        result_version=result.result_version,
        target_kind=data.target_kind,
        target=data.target,
        reason=scrub(data.reason),
        evidence=[{"url": e.url, "description": scrub(e.description)} for e in data.evidence],
        status="filed",
        filed_by=principal.subject,
        filed_at=now,
    )
    session.add(appeal)
    await session.flush()
    record_change(session, principal, "appeal.filed", appeal)
    await events.appeal_filed(session, appeal)
    return appeal


async def decide(
    session: AsyncSession, principal: Principal, appeal_id: uuid.UUID, data: schemas.AppealDecision
) -> Appeal:
    """The office's written decision; upheld and partly upheld carry points to add."""
    appeal = await session.get(Appeal, appeal_id, with_for_update=True)
    if appeal is None or not principal.may_access(appeal.jurisdiction_code):
        raise AppealNotFound(f"Appeal {appeal_id} not found")
    ensure_writable(principal, appeal.jurisdiction_code)
    if appeal.status != "filed":
        raise AlreadyDecided(f"Appeal {appeal_id} was {appeal.status}")
    points = data.adjustment_points
    if data.decision == "dismissed" and points:
        raise InvalidAdjustment("A dismissed appeal adjusts nothing")
    if data.decision != "dismissed" and not points:
        raise InvalidAdjustment(f"An appeal {data.decision} needs its adjustment in points")
    before = snapshot(appeal)
    appeal.status = data.decision
    appeal.adjustment_points = points if data.decision != "dismissed" else None
    appeal.decision_text = scrub(data.decision_text)
    appeal.decided_by = principal.subject
    appeal.decided_at = utcnow()
    await session.flush()
    record_change(session, principal, "appeal.decided", appeal, before=before)
    await events.appeal_decided(session, appeal)
    return appeal


def _visible(principal: Principal) -> Any:
    """Decided appeals for anyone; filed ones for the office and their department."""
    if principal.role == "admin":
        return or_(
            Appeal.status.in_(DECIDED), Appeal.jurisdiction_code.in_(principal.jurisdictions)
        )
    own = department_of(principal)
    if own is not None:
        return or_(
            Appeal.status.in_(DECIDED),
            (Appeal.department_id == own) & Appeal.jurisdiction_code.in_(principal.jurisdictions),
        )
    return Appeal.status.in_(DECIDED)


async def list_appeals(
    session: AsyncSession,
    principal: Principal,
    page: PageParams,
    *,
    jurisdiction: str | None = None,
    cycle_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
    status: str | None = None,
) -> tuple[list[Any], str | None]:
    stmt = select(Appeal).where(_visible(principal))
    if jurisdiction is not None:
        stmt = stmt.where(Appeal.jurisdiction_code == jurisdiction)
    if cycle_id is not None:
        stmt = stmt.where(Appeal.cycle_id == cycle_id)
    if department_id is not None:
        stmt = stmt.where(Appeal.department_id == department_id)
    if status is not None:
        stmt = stmt.where(Appeal.status == status)
    return await paginate(session, stmt, Appeal.id, page, plain=True)


async def get_appeal(session: AsyncSession, principal: Principal, appeal_id: uuid.UUID) -> Any:
    row = (
        await session.execute(
            select(*Appeal.__table__.c).where(Appeal.id == appeal_id, _visible(principal))
        )
    ).first()
    if row is None:
        raise AppealNotFound(f"Appeal {appeal_id} not found")
    return row

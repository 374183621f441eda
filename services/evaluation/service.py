"""Rules for evaluation cycles: the round in which departments are rated and scored."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.audit import record_change, snapshot
from services.common.auth import Principal
from services.common.db import utcnow
from services.common.errors import Conflict, Unprocessable
from services.common.jurisdictions import ensure_writable, get_visible, get_writable, scoped
from services.common.pagination import PageParams, paginate
from services.evaluation import events, schemas
from services.evaluation.models import Cycle

TRANSITIONS = {"draft": {"open"}, "open": {"closed"}, "closed": set()}


class CycleCodeTaken(Conflict):
    code = "cycle-code-taken"
    title = "Cycle code already in use"


class InvalidTransition(Conflict):
    code = "invalid-cycle-transition"
    title = "The cycle cannot move to that status"


class CycleNotDraft(Conflict):
    code = "cycle-not-draft"
    title = "Only a draft cycle can change its period"


async def list_cycles(
    session: AsyncSession,
    principal: Principal,
    page: PageParams,
    *,
    jurisdiction: str | None = None,
    status: str | None = None,
    period: str | None = None,
) -> tuple[list[Cycle], str | None]:
    stmt = scoped(select(Cycle), Cycle, principal)
    if jurisdiction is not None:
        stmt = stmt.where(Cycle.jurisdiction_code == jurisdiction)
    if status is not None:
        stmt = stmt.where(Cycle.status == status)
    if period is not None:
        stmt = stmt.where(Cycle.period == period)
    return await paginate(session, stmt, Cycle.id, page)


async def get_cycle(session: AsyncSession, principal: Principal, cycle_id: uuid.UUID) -> Cycle:
    return await get_visible(session, Cycle, cycle_id, principal, what="Cycle")


async def create_cycle(
    session: AsyncSession, principal: Principal, data: schemas.CycleCreate
) -> Cycle:
    """A new cycle starts as a draft in one of the caller's jurisdictions."""
    ensure_writable(principal, data.jurisdiction_code)
    taken = await session.scalar(
        select(Cycle.id).where(
            Cycle.jurisdiction_code == data.jurisdiction_code, Cycle.code == data.code
        )
    )
    if taken is not None:
        raise CycleCodeTaken(f"Code '{data.code}' is already used in {data.jurisdiction_code}")
    cycle = Cycle(**data.model_dump(), status="draft")
    session.add(cycle)
    await session.flush()
    record_change(session, principal, "cycle.created", cycle)
    return cycle


async def update_cycle(
    session: AsyncSession, principal: Principal, cycle_id: uuid.UUID, data: schemas.CycleUpdate
) -> Cycle:
    """Rename, re-period (drafts only) or move the cycle along draft → open → closed."""
    cycle = await get_writable(session, Cycle, cycle_id, principal, what="Cycle")
    changes = data.model_dump(exclude_unset=True)
    if any(changes.get(f, "") is None for f in ("name", "period", "status")):
        raise Unprocessable("name, period and status cannot be null", code="null-not-allowed")
    before = snapshot(cycle)
    if "period" in changes and changes["period"] != cycle.period and cycle.status != "draft":
        raise CycleNotDraft(f"Cycle {cycle.id} is {cycle.status}")
    new_status = changes.pop("status", cycle.status)
    if new_status != cycle.status:
        if new_status not in TRANSITIONS[cycle.status]:
            raise InvalidTransition(f"A {cycle.status} cycle cannot become {new_status}")
        cycle.status = new_status
        if new_status == "open":
            cycle.opened_at = utcnow()
        elif new_status == "closed":
            cycle.closed_at = utcnow()
    for field, value in changes.items():
        setattr(cycle, field, value)
    await session.flush()
    if cycle.status != before["status"]:
        await events.cycle_status_changed(session, cycle)
    record_change(session, principal, "cycle.updated", cycle, before=before)
    return cycle

"""The transparency index: what each cycle must disclose, what was, when, and how late.

Required per cycle: the indicator plan (due `grace_days_plan` after the cycle opened), the
preliminary results (after they were scored), the final results (after finalizing) and each
department's rectification progress (after the final results). An item whose stage the
cycle has not reached is `not_due`; one due and not disclosed is `overdue` by the full
days since its due date; a disclosed one is `on_time` or `late` by the days it started
after its due date (an hour late is a day late)."""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import utcnow
from services.common.pagination import PageParams, paginate
from services.disclosure.models import DisclosureCycle, Publication, PublicationVersion
from services.disclosure.public import schemas
from services.disclosure.public.settings import PublicSettings

DAY = 86_400.0
FINAL_STATUSES = ("finalized", "revised", "final")


def _started_days(delta: timedelta) -> int:
    return max(0, math.ceil(delta.total_seconds() / DAY))


def _full_days(delta: timedelta) -> int:
    return max(0, math.floor(delta.total_seconds() / DAY))


def _item(
    kind: str,
    due_at: datetime | None,
    first: PublicationVersion | None,
    now: datetime,
    **department: Any,
) -> schemas.TransparencyItem:
    published_at = first.published_at if first else None
    if published_at is not None:
        late = _started_days(published_at - due_at) if due_at else 0
        state = "late" if late else "on_time"
    elif due_at is not None and now > due_at:
        late, state = _full_days(now - due_at), "overdue"
    else:
        late, state = 0, "not_due"
    return schemas.TransparencyItem(
        item=kind,
        due_at=due_at,
        published_at=published_at,
        publication_id=first.publication_id if first else None,
        state=state,
        days_late=late,
        **department,
    )


def _plus(moment: datetime | None, days: int) -> datetime | None:
    return moment + timedelta(days=days) if moment else None


async def _first_versions(
    session: AsyncSession, cycle_ids: list[uuid.UUID], systems: list[uuid.UUID]
) -> tuple[list[PublicationVersion], dict[uuid.UUID, list[PublicationVersion]]]:
    rows = list(
        (
            await session.scalars(
                select(PublicationVersion)
                .where(
                    PublicationVersion.cycle_id.in_(cycle_ids),
                    PublicationVersion.kind.in_(("results", "department_result", "rectification")),
                )
                .order_by(PublicationVersion.published_at, PublicationVersion.id)
            )
        ).all()
    )
    plans: dict[uuid.UUID, list[PublicationVersion]] = {}
    if systems:
        # A plan publication's subject is the indicator system it publishes.
        keys = {f"plan:{s}": s for s in systems}
        found = await session.execute(
            select(Publication.subject_key, PublicationVersion)
            .join(Publication, Publication.id == PublicationVersion.publication_id)
            .where(Publication.subject_key.in_(list(keys)))
            .order_by(PublicationVersion.published_at, PublicationVersion.id)
        )
        for subject_key, version in found.all():
            plans.setdefault(keys[subject_key], []).append(version)
    return rows, plans


async def transparency(
    session: AsyncSession,
    settings: PublicSettings,
    page: PageParams,
    *,
    jurisdiction: str | None = None,
    cycle_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> tuple[list[schemas.CycleTransparency], str | None]:
    """Each cycle's required items and their state, in cycle order."""
    now = now or utcnow()
    stmt = select(DisclosureCycle)
    if jurisdiction is not None:
        stmt = stmt.where(DisclosureCycle.jurisdiction_code == jurisdiction)
    if cycle_id is not None:
        stmt = stmt.where(DisclosureCycle.cycle_id == cycle_id)
    cycles, next_cursor = await paginate(session, stmt, DisclosureCycle.cycle_id, page)
    versions, plans = await _first_versions(
        session, [c.cycle_id for c in cycles], [c.system_id for c in cycles if c.system_id]
    )
    answer = []
    for cycle in cycles:
        mine = [v for v in versions if v.cycle_id == cycle.cycle_id]
        results = [v for v in mine if v.kind == "results"]
        final = [v for v in results if (v.data or {}).get("status") in FINAL_STATUSES]
        items = [
            _item(
                "plan",
                _plus(cycle.opened_at, settings.grace_days_plan),
                (plans.get(cycle.system_id) or [None])[0] if cycle.system_id else None,
                now,
            ),
            # Whatever results came out first disclose the preliminary stage.
            _item(
                "preliminary_results",
                _plus(cycle.preliminary_at, settings.grace_days_preliminary),
                results[0] if results else None,
                now,
            ),
            _item(
                "final_results",
                _plus(cycle.finalized_at, settings.grace_days_final),
                final[0] if final else None,
                now,
            ),
        ]
        rectification_due = _plus(cycle.finalized_at, settings.grace_days_rectification)
        for department in cycle.departments or []:
            department_id = str(department.get("department_id"))
            first = next(
                (
                    v
                    for v in mine
                    if v.kind == "rectification" and str(v.department_id) == department_id
                ),
                None,
            )
            items.append(
                _item(
                    "rectification",
                    rectification_due,
                    first,
                    now,
                    department_id=department.get("department_id"),
                    department=department.get("code"),
                    department_name=department.get("name_zh"),
                )
            )
        answer.append(_summary(cycle, items))
    return answer, next_cursor


def _summary(
    cycle: DisclosureCycle, items: list[schemas.TransparencyItem]
) -> schemas.CycleTransparency:
    due = [i for i in items if i.state != "not_due"]
    on_time = sum(i.state == "on_time" for i in items)
    return schemas.CycleTransparency(
        cycle_id=cycle.cycle_id,
        jurisdiction_code=cycle.jurisdiction_code,
        cycle=cycle.code,
        name=cycle.name,
        period=cycle.period,
        category=cycle.category,
        due=len(due),
        disclosed=sum(i.published_at is not None for i in items),
        on_time=on_time,
        late=sum(i.state == "late" for i in items),
        overdue=sum(i.state == "overdue" for i in items),
        days_late=sum(i.days_late for i in items),
        index=round(on_time / len(due), 4) if due else 1.0,
        items=items,
    )

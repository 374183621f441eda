"""Events of the evaluation service (catalog: docs/events.md).

Emits `cycle.opened` and `cycle.closed` when a cycle moves on; third-party portals may
subscribe. (The disclosure service will receive them once it announces cycles.)
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.events.outbox import emit
from services.evaluation.models import Cycle


async def cycle_status_changed(session: AsyncSession, cycle: Cycle) -> None:
    await emit(
        session,
        f"cycle.{cycle.status}",
        aggregate=f"cycle:{cycle.id}",
        jurisdiction_code=cycle.jurisdiction_code,
        data={
            "cycle_id": str(cycle.id),
            "jurisdiction_code": cycle.jurisdiction_code,
            "code": cycle.code,
            "name": cycle.name,
            "period": cycle.period,
            "status": cycle.status,
            "opened_at": cycle.opened_at,
            "closed_at": cycle.closed_at,
        },
    )

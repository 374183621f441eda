"""Events of the evaluation service (catalog: docs/events.md).

Emits `cycle.opened` (the cycle, its category, the bound indicator-system version, the
evaluator groups with their weights and the departments it evaluates) and `cycle.closed`;
third-party portals may subscribe. Handles `indicator_system.published` from the indicator
service: the snapshot a cycle is bound to when it opens.

Each emitting function writes its event into the caller's transaction (the outbox).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.events.outbox import emit
from services.common.events.subscriptions import EventHandler, ReceivedEvent
from services.evaluation.systems import service as system_service

if TYPE_CHECKING:
    from services.evaluation.models import Cycle, EvaluatorGroup, IndicatorSystemSnapshot

log = structlog.get_logger("govperf.evaluation.events")


def _cycle_data(cycle: Cycle) -> dict[str, Any]:
    return {
        "cycle_id": str(cycle.id),
        "jurisdiction_code": cycle.jurisdiction_code,
        "code": cycle.code,
        "name": cycle.name,
        "period": cycle.period,
        "category": cycle.category,
        "status": cycle.status,
        "system_id": str(cycle.system_id) if cycle.system_id else None,
        "opened_at": cycle.opened_at,
        "closed_at": cycle.closed_at,
    }


async def cycle_opened(
    session: AsyncSession,
    cycle: Cycle,
    system: IndicatorSystemSnapshot,
    groups: list[EvaluatorGroup],
    departments: list[dict[str, Any]],
) -> None:
    await emit(
        session,
        "cycle.opened",
        aggregate=f"cycle:{cycle.id}",
        jurisdiction_code=cycle.jurisdiction_code,
        data={
            **_cycle_data(cycle),
            "system": {
                "id": str(system.id),
                "version": system.version,
                "year": system.year,
                "name": system.name,
            },
            "appeal_days": cycle.appeal_days,
            "groups": [
                {
                    "group_id": str(g.id),
                    "code": g.code,
                    "kind": g.kind,
                    "name": g.name,
                    "weight": g.weight,
                    "min_sample": g.min_sample,
                    "department_ids": g.department_ids,
                }
                for g in groups
            ],
            "departments": [
                {
                    "department_id": str(d["department_id"]),
                    "code": d["code"],
                    "name_zh": d["name_zh"],
                    "name_en": d["name_en"],
                }
                for d in departments
            ],
        },
    )


async def cycle_closed(session: AsyncSession, cycle: Cycle) -> None:
    """The cycle stopped taking ratings and scorecards (its status is now `scoring`)."""
    await emit(
        session,
        "cycle.closed",
        aggregate=f"cycle:{cycle.id}",
        jurisdiction_code=cycle.jurisdiction_code,
        data=_cycle_data(cycle),
    )


async def on_system_published(session: AsyncSession, event: ReceivedEvent) -> None:
    """Keep the published version; the same version again (a re-publish) changes nothing."""
    stored = await system_service.store_snapshot(session, event.data["system"], via="event")
    if not stored:
        log.info("indicator_system_known", system_id=event.data["system"].get("id"))


HANDLERS: dict[str, EventHandler] = {"indicator_system.published": on_system_published}

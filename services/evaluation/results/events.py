"""`results.preliminary`, `results.finalized` and `results.revised` (catalog: docs/events.md).

One event per cycle and result version, carrying every department's total, grade, rank and
weakest indicators and dimensions: disclosure publishes them, feedback writes its reports
and rectification tasks from them. Events of one cycle share an aggregate, so they arrive
in order.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.events.outbox import emit
from services.evaluation.models import Cycle, CycleDepartment, Result

SCHEMA_VERSION = 1


async def results_announced(
    session: AsyncSession, cycle: Cycle, version: int, event_type: str
) -> None:
    conn = await session.connection()
    rows = await conn.execute(
        select(
            Result.department_id,
            CycleDepartment.code,
            CycleDepartment.name_zh,
            Result.total,
            Result.rank,
            Result.tied,
            Result.grade,
            Result.vetoed,
            Result.details,
        )
        .outerjoin(
            CycleDepartment,
            (CycleDepartment.cycle_id == Result.cycle_id)
            & (CycleDepartment.department_id == Result.department_id),
        )
        .where(Result.cycle_id == cycle.id, Result.version == version)
        .order_by(Result.rank, Result.department_id)
    )
    departments: list[dict[str, Any]] = [
        {
            "department_id": str(row.department_id),
            "department": row.code,
            "name_zh": row.name_zh,
            "total": row.total,
            "rank": row.rank,
            "tied": row.tied,
            "grade": row.grade,
            "vetoed": row.vetoed,
            "weakest_indicators": row.details.get("weakest_indicators", []),
            "weakest_dimensions": row.details.get("weakest_dimensions", []),
        }
        for row in rows
    ]
    await emit(
        session,
        event_type,
        aggregate=f"cycle:{cycle.id}",
        jurisdiction_code=cycle.jurisdiction_code,
        data={
            "version": SCHEMA_VERSION,
            "cycle_id": str(cycle.id),
            "jurisdiction_code": cycle.jurisdiction_code,
            "cycle": cycle.code,
            "name": cycle.name,
            "period": cycle.period,
            "category": cycle.category,
            "status": cycle.status,
            "result_version": version,
            "appeal_window_ends_at": cycle.appeal_window_ends_at,
            "results": departments,
        },
    )

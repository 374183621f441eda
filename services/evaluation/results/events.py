"""`results.preliminary`, `results.finalized` and `results.revised` (catalog: docs/events.md).

One event per cycle and result version, carrying every department's total, grade, rank,
weakest indicators and dimensions and its breakdown (each group's score and points, each
leaf indicator's value, achievement and points): disclosure publishes them and compares
jurisdictions on them, feedback writes its reports and rectification tasks from them.
Events of one cycle share an aggregate, so they arrive in order.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.events.outbox import emit
from services.evaluation.models import Cycle, CycleDepartment, Result

SCHEMA_VERSION = 1
# The siblings that receive the evaluation service's events (cycle.opened is emitted by
# services/evaluation/events.py; the producer declares every receiver here, in one place).
SIBLING_SUBSCRIBERS: dict[str, tuple[str, ...]] = {
    "disclosure": ("cycle.opened", "results.preliminary", "results.finalized", "results.revised"),
    # Feedback writes its reports, tasks and appeal windows from the results.
    "feedback": ("results.*",),
}
GROUP_FIELDS = ("code", "kind", "name", "weight", "score", "points")


def _group_scores(details: dict[str, Any]) -> list[dict[str, Any]]:
    return [{f: g.get(f) for f in GROUP_FIELDS} for g in details.get("group_scores", [])]


def _indicators(breakdown: dict[str, Any]) -> list[dict[str, Any]]:
    """The leaf indicators of a stored breakdown, in tree order. `achievement` is the leaf's
    score over its weight (null for a bonus leaf of weight 0); `points` its points of the
    total."""
    leaves: list[dict[str, Any]] = []
    stack = [breakdown]
    while stack:
        node = stack.pop()
        if node.get("kind") == "indicator":
            weight = node.get("weight") or 0
            score = node.get("score")
            leaves.append(
                {
                    "code": node.get("code"),
                    "name": node.get("name"),
                    "weight": weight,
                    "value": node.get("value"),
                    "achievement": round(score / weight, 4)
                    if weight and score is not None
                    else None,
                    "points": node.get("points"),
                }
            )
            continue
        stack.extend(reversed(node.get("children") or []))
    return leaves


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
            Result.breakdown,
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
            "group_scores": _group_scores(row.details),
            "indicators": _indicators(row.breakdown or {}),
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

"""Events the indicator service emits (catalog: docs/events.md).

- `indicator_system.published`: the full snapshot of a published version (tree, weights,
  targets, rules), for evaluation and disclosure.
- `measurements.imported`: one per import that changed anything, with its counts, the
  departments and periods it touched and the change-feed cursor after it.
- `measurement.verified` / `measurement.returned`: a value's key and status.

Each function writes its event into the caller's transaction (the outbox), so the event
commits or rolls back with the change it announces.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.events.outbox import emit
from services.common.pagination import encode_cursor
from services.indicator.models import IndicatorSystem, Measurement

if TYPE_CHECKING:
    from services.indicator.measurements.importer import Summary
    from services.indicator.systems.schemas import System

SIBLING_SUBSCRIBERS: dict[str, tuple[str, ...]] = {
    "evaluation": (
        "indicator_system.published",
        "measurements.imported",
        "measurement.verified",
        "measurement.returned",
    ),
    "disclosure": ("indicator_system.published",),
}


async def system_published(session: AsyncSession, system: IndicatorSystem, view: System) -> None:
    """`view`: the published version as `GET /v1/indicator-systems/{id}` shows it."""
    await emit(
        session,
        "indicator_system.published",
        aggregate=f"indicator_system:{system.jurisdiction_code}:{system.year}:{system.category}",
        jurisdiction_code=system.jurisdiction_code,
        data={"system": view.model_dump(mode="json")},
    )


async def measurement_reviewed(
    session: AsyncSession, row: Measurement, department_code: str | None
) -> None:
    """`measurement.verified` or `measurement.returned`, after the row took that status."""
    await emit(
        session,
        f"measurement.{row.status}",
        aggregate=f"measurement:{row.id}",
        jurisdiction_code=row.jurisdiction_code,
        data={
            "measurement_id": str(row.id),
            "jurisdiction_code": row.jurisdiction_code,
            "indicator": row.indicator_code,
            "department_id": str(row.department_id),
            "department": department_code,
            "period": row.period,
            "value": row.value,
            "status": row.status,
            "reason": row.status_reason,
            "change_seq": row.change_seq,
        },
    )


async def measurements_imported(
    session: AsyncSession, jurisdiction_code: str, summary: Summary
) -> None:
    """One per import that changed anything (never one per row)."""
    if not summary.written or summary.cursor is None:
        return
    await emit(
        session,
        "measurements.imported",
        aggregate=f"measurements:{jurisdiction_code}",
        jurisdiction_code=jurisdiction_code,
        data={
            "jurisdiction_code": jurisdiction_code,
            "imported": summary.imported,
            "updated": summary.updated,
            "deleted": summary.deleted,
            "ignored": summary.ignored,
            "strategy": summary.options.strategy,
            "departments": summary.departments,
            "periods": summary.periods,
            "cursor": encode_cursor(summary.cursor),
        },
    )

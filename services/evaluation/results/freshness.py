"""Changes to measurements, as the indicator service announces them, mark the cycles whose
period they fall in: a result scored before `measurements_changed_at` may be out of date, and
the office sees so before it finalizes (re-scoring takes the values as they are now).

`measurements.imported` carries the periods an import touched; `measurement.verified` and
`measurement.returned` the one value's period. A value of 2026Q2 concerns the cycles of 2026,
2026Q2 and none other; a value of 202605 those of 2026, 2026Q2 and 202605.
"""

from __future__ import annotations

import re

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import utcnow
from services.common.events.subscriptions import ReceivedEvent
from services.evaluation.models import Cycle

PERIOD = re.compile(r"^(\d{4})(?:Q([1-4])|(0[1-9]|1[0-2]))?$")
# Cycles whose results a changed value can still move (a draft has none; a finalized or
# revised one is changed only by appeals, but the office should still see it).
WATCHED = ("open", "scoring", "preliminary", "finalized", "revised")


def containing_periods(period: str) -> set[str]:
    """The periods (year, quarter, month) that contain `period`, itself included."""
    match = PERIOD.match(period)
    if match is None:
        return set()
    year, quarter, month = match.groups()
    periods = {year}
    if quarter:
        periods.add(f"{year}Q{quarter}")
    if month:
        periods |= {f"{year}Q{(int(month) - 1) // 3 + 1}", f"{year}{month}"}
    return periods


async def mark_changed(session: AsyncSession, jurisdiction_code: str, periods: set[str]) -> None:
    if not periods:
        return
    await (await session.connection()).execute(
        update(Cycle)
        .where(
            Cycle.jurisdiction_code == jurisdiction_code,
            Cycle.period.in_(sorted(periods)),
            Cycle.status.in_(WATCHED),
        )
        .values(measurements_changed_at=utcnow())
    )


async def on_measurements_changed(session: AsyncSession, event: ReceivedEvent) -> None:
    jurisdiction = event.data.get("jurisdiction_code")
    if not isinstance(jurisdiction, str):
        return
    touched = event.data.get("periods")
    if not isinstance(touched, list):
        touched = [event.data.get("period")]
    periods: set[str] = set()
    for period in touched:
        if isinstance(period, str):
            periods |= containing_periods(period)
    await mark_changed(session, jurisdiction, periods)


HANDLERS = {
    "measurements.imported": on_measurements_changed,
    "measurement.verified": on_measurements_changed,
    "measurement.returned": on_measurements_changed,
}

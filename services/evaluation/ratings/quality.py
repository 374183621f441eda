"""Suspicious responses: flagged by criteria, handled by the cycle's policy, every exclusion
audited and counted in the result.

Criteria (thresholds in the cycle's rules):
- `speeder`: answered in under `speeder_ratio` of the cycle's median time, once at least
  `speeder_min_responses` responses report a time;
- `straight_line`: one and the same answer to every item, over at least five items;
- `device_burst` / `network_burst`: more than `burst_max_per_device` (or `_per_network`)
  responses from one device (network) within `burst_window_seconds`.

Policy: `count` keeps every response (flags are informative); `exclude` leaves out responses
meeting at least `exclusion_criteria` criteria (two by default: one criterion alone is weak
evidence); `review` holds those for a person to decide. Responses meeting fewer criteria are
flagged and counted. A person's decision is kept when the checks run again.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.audit import record_audit
from services.common.auth import Principal
from services.common.db import utcnow
from services.evaluation.models import Cycle, Rating, RatingFlag
from services.evaluation.schemas import CycleRules

CHECKER = "quality-check"


async def _median_duration(session: AsyncSession, cycle_id: uuid.UUID) -> tuple[int, float | None]:
    conn = await session.connection()
    timed = Rating.duration_seconds.is_not(None)
    count = (
        await conn.execute(
            select(func.count()).select_from(Rating).where(Rating.cycle_id == cycle_id, timed)
        )
    ).scalar_one()
    if not count:
        return 0, None
    ordered = (
        select(Rating.duration_seconds)
        .where(Rating.cycle_id == cycle_id, timed)
        .order_by(Rating.duration_seconds)
    )
    if count % 2:
        middle = (await conn.execute(ordered.offset(count // 2).limit(1))).scalar_one()
        return count, float(middle)
    pair = (await conn.execute(ordered.offset(count // 2 - 1).limit(2))).scalars().all()
    return count, (float(pair[0]) + float(pair[1])) / 2


async def _bursts(
    session: AsyncSession,
    cycle_id: uuid.UUID,
    column: Any,
    most: int,
    window: timedelta,
) -> set[uuid.UUID]:
    """Responses sent by one source (device or network) beyond `most` within `window`:
    only sources with more than `most` responses in the whole cycle are looked at closely."""
    conn = await session.connection()
    busy = (
        select(column)
        .where(Rating.cycle_id == cycle_id, column.is_not(None))
        .group_by(column)
        .having(func.count() > most)
    )
    rows = await conn.execute(
        select(column, Rating.id, Rating.received_at)
        .where(Rating.cycle_id == cycle_id, column.in_(busy))
        .order_by(column, Rating.received_at, Rating.id)
    )
    by_source: dict[str, list[tuple[datetime, uuid.UUID]]] = defaultdict(list)
    for source, rating_id, received_at in rows:
        by_source[source].append((received_at, rating_id))
    flagged: set[uuid.UUID] = set()
    for sent in by_source.values():
        start = 0
        for end in range(len(sent)):
            while sent[end][0] - sent[start][0] > window:
                start += 1
            if end - start + 1 > most:
                flagged.update(rating_id for _, rating_id in sent[start : end + 1])
    return flagged


async def assess(
    session: AsyncSession,
    principal: Principal,
    cycle_id: uuid.UUID,
    jurisdiction_code: str,
    rules: Mapping[str, Any],
) -> dict[str, Any]:
    """Flag the cycle's responses again (keeping people's decisions); returns the counts."""
    conn = await session.connection()
    # The cycle's rules as they were stored (validated, every default filled in).
    settings = CycleRules.model_validate(rules)
    policy = settings.quality_policy
    needed = settings.exclusion_criteria
    window = timedelta(seconds=settings.burst_window_seconds)
    criteria: dict[uuid.UUID, list[str]] = defaultdict(list)

    timed, median = await _median_duration(session, cycle_id)
    speeder_limit = None
    if median is not None and timed >= settings.speeder_min_responses:
        speeder_limit = settings.speeder_ratio * median
        for rating_id in (
            await conn.execute(
                select(Rating.id).where(
                    Rating.cycle_id == cycle_id, Rating.duration_seconds < speeder_limit
                )
            )
        ).scalars():
            criteria[rating_id].append("speeder")
    for rating_id in (
        await conn.execute(
            select(Rating.id).where(Rating.cycle_id == cycle_id, Rating.straight_lined.is_(True))
        )
    ).scalars():
        criteria[rating_id].append("straight_line")
    for name, column, most in (
        ("device_burst", Rating.device_hash, settings.burst_max_per_device),
        ("network_burst", Rating.network_hash, settings.burst_max_per_network),
    ):
        for rating_id in sorted(await _bursts(session, cycle_id, column, most, window)):
            criteria[rating_id].append(name)

    decided_by_people = set(
        (
            await conn.execute(
                select(RatingFlag.rating_id).where(
                    RatingFlag.cycle_id == cycle_id, RatingFlag.decided_by != CHECKER
                )
            )
        ).scalars()
    )
    await conn.execute(
        delete(RatingFlag).where(RatingFlag.cycle_id == cycle_id, RatingFlag.decided_by == CHECKER)
    )
    rows = []
    for rating_id in sorted(criteria):
        if rating_id in decided_by_people:
            continue
        met = criteria[rating_id]
        decision = "counted"
        if len(met) >= needed and policy == "exclude":
            decision = "excluded"
        elif len(met) >= needed and policy == "review":
            decision = "held"
        rows.append(
            {
                "rating_id": rating_id,
                "cycle_id": cycle_id,
                "criteria": met,
                "decision": decision,
                "decided_by": CHECKER,
            }
        )
    if rows:
        await conn.execute(insert(RatingFlag), rows)
    await conn.execute(
        update(Cycle).where(Cycle.id == cycle_id).values(ratings_checked_at=utcnow())
    )
    summary = {
        "policy": policy,
        "criteria_needed": needed,
        "median_duration_seconds": median,
        "speeder_below_seconds": speeder_limit,
        "flagged": len(rows),
        "excluded": sum(r["decision"] == "excluded" for r in rows),
        "held": sum(r["decision"] == "held" for r in rows),
        "decided_by_people": len(decided_by_people),
        "excluded_ids": [str(r["rating_id"]) for r in rows if r["decision"] == "excluded"],
    }
    record_audit(
        session,
        principal,
        action="cycle.ratings_checked",
        resource_type="cycle",
        resource_id=str(cycle_id),
        jurisdiction_code=jurisdiction_code,
        after=summary,
    )
    return summary


async def standing(session: AsyncSession, cycle_id: uuid.UUID) -> dict[str, Any]:
    """What the last checks (and people) decided, counted: flagged, excluded, held."""
    conn = await session.connection()
    flagged, excluded, held, by_people = (
        await conn.execute(
            select(
                func.count(),
                func.count().filter(RatingFlag.decision == "excluded"),
                func.count().filter(RatingFlag.decision == "held"),
                func.count().filter(RatingFlag.decided_by != CHECKER),
            ).where(RatingFlag.cycle_id == cycle_id)
        )
    ).one()
    return {
        "flagged": int(flagged),
        "excluded": int(excluded),
        "held": int(held),
        "decided_by_people": int(by_people),
    }

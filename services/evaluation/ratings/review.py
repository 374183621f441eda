"""The office's view of the citizen evaluation: responses, progress, quality decisions."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.audit import record_audit
from services.common.auth import Principal
from services.common.db import upsert_statement, utcnow
from services.common.errors import NotFound
from services.common.jurisdictions import ensure_writable, get_visible
from services.common.pagination import PageParams, decode_cursor, encode_cursor
from services.evaluation.models import Cycle, Rating, RatingFlag
from services.evaluation.ratings import quality

VIEW_COLUMNS = (
    Rating.id,
    Rating.cycle_id,
    Rating.department_id,
    Rating.questionnaire_id,
    Rating.client,
    Rating.answers,
    Rating.comment,
    Rating.stratum,
    Rating.duration_seconds,
    Rating.received_at,
)


async def list_ratings(
    session: AsyncSession,
    principal: Principal,
    cycle_id: uuid.UUID,
    page: PageParams,
    *,
    department_id: uuid.UUID | None = None,
    decision: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    await get_visible(session, Cycle, cycle_id, principal, what="Cycle")
    stmt = (
        select(*VIEW_COLUMNS, RatingFlag.criteria, RatingFlag.decision)
        .outerjoin(RatingFlag, RatingFlag.rating_id == Rating.id)
        .where(Rating.cycle_id == cycle_id)
    )
    if department_id is not None:
        stmt = stmt.where(Rating.department_id == department_id)
    if decision == "counted":
        stmt = stmt.where((RatingFlag.decision.is_(None)) | (RatingFlag.decision == "counted"))
    elif decision is not None:
        stmt = stmt.where(RatingFlag.decision == decision)
    if page.cursor:
        stmt = stmt.where(Rating.id > decode_cursor(page.cursor))
    stmt = stmt.order_by(Rating.id).limit(page.limit + 1)
    rows = [
        {
            **row._asdict(),
            "criteria": row.criteria or [],
            "decision": row.decision or "counted",
        }
        for row in await (await session.connection()).execute(stmt)
    ]
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        return rows, encode_cursor(rows[-1]["id"])
    return rows, None


async def summary(
    session: AsyncSession, principal: Principal, cycle_id: uuid.UUID
) -> dict[str, Any]:
    await get_visible(session, Cycle, cycle_id, principal, what="Cycle")
    conn = await session.connection()
    rows = await conn.execute(
        select(
            Rating.department_id,
            func.count(),
            func.count().filter(RatingFlag.decision == "excluded"),
            func.count().filter(RatingFlag.decision == "held"),
        )
        .outerjoin(RatingFlag, RatingFlag.rating_id == Rating.id)
        .where(Rating.cycle_id == cycle_id)
        .group_by(Rating.department_id)
        .order_by(Rating.department_id)
    )
    departments = [
        {
            "department_id": department,
            "responses": int(n),
            "excluded": int(excluded),
            "held": int(held),
            "counted": int(n) - int(excluded) - int(held),
        }
        for department, n, excluded, held in rows
    ]
    return {
        "cycle_id": cycle_id,
        "responses": sum(d["responses"] for d in departments),
        "excluded": sum(d["excluded"] for d in departments),
        "held": sum(d["held"] for d in departments),
        "departments": departments,
    }


async def check(session: AsyncSession, principal: Principal, cycle_id: uuid.UUID) -> dict[str, Any]:
    """Run the quality checks now (scoring runs them too)."""
    cycle = await get_visible(session, Cycle, cycle_id, principal, what="Cycle")
    ensure_writable(principal, cycle.jurisdiction_code)
    return await quality.assess(
        session, principal, cycle.id, cycle.jurisdiction_code, cycle.rules or {}
    )


async def decide(
    session: AsyncSession,
    principal: Principal,
    cycle_id: uuid.UUID,
    rating_id: uuid.UUID,
    decision: str,
    reason: str,
) -> dict[str, Any]:
    """Count or exclude one response by a person's decision (audited, kept by later checks)."""
    cycle = await get_visible(session, Cycle, cycle_id, principal, what="Cycle")
    ensure_writable(principal, cycle.jurisdiction_code)
    conn = await session.connection()
    found = (
        await conn.execute(
            select(*VIEW_COLUMNS, RatingFlag.criteria, RatingFlag.decision)
            .outerjoin(RatingFlag, RatingFlag.rating_id == Rating.id)
            .where(Rating.id == rating_id, Rating.cycle_id == cycle_id)
        )
    ).first()
    if found is None:
        raise NotFound(f"Rating {rating_id} not found in cycle {cycle_id}")
    before = {"decision": found.decision or "counted", "criteria": found.criteria or []}
    criteria = list(found.criteria or [])
    await conn.execute(
        upsert_statement(
            session, RatingFlag, ("rating_id",), ("decision", "decided_at", "decided_by")
        ),
        {
            "rating_id": rating_id,
            "cycle_id": cycle_id,
            "criteria": criteria,
            "decision": decision,
            "decided_at": utcnow(),
            "decided_by": principal.subject,
        },
    )
    record_audit(
        session,
        principal,
        action="rating.decided",
        resource_type="rating",
        resource_id=str(rating_id),
        jurisdiction_code=cycle.jurisdiction_code,
        before=before,
        after={"decision": decision, "criteria": criteria, "reason": reason},
    )
    return {**found._asdict(), "criteria": criteria, "decision": decision}

"""Scoring a cycle into versioned results, finalizing them, and revising them after appeals.

`score` runs the quality checks on the citizen ratings, gathers the inputs, runs the pure
engine and stores one result version: its inputs (and their digest), one row per department
with the breakdown. A re-score after an upheld appeal recomputes from the stored inputs of
the latest version plus the adjustment, so nothing else can move the numbers; every version
is kept.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import httpx
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.common.db import upsert_insert, utcnow
from services.common.errors import Conflict, NotFound
from services.common.events.subscriptions import ReceivedEvent
from services.common.jurisdictions import get_visible
from services.evaluation.cycles import service as cycle_service
from services.evaluation.engine.canonical import digest, inputs_from_json, inputs_json
from services.evaluation.engine.cycle import score_cycle
from services.evaluation.engine.types import CycleOutcome
from services.evaluation.models import Adjustment, Cycle, Result, ResultVersion
from services.evaluation.ratings import quality
from services.evaluation.results import events, freshness
from services.evaluation.results import inputs as cycle_inputs

# Who sees results of which stage: departments see their own from `preliminary` on.
VISIBLE_TO_DEPARTMENTS = ("preliminary", "finalized", "revised")
ADJUSTING_DECISIONS = ("upheld", "partly_upheld")


class NotScoredYet(Conflict):
    code = "not-scored"
    title = "The cycle has no results yet"


class UnknownVersion(NotFound):
    code = "unknown-result-version"
    title = "No such result version"


def _details(result: Any) -> dict[str, Any]:
    return {
        "band_grade": result.band_grade,
        "grade_explanation": result.grade_explanation,
        "veto_explanation": result.veto_explanation,
        "group_scores": [
            {
                "code": g.code,
                "kind": g.kind,
                "name": g.name,
                "weight": g.weight,
                "effective_weight": g.effective_weight,
                "score": g.score,
                "points": g.points,
                "has_data": g.has_data,
                "n": g.n,
                "below_min_sample": g.below_min_sample,
            }
            for g in result.group_scores
        ],
        "weakest_indicators": [
            {
                "code": w.code,
                "name": w.name,
                "weight": w.weight,
                "points": w.points,
                "achievement": w.achievement,
            }
            for w in result.weakest_indicators
        ],
        "weakest_dimensions": [
            {"group": w.group_code, "code": w.code, "name": w.name, "score": w.score}
            for w in result.weakest_dimensions
        ],
        "below_min_sample": list(result.below_min_sample),
    }


async def _store(
    session: AsyncSession,
    principal: Principal,
    cycle: Cycle,
    cycle_input: Any,
    outcome: CycleOutcome,
    *,
    stage: str,
    reason: str,
    context: dict[str, Any],
) -> int:
    version = cycle.result_version + 1
    conn = await session.connection()
    now = utcnow()
    await conn.execute(
        insert(ResultVersion),
        {
            "cycle_id": cycle.id,
            "version": version,
            "stage": stage,
            "reason": reason,
            "inputs": {
                **context,
                "cycle_input": inputs_json(cycle_input),
                "unapplied_adjustments": [
                    {"appeal_id": u.adjustment.appeal_id, "reason": u.reason}
                    for u in outcome.unapplied_adjustments
                ],
            },
            "inputs_digest": digest(cycle_input),
            "computed_at": now,
            "computed_by": principal.subject,
        },
    )
    rows = [
        {
            "id": uuid.uuid4(),
            "jurisdiction_code": cycle.jurisdiction_code,
            "cycle_id": cycle.id,
            "version": version,
            "department_id": uuid.UUID(r.department_id),
            "total": r.total,
            "rank": r.rank,
            "tied": r.tied,
            "grade": r.grade,
            "vetoed": r.vetoed,
            "details": _details(r),
            "breakdown": r.breakdown,
            "computed_at": now,
        }
        for r in outcome.results
    ]
    if rows:
        await conn.execute(insert(Result), rows)
    cycle.result_version = version
    return version


async def score(
    session: AsyncSession,
    principal: Principal,
    cycle_id: uuid.UUID,
    *,
    http: httpx.AsyncClient,
    indicator_url: str,
    authorization: str | None,
) -> Cycle:
    """Score a closed cycle (or re-score a preliminary one): a new preliminary version."""
    cycle = await cycle_service.writable_cycle(session, principal, cycle_id)
    if cycle.status not in ("scoring", "preliminary"):
        raise cycle_service.InvalidTransition(
            f"A {cycle.status} cycle cannot be scored: close it first"
            if cycle.status in ("draft", "open")
            else f"A {cycle.status} cycle is revised only through upheld appeals",
            cycle_status=cycle.status,
        )
    if cycle.ratings_checked_at is None or (
        cycle.closed_at is not None and cycle.ratings_checked_at < cycle.closed_at
    ):
        checked = await quality.assess(
            session, principal, cycle.id, cycle.jurisdiction_code, cycle.rules or {}
        )
        await session.refresh(cycle)
    else:  # checked when the cycle closed; no rating has arrived since
        checked = await quality.standing(session, cycle.id)
    cycle_input, context = await cycle_inputs.load(
        session, cycle, http=http, indicator_url=indicator_url, authorization=authorization
    )
    outcome = score_cycle(cycle_input)
    context["quality"] = {k: v for k, v in checked.items() if k != "excluded_ids"}
    version = await _store(
        session,
        principal,
        cycle,
        cycle_input,
        outcome,
        stage="preliminary",
        reason="scored" if cycle.status == "scoring" else "re-scored",
        context=context,
    )
    await cycle_service.transition(session, principal, cycle, "preliminary")
    await events.results_announced(session, cycle, version, "results.preliminary")
    return cycle


async def finalize(session: AsyncSession, principal: Principal, cycle_id: uuid.UUID) -> Cycle:
    """Make the latest preliminary version final, once the appeal window has closed."""
    cycle = await cycle_service.writable_cycle(session, principal, cycle_id)
    await cycle_service.transition(session, principal, cycle, "finalized")
    await events.results_announced(session, cycle, cycle.result_version, "results.finalized")
    return cycle


async def revise(
    session: AsyncSession,
    principal: Principal,
    cycle: Cycle,
    *,
    reason: str,
) -> int:
    """Re-score from the latest version's stored inputs with every adjustment on record."""
    conn = await session.connection()
    latest = (
        await conn.execute(
            select(ResultVersion.inputs).where(
                ResultVersion.cycle_id == cycle.id, ResultVersion.version == cycle.result_version
            )
        )
    ).scalar_one()
    adjustments = await cycle_inputs.upheld_adjustments(session, cycle.id)
    cycle_input = dataclasses.replace(
        inputs_from_json(latest["cycle_input"]), adjustments=adjustments
    )
    outcome = score_cycle(cycle_input)
    context = {k: v for k, v in latest.items() if k not in ("cycle_input", "unapplied_adjustments")}
    version = await _store(
        session,
        principal,
        cycle,
        cycle_input,
        outcome,
        stage="revised",
        reason=reason,
        context=context,
    )
    if cycle.status in ("finalized", "revised"):
        await cycle_service.transition(session, principal, cycle, "revised")
    else:
        cycle.revised_at = utcnow()
    await events.results_announced(session, cycle, version, "results.revised")
    return version


async def apply_appeal_decision(
    session: AsyncSession, data: dict[str, Any], jurisdiction: str
) -> None:
    """`appeal.decided`: an upheld (or partly upheld) appeal's adjustment, once, then a new
    result version. Dismissed appeals and repeats of a recorded appeal change nothing."""
    decision = data.get("decision")
    adjustment = data.get("adjustment") or {}
    if decision not in ADJUSTING_DECISIONS or not adjustment:
        return
    try:
        cycle_id = uuid.UUID(str(data["cycle_id"]))
        department_id = uuid.UUID(str(data["department_id"]))
    except (KeyError, ValueError):
        return
    cycle = await session.get(Cycle, cycle_id, with_for_update=True)
    if cycle is None or cycle.jurisdiction_code != jurisdiction or not cycle.result_version:
        return
    appeal_id = str(data.get("appeal_id"))
    conn = await session.connection()
    recorded = await conn.execute(
        upsert_insert(session, Adjustment)
        .on_conflict_do_nothing(index_elements=["appeal_id"])
        .returning(Adjustment.__table__.c.id),
        {
            "id": uuid.uuid4(),
            "jurisdiction_code": cycle.jurisdiction_code,
            "cycle_id": cycle.id,
            "appeal_id": appeal_id,
            "department_id": department_id,
            "target_kind": "group" if adjustment.get("target_kind") == "group" else "indicator",
            "target": str(adjustment.get("target", "")),
            "points": float(adjustment.get("points", 0)),
            "decision": decision,
            "note": str(data.get("decision_text") or data.get("note") or ""),
            "received_at": utcnow(),
        },
    )
    if recorded.first() is None:
        return
    system = Principal(
        subject=f"appeal:{appeal_id}", role="admin", jurisdictions=(cycle.jurisdiction_code,)
    )
    await revise(session, system, cycle, reason=f"appeal {appeal_id} {decision}")


# --- reading ------------------------------------------------------------------------------


async def _visible_cycle(session: AsyncSession, principal: Principal, cycle_id: uuid.UUID) -> Any:
    cycle = await get_visible(session, Cycle, cycle_id, principal, what="Cycle")
    if principal.role != "admin" and cycle.status not in VISIBLE_TO_DEPARTMENTS:
        raise NotFound(f"Cycle {cycle_id} has no results you may see")
    if not cycle.result_version:
        raise NotScoredYet(f"Cycle {cycle_id} is {cycle.status} and has not been scored")
    return cycle


def _own_only(principal: Principal) -> uuid.UUID | None:
    if principal.role == "admin":
        return None
    try:
        return uuid.UUID(str(principal.department_id))
    except ValueError:
        return uuid.UUID(int=0)


async def _rows(
    session: AsyncSession,
    cycle_id: uuid.UUID,
    version: int,
    department_id: uuid.UUID | None = None,
    *,
    with_breakdown: bool = False,
) -> list[Any]:
    columns = [c for c in Result.__table__.c if with_breakdown or c.key != "breakdown"]
    stmt = (
        select(*columns)
        .where(Result.cycle_id == cycle_id, Result.version == version)
        .order_by(Result.rank, Result.department_id)
    )
    if department_id is not None:
        stmt = stmt.where(Result.department_id == department_id)
    return list((await (await session.connection()).execute(stmt)).all())


async def list_results(
    session: AsyncSession, principal: Principal, cycle_id: uuid.UUID, version: int | None
) -> tuple[Any, int, list[Any]]:
    cycle = await _visible_cycle(session, principal, cycle_id)
    chosen = cycle.result_version if version is None else version
    if not 1 <= chosen <= cycle.result_version:
        raise UnknownVersion(f"Cycle {cycle_id} has versions 1..{cycle.result_version}")
    rows = await _rows(session, cycle.id, chosen, _own_only(principal))
    return cycle, chosen, rows


async def get_result(
    session: AsyncSession,
    principal: Principal,
    cycle_id: uuid.UUID,
    department_id: uuid.UUID,
    version: int | None,
    *,
    with_breakdown: bool,
) -> tuple[Any, int, Any]:
    cycle = await _visible_cycle(session, principal, cycle_id)
    own = _own_only(principal)
    if own is not None and own != department_id:
        raise NotFound(f"No result of department {department_id} you may see")
    chosen = cycle.result_version if version is None else version
    if not 1 <= chosen <= cycle.result_version:
        raise UnknownVersion(f"Cycle {cycle_id} has versions 1..{cycle.result_version}")
    rows = await _rows(session, cycle.id, chosen, department_id, with_breakdown=with_breakdown)
    if not rows:
        raise NotFound(f"Department {department_id} has no result in cycle {cycle_id}")
    return cycle, chosen, rows[0]


async def list_versions(
    session: AsyncSession, principal: Principal, cycle_id: uuid.UUID
) -> list[Any]:
    cycle = await _visible_cycle(session, principal, cycle_id)
    conn = await session.connection()
    counts = (
        select(Result.version, func.count().label("departments"))
        .where(Result.cycle_id == cycle.id)
        .group_by(Result.version)
        .subquery()
    )
    rows = await conn.execute(
        select(
            ResultVersion.version,
            ResultVersion.stage,
            ResultVersion.reason,
            ResultVersion.inputs_digest,
            ResultVersion.computed_at,
            ResultVersion.computed_by,
            func.coalesce(counts.c.departments, 0).label("departments"),
        )
        .outerjoin(counts, counts.c.version == ResultVersion.version)
        .where(ResultVersion.cycle_id == cycle.id)
        .order_by(ResultVersion.version)
    )
    return list(rows.all())


async def on_appeal_decided(session: AsyncSession, event: ReceivedEvent) -> None:
    """The feedback service decided an appeal (`appeal.decided`)."""
    jurisdiction = event.data.get("jurisdiction_code")
    if isinstance(jurisdiction, str):
        await apply_appeal_decision(session, event.data, jurisdiction)


HANDLERS = {"appeal.decided": on_appeal_decided, **freshness.HANDLERS}

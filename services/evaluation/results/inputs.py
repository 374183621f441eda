"""Everything a cycle's scoring reads, gathered into one `CycleInput`.

- the indicator-system snapshot the cycle is bound to (stored when it was published);
- the verified measurements of the cycle's period, pulled from the indicator service in one
  streamed export (with the caller's own token: the office that scores may read them);
- scorecards and citizen ratings, summed in the database (a million responses arrive as a
  few thousand rows of sums);
- the upheld appeals' adjustments.

The input is stored with the result version it produced (the engine's canonical JSON), so a
re-score after an appeal recomputes from exactly the same inputs plus the adjustment, and
anyone can check that the same inputs give the same outputs.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.errors import ServiceUnavailable
from services.evaluation.engine.types import (
    AdjustmentInput,
    CycleInput,
    CycleRules,
    DimensionInput,
    GradeBand,
    GroupInput,
    ScorecardStats,
)
from services.evaluation.models import (
    Adjustment,
    CycleDepartment,
    EvaluatorGroup,
    IndicatorSystemSnapshot,
    Questionnaire,
    Scorecard,
)
from services.evaluation.ratings import aggregate
from services.evaluation.schemas import CycleRules as CycleRulesIn


class UpstreamUnavailable(ServiceUnavailable):
    code = "upstream-unavailable"
    title = "The indicator service could not be reached"


def _period_months(period: str) -> tuple[int, int, int]:
    """(year, first month, last month) of a DHIS2-style period: 2026, 2026Q3, 202611."""
    year = int(period[:4])
    rest = period[4:]
    if not rest:
        return year, 1, 12
    if rest.startswith("Q"):
        quarter = int(rest[1:])
        return year, 3 * quarter - 2, 3 * quarter
    month = int(rest)
    return year, month, month


def within(period: str, cycle_period: str) -> bool:
    year, first, last = _period_months(period)
    cycle_year, cycle_first, cycle_last = _period_months(cycle_period)
    return year == cycle_year and cycle_first <= first and last <= cycle_last


def pick_values(
    rows: list[dict[str, Any]], cycle_period: str, department_by_code: dict[str, str]
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, str]]]:
    """One value per department × indicator: the cycle's own period when reported, else the
    latest period within it (a quarterly indicator in an annual cycle is scored on its
    latest verified quarter). Returns the values and the period each came from."""
    chosen: dict[tuple[str, str], tuple[tuple[int, int], str, float]] = {}
    for row in rows:
        department = department_by_code.get(row["department"])
        period = row["period"]
        value = row.get("value")
        if department is None or value is None or not within(period, cycle_period):
            continue
        _, first, last = _period_months(period)
        # The exact period wins; then the latest end, then the coarser (longer) period.
        rank = (1, 0) if period == cycle_period else (0, last * 100 + (last - first))
        key = (department, row["indicator"])
        if key not in chosen or rank > chosen[key][0]:
            chosen[key] = (rank, period, float(value))
    values: dict[str, dict[str, float]] = defaultdict(dict)
    periods: dict[str, dict[str, str]] = defaultdict(dict)
    for (department, indicator), (_, period, value) in sorted(chosen.items()):
        values[department][indicator] = value
        periods[department][indicator] = period
    return dict(values), dict(periods)


async def verified_measurements(
    http: httpx.AsyncClient,
    indicator_url: str,
    authorization: str | None,
    jurisdiction_code: str,
    cycle_period: str,
) -> list[dict[str, Any]]:
    """The jurisdiction's verified values of the cycle's year, in one export."""
    headers = {"authorization": authorization} if authorization else {}
    try:
        response = await http.get(
            f"{indicator_url}/v1/measurements/export",
            params={
                "jurisdiction": jurisdiction_code,
                "year": cycle_period[:4],
                "status": "verified",
                "format": "json",
            },
            headers=headers,
            timeout=60.0,
        )
    except httpx.HTTPError as exc:
        raise UpstreamUnavailable(
            f"Measurements could not be fetched from the indicator service: {exc}",
            headers={"Retry-After": "5"},
        ) from exc
    if response.status_code != 200:
        raise UpstreamUnavailable(
            f"The indicator service answered {response.status_code} for the measurements",
            headers={"Retry-After": "5"},
        )
    return list(response.json().get("measurements", []))


def _rules(stored: CycleRulesIn) -> CycleRules:
    """The engine's rules out of the cycle's (validated and stored as `schemas.CycleRules`)."""
    return CycleRules(
        grade_bands=tuple(GradeBand(b.grade, b.min) for b in stored.bands),
        quotas=dict(stored.quotas),
        normalization=stored.normalization,
        bonus_cap=float(stored.bonus_cap),
        weakest_count=stored.weakest_count,
    )


async def upheld_adjustments(
    session: AsyncSession, cycle_id: uuid.UUID
) -> tuple[AdjustmentInput, ...]:
    """Every upheld appeal's adjustment of the cycle, in appeal order."""
    rows = await (await session.connection()).execute(
        select(Adjustment).where(Adjustment.cycle_id == cycle_id).order_by(Adjustment.appeal_id)
    )
    return tuple(
        AdjustmentInput(
            department_id=str(a.department_id),
            target_kind=a.target_kind,
            target_code=a.target,
            points=float(a.points),
            appeal_id=a.appeal_id,
            note=a.note,
        )
        for a in rows
    )


async def load(
    session: AsyncSession,
    cycle: Any,
    *,
    http: httpx.AsyncClient,
    indicator_url: str,
    authorization: str | None,
) -> tuple[CycleInput, dict[str, Any]]:
    """The cycle's `CycleInput`, and what else to keep with it (periods of the values used,
    the snapshot's id and version)."""
    conn = await session.connection()
    snapshot = (
        await conn.execute(
            select(IndicatorSystemSnapshot).where(IndicatorSystemSnapshot.id == cycle.system_id)
        )
    ).first()
    departments = (
        await conn.execute(
            select(CycleDepartment.department_id, CycleDepartment.code)
            .where(CycleDepartment.cycle_id == cycle.id)
            .order_by(CycleDepartment.department_id)
        )
    ).all()
    department_by_code = {code: str(department_id) for department_id, code in departments}

    groups: list[GroupInput] = []
    code_of_group: dict[uuid.UUID, str] = {}
    group_rows = (
        await conn.execute(
            select(EvaluatorGroup)
            .where(EvaluatorGroup.cycle_id == cycle.id)
            .order_by(EvaluatorGroup.code)
        )
    ).all()
    for group in group_rows:
        code_of_group[group.id] = group.code
        common = {
            "code": group.code,
            "kind": group.kind,
            "name": group.name,
            "weight": float(group.weight),
            "min_sample": int(group.min_sample),
            "department_ids": (
                None
                if group.department_ids is None
                else frozenset(str(d) for d in group.department_ids)
            ),
        }
        if group.kind == "citizen" and group.questionnaire_id is not None:
            questionnaire = (
                await conn.execute(
                    select(Questionnaire).where(Questionnaire.id == group.questionnaire_id)
                )
            ).one()
            groups.append(
                GroupInput(
                    **common,
                    dimensions=tuple(
                        DimensionInput(code=d["code"], name=d.get("name_zh") or d["code"])
                        for d in questionnaire.dimensions
                    ),
                    scale_min=float(questionnaire.scale_min),
                    scale_max=float(questionnaire.scale_max),
                    top_box=int(questionnaire.top_box),
                )
            )
        else:
            groups.append(
                GroupInput(
                    **common,
                    dimensions=tuple(
                        DimensionInput(
                            code=d["code"],
                            name=d.get("name_zh") or d["code"],
                            max_score=float(d.get("max_score") or 100),
                            weight=None if d.get("weight") is None else float(d["weight"]),
                        )
                        for d in group.dimensions or []
                    ),
                )
            )

    # Only what the groups score now: a scorecard keeps the dimensions it was filled for.
    dimensions_of = {
        group.code: {d.code for d in group.dimensions} for group in groups if group.dimensions
    }
    sums: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0])
    for group_id, department_id, scores in await conn.execute(
        select(Scorecard.group_id, Scorecard.department_id, Scorecard.scores).where(
            Scorecard.cycle_id == cycle.id
        )
    ):
        group_code = code_of_group.get(group_id)
        if group_code is None:
            continue
        for dimension, score in (scores or {}).items():
            if dimension not in dimensions_of.get(group_code, ()):
                continue
            entry = sums[(group_code, str(department_id), dimension)]
            if score is None:
                entry[3] += 1
            else:
                entry[0] += 1
                entry[1] += float(score)
                entry[2] += float(score) * float(score)
    scorecards = tuple(
        ScorecardStats(
            group_code=group_code,
            department_id=department_id,
            dimension_code=dimension,
            n=int(n),
            sum=total,
            sum_sq=squares,
            dont_know=int(dont_know),
        )
        for (group_code, department_id, dimension), (n, total, squares, dont_know) in sorted(
            sums.items()
        )
    )

    stored_rules = CycleRulesIn.model_validate(cycle.rules or {})
    ratings = tuple(await aggregate.rating_stats(session, cycle.id, stored_rules.population_shares))

    adjustments = await upheld_adjustments(session, cycle.id)

    values: dict[str, dict[str, float]] = {}
    periods: dict[str, dict[str, str]] = {}
    if any(g.kind == "objective" for g in groups):
        rows = await verified_measurements(
            http, indicator_url, authorization, cycle.jurisdiction_code, cycle.period
        )
        values, periods = pick_values(rows, cycle.period, department_by_code)

    cycle_input = CycleInput(
        system_nodes=list(snapshot.snapshot.get("nodes", [])) if snapshot is not None else [],
        departments=tuple(str(d) for d, _ in departments),
        groups=tuple(groups),
        values=values,
        scorecards=scorecards,
        ratings=ratings,
        rules=_rules(stored_rules),
        adjustments=adjustments,
    )
    context = {
        "system_id": str(cycle.system_id) if cycle.system_id else None,
        "system_version": snapshot.version if snapshot is not None else None,
        "periods": periods,
    }
    return cycle_input, context

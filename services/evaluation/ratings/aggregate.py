"""Citizen ratings summed in the database, per department and dimension.

A million responses never reach Python one by one: the database returns one row per
department × dimension (× stratum when the office supplied population shares), with the
sums the satisfaction index and its interval need. Responses the quality checks excluded or
hold for review are left out, and counted.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.evaluation.models import Rating, RatingFlag, RatingScore


@dataclass(frozen=True, slots=True)
class DimensionSums:
    """One department × dimension: x is a respondent's mean over the dimension's answered
    items (questionnaire scale), w its post-stratification weight (1 without shares)."""

    department_id: str
    dimension: str
    n: int
    sum_w: float
    sum_wx: float
    sum_wx2: float
    sum_w2: float
    top: int
    answered: int


@dataclass(frozen=True, slots=True)
class Exclusions:
    department_id: str
    excluded: int
    held: int


def _not_set_aside() -> Any:
    """The response was not excluded nor held by the quality checks."""
    return (
        ~select(RatingFlag.rating_id)
        .where(RatingFlag.rating_id == RatingScore.rating_id, RatingFlag.decision != "counted")
        .exists()
    )


async def dimension_sums(
    session: AsyncSession,
    cycle_id: uuid.UUID,
    population_shares: Mapping[str, float] | None = None,
) -> list[DimensionSums]:
    """The counted responses' sums; weighted to `population_shares` (stratum → share) when
    given: a respondent of stratum s weighs share(s) / (n(s) / n) within their department,
    shares renormalised over the strata the department's sample has; strata without a share
    weigh 0."""
    conn = await session.connection()
    if not population_shares:
        rows = await conn.execute(
            select(
                RatingScore.department_id,
                RatingScore.dimension,
                func.count(),
                func.sum(RatingScore.mean),
                func.sum(RatingScore.mean * RatingScore.mean),
                func.sum(RatingScore.top),
                func.sum(RatingScore.answered),
            )
            .where(RatingScore.cycle_id == cycle_id, _not_set_aside())
            .group_by(RatingScore.department_id, RatingScore.dimension)
            .order_by(RatingScore.department_id, RatingScore.dimension)
        )
        return [
            DimensionSums(
                department_id=str(department),
                dimension=dimension,
                n=int(n),
                sum_w=float(n),
                sum_wx=float(sx),
                sum_wx2=float(sxx),
                sum_w2=float(n),
                top=int(top),
                answered=int(answered),
            )
            for department, dimension, n, sx, sxx, top, answered in rows
        ]

    rows = await conn.execute(
        select(
            RatingScore.department_id,
            RatingScore.dimension,
            Rating.stratum,
            func.count(),
            func.sum(RatingScore.mean),
            func.sum(RatingScore.mean * RatingScore.mean),
            func.sum(RatingScore.top),
            func.sum(RatingScore.answered),
        )
        .join(Rating, Rating.id == RatingScore.rating_id)
        .where(RatingScore.cycle_id == cycle_id, _not_set_aside())
        .group_by(RatingScore.department_id, RatingScore.dimension, Rating.stratum)
    )
    cells: dict[tuple[str, str], list[tuple[str | None, int, float, float, int, int]]] = (
        defaultdict(list)
    )
    for department, dimension, stratum, n, sx, sxx, top, answered in rows:
        cells[(str(department), dimension)].append(
            (stratum, int(n), float(sx), float(sxx), int(top), int(answered))
        )
    result = []
    for (department, dimension), strata in sorted(cells.items()):
        n_total = sum(c[1] for c in strata)
        present = {c[0]: c[1] for c in strata if c[0] in population_shares}
        share_sum = sum(population_shares[s] for s in present if s is not None)
        sum_w = sum_wx = sum_wx2 = sum_w2 = 0.0
        for stratum, n, sx, sxx, _top, _answered in strata:
            if stratum not in present or share_sum <= 0:
                continue
            weight = (population_shares[stratum] / share_sum) / (n / n_total)
            sum_w += weight * n
            sum_wx += weight * sx
            sum_wx2 += weight * sxx
            sum_w2 += weight * weight * n
        result.append(
            DimensionSums(
                department_id=department,
                dimension=dimension,
                n=n_total,
                sum_w=sum_w,
                sum_wx=sum_wx,
                sum_wx2=sum_wx2,
                sum_w2=sum_w2,
                top=sum(c[4] for c in strata),
                answered=sum(c[5] for c in strata),
            )
        )
    return result


async def exclusions(session: AsyncSession, cycle_id: uuid.UUID) -> list[Exclusions]:
    """Per department, the responses left out (excluded) or waiting for review (held)."""
    conn = await session.connection()
    rows = await conn.execute(
        select(
            Rating.department_id,
            func.count().filter(RatingFlag.decision == "excluded"),
            func.count().filter(RatingFlag.decision == "held"),
        )
        .join(RatingFlag, and_(RatingFlag.rating_id == Rating.id))
        .where(RatingFlag.cycle_id == cycle_id, RatingFlag.decision != "counted")
        .group_by(Rating.department_id)
        .order_by(Rating.department_id)
    )
    return [Exclusions(department_id=str(d), excluded=int(e), held=int(h)) for d, e, h in rows]

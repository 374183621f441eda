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

from sqlalchemy import and_, func, literal, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from services.evaluation.engine.statistics import (
    StratumSums,
    combine_strata,
    poststratification_weights,
)
from services.evaluation.engine.types import RatingStats
from services.evaluation.models import Rating, RatingFlag


@dataclass(frozen=True, slots=True)
class Exclusions:
    department_id: str
    excluded: int
    held: int


def _not_set_aside() -> Any:
    """The response was not excluded nor held by the quality checks."""
    return (
        ~select(RatingFlag.rating_id)
        .where(RatingFlag.rating_id == Rating.id, RatingFlag.decision != "counted")
        .exists()
    )


async def rating_stats(
    session: AsyncSession,
    cycle_id: uuid.UUID,
    population_shares: Mapping[str, float] | None = None,
) -> list[RatingStats]:
    """The counted responses' sums per department × dimension, as the engine takes them.

    With `population_shares` (stratum → share) the database sums per stratum too and each
    department's respondents are weighted to the shares (`poststratification_weights`); a
    respondent of a stratum without a share weighs 0."""
    conn = await session.connection()
    set_aside = {e.department_id: e for e in await exclusions(session, cycle_id)}
    stratum = Rating.stratum if population_shares else literal(None)
    sums, (dimension, mean, answered, top) = _dimension_sums(conn.dialect.name)
    stmt = (
        select(
            Rating.department_id,
            dimension,
            stratum.label("stratum"),
            func.count(),
            func.sum(mean),
            func.sum(mean * mean),
            func.sum(top),
            func.sum(answered),
        )
        .select_from(Rating)
        .join(sums, true())
        .where(Rating.cycle_id == cycle_id, _not_set_aside())
        .group_by(Rating.department_id, dimension)
    )
    if population_shares:
        stmt = stmt.group_by(Rating.stratum)
    cells: dict[tuple[str, str], list[StratumSums]] = defaultdict(list)
    for department, dimension, cell, n, sx, sxx, top, answered in await conn.execute(stmt):
        cells[(str(department), dimension)].append(
            StratumSums(cell, int(n), float(sx), float(sxx), int(top), int(answered))
        )
    stats = []
    for (department, dimension), strata in sorted(cells.items()):
        if population_shares:
            counts = {c.stratum: c.n for c in strata if c.stratum is not None}
            weights: dict[str | None, float] = dict(
                poststratification_weights(counts, population_shares)
            )
        else:
            weights = {None: 1.0}
        aside = set_aside.get(department)
        stats.append(
            combine_strata(
                department,
                dimension,
                strata,
                weights,
                excluded=aside.excluded if aside else 0,
                held=aside.held if aside else 0,
            )
        )
    return stats


def _dimension_sums(dialect: str) -> tuple[Any, tuple[Any, Any, Any, Any]]:
    """A response's sums, one row per dimension answered: its four aligned arrays
    (`Rating.dimensions`, `means`, `answered`, `tops`) unnested beside the response's row
    (PostgreSQL's `unnest`, JSON lists elsewhere by `json_each`): the table to join to
    `ratings` and its dimension, mean, answered and top."""
    if dialect == "postgresql":
        sums = (
            func.unnest(Rating.dimensions, Rating.means, Rating.answered, Rating.tops)
            .table_valued("dimension", "mean", "answered", "top")
            .render_derived(name="sums")
        )
        return sums, (sums.c.dimension, sums.c.mean, sums.c.answered, sums.c.top)
    each = func.json_each(Rating.dimensions).table_valued("key", "value").alias("sums")

    def at(column: Any) -> Any:
        return func.json_extract(column, func.printf("$[%d]", each.c.key))

    return each, (each.c.value, at(Rating.means), at(Rating.answered), at(Rating.tops))


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

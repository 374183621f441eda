"""Citizen ratings summed in the database, per department and dimension.

A million responses never reach Python one by one: the database returns one row per
department × dimension (× stratum when the office supplied population shares), with the
sums the satisfaction index and its interval need. Responses the quality checks excluded or
hold for review are left out, and counted.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, Integer, and_, func, literal, select, true, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from services.evaluation.engine.statistics import (
    StratumSums,
    combine_strata,
    poststratification_weights,
)
from services.evaluation.engine.types import RatingStats
from services.evaluation.models import Cycle, Questionnaire, Rating, RatingFlag


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
    by_stratum = bool(population_shares)
    if conn.dialect.name == "postgresql":
        sums = await _sums_by_position(conn, cycle_id, by_stratum)
    else:
        sums = await _sums_by_dimension(conn, cycle_id, by_stratum)
    stats = []
    for (department, dimension), by_cell in sorted(sums.items()):
        strata = [
            StratumSums(cell, int(n), float(sx), float(sxx), int(top), int(answered))
            for cell, (n, sx, sxx, top, answered) in by_cell.items()
        ]
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


# (department, dimension) → stratum → [n, Σ mean, Σ mean², Σ top, Σ answered]
Sums = dict[tuple[str, str], dict[str | None, list[Any]]]


def _add(sums: Sums, key: tuple[str, str], stratum: str | None, values: Any) -> None:
    cell = sums.setdefault(key, {}).setdefault(stratum, [0, 0.0, 0.0, 0, 0])
    for i, value in enumerate(values):
        cell[i] += value


async def _sums_by_position(conn: Any, cycle_id: uuid.UUID, by_stratum: bool) -> Sums:
    """PostgreSQL: one group per department × set of dimensions answered (nearly always the
    questionnaire's whole set), summing each array position; split into dimensions here.
    Each response stays one row: cheaper than unnesting it into a row per dimension. The
    width is the most dimensions a questionnaire of the jurisdiction has; were a response
    wider, it would be summed again wider, never cut short."""
    widths = await conn.execute(
        select(Questionnaire.dimensions).where(
            Questionnaire.jurisdiction_code
            == select(Cycle.jurisdiction_code).where(Cycle.id == cycle_id).scalar_subquery()
        )
    )
    width = max([len(dimensions) for (dimensions,) in widths], default=1)
    while True:
        rows = (await conn.execute(_position_sums(cycle_id, width, by_stratum))).all()
        widest = max((row[4] or 0 for row in rows), default=0)
        if widest <= width:
            break
        width = widest
    sums: Sums = {}
    for department, dimensions, stratum, n, _, *positions in rows:
        for k, dimension in enumerate(dimensions):
            sx, sxx, top, answered = positions[4 * k : 4 * k + 4]
            _add(sums, (str(department), dimension), stratum, (n, sx, sxx, top, answered))
    return sums


def _position_sums(cycle_id: uuid.UUID, width: int, by_stratum: bool) -> Any:
    means = type_coerce(Rating.means, ARRAY(Float))
    tops = type_coerce(Rating.tops, ARRAY(Integer))
    answered = type_coerce(Rating.answered, ARRAY(Integer))
    positions = [
        column
        for k in range(1, width + 1)
        for column in (
            func.sum(means[k]),
            func.sum(means[k] * means[k]),
            func.sum(tops[k]),
            func.sum(answered[k]),
        )
    ]
    stmt = (
        select(
            Rating.department_id,
            Rating.dimensions,
            (Rating.stratum if by_stratum else literal(None)).label("stratum"),
            func.count(),
            func.max(func.cardinality(Rating.dimensions)),
            *positions,
        )
        .where(Rating.cycle_id == cycle_id, _not_set_aside())
        .group_by(Rating.department_id, Rating.dimensions)
    )
    return stmt.group_by(Rating.stratum) if by_stratum else stmt


async def _sums_by_dimension(conn: Any, cycle_id: uuid.UUID, by_stratum: bool) -> Sums:
    """Elsewhere (SQLite): each response's JSON lists taken apart by `json_each`, a row per
    dimension answered, grouped by department × dimension."""
    each = func.json_each(Rating.dimensions).table_valued("key", "value").alias("sums")

    def at(column: Any) -> Any:
        return func.json_extract(column, func.printf("$[%d]", each.c.key))

    mean = at(Rating.means)
    stratum = Rating.stratum if by_stratum else literal(None)
    stmt = (
        select(
            Rating.department_id,
            each.c.value,
            stratum.label("stratum"),
            func.count(),
            func.sum(mean),
            func.sum(mean * mean),
            func.sum(at(Rating.tops)),
            func.sum(at(Rating.answered)),
        )
        .select_from(Rating)
        .join(each, true())
        .where(Rating.cycle_id == cycle_id, _not_set_aside())
        .group_by(Rating.department_id, each.c.value)
    )
    if by_stratum:
        stmt = stmt.group_by(Rating.stratum)
    sums: Sums = {}
    for department, dimension, cell, *values in await conn.execute(stmt):
        _add(sums, (str(department), dimension), cell, values)
    return sums


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

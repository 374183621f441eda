"""Ranking within the category, grade bands, the veto cap and quotas.

Ranking: descending total (already rounded to 4 decimals); equal totals share a rank
(competition ranking 1, 2, 2, 4) and are marked tied; among ties the order is by department
id, so it never depends on input order.

Grades, in this order:
1. the band: the first band (best to worst) whose minimum the total reaches; a total below
   every minimum gets the worst band;
2. the veto cap: a met veto caps the grade at its ``grade_cap`` (a cap that names no band
   caps at the worst band); several vetoes: the lowest cap;
3. quotas, best band first: at most ``quota`` departments keep a band, taken by rank; the
   rest drop to the next band down, where they compete by rank with that band's own
   departments under its quota, and so on. When departments tied on the total straddle the
   quota's boundary, all of them drop: the quota is never exceeded. The worst band has no
   quota (there is nowhere to drop to).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from services.evaluation.engine.types import EngineInputError, GradeBand


@dataclass(frozen=True, slots=True)
class Ranked:
    department_id: str
    total: float
    rank: int
    tied: bool


def rank(totals: Mapping[str, float]) -> list[Ranked]:
    """Competition ranking by descending total, ties by department id."""
    order = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    counts: dict[float, int] = {}
    for _, total in order:
        counts[total] = counts.get(total, 0) + 1
    ranked = []
    current_rank = 0
    previous: float | None = None
    for position, (department_id, total) in enumerate(order, start=1):
        if total != previous:
            current_rank, previous = position, total
        ranked.append(Ranked(department_id, total, current_rank, counts[total] > 1))
    return ranked


def check_bands(bands: Sequence[GradeBand]) -> None:
    """Bands run from best to worst with falling minimums; only the worst may have none."""
    if not bands:
        raise EngineInputError("the cycle has no grade bands")
    grades = [band.grade for band in bands]
    if len(set(grades)) != len(grades):
        raise EngineInputError("grade bands repeat a grade")
    minimums = [band.min_total for band in bands]
    if any(minimum is None for minimum in minimums[:-1]):
        raise EngineInputError("only the worst grade band may have no minimum")
    present = [minimum for minimum in minimums if minimum is not None]
    if any(low >= high for high, low in itertools.pairwise(present)):
        raise EngineInputError("grade bands must run from the highest minimum to the lowest")


@dataclass(frozen=True, slots=True)
class Graded:
    band_grade: str
    grade: str
    explanation: str


def _band_index(bands: Sequence[GradeBand], total: float) -> int:
    for index, band in enumerate(bands):
        if band.min_total is None or total >= band.min_total:
            return index
    return len(bands) - 1


def _band_text(band: GradeBand, total: float) -> str:
    if band.min_total is None:
        return f"total {_fmt(total)}: {band.grade!r}"
    if total >= band.min_total:
        return f"total {_fmt(total)} ≥ {_fmt(band.min_total)}: {band.grade!r}"
    return f"total {_fmt(total)} is below every band: {band.grade!r}"


def grade(
    ranked: Sequence[Ranked],
    bands: Sequence[GradeBand],
    quotas: Mapping[str, int],
    veto_caps: Mapping[str, Sequence[str]],
) -> dict[str, Graded]:
    """Each department's grade: band, then veto cap, then quotas (see the module doc).

    ``ranked`` is in rank order; ``veto_caps``: department id → the grade caps of its met
    vetoes.
    """
    check_bands(bands)
    grades = [band.grade for band in bands]
    worst = len(bands) - 1
    index: dict[str, int] = {}
    band_of: dict[str, int] = {}
    notes: dict[str, list[str]] = {}
    for entry in ranked:
        found = _band_index(bands, entry.total)
        band_of[entry.department_id] = found
        notes[entry.department_id] = [_band_text(bands[found], entry.total)]
        current = found
        for cap in sorted(set(veto_caps.get(entry.department_id, ()))):
            if cap in grades:
                capped = grades.index(cap)
                text = f"veto caps the grade at {cap!r}"
            else:
                capped = worst
                text = f"veto caps the grade at {cap!r}, not a band: {grades[worst]!r}"
            if capped > current:
                current = capped
                notes[entry.department_id].append(text)
            else:
                notes[entry.department_id].append(f"{text} (no lower than the band)")
        index[entry.department_id] = current

    for level in range(worst):
        quota = quotas.get(grades[level])
        if quota is None:
            continue
        candidates = [entry for entry in ranked if index[entry.department_id] == level]
        if len(candidates) <= max(quota, 0):
            continue
        boundary = candidates[max(quota, 0)].total
        kept = [entry for entry in candidates if entry.total > boundary]
        straddles = len(kept) < max(quota, 0)
        for entry in candidates:
            if entry.total > boundary:
                continue
            index[entry.department_id] = level + 1
            if straddles and entry.total == boundary:
                reason = (
                    f"tied at {_fmt(entry.total)} across the quota of {quota} for "
                    f"{grades[level]!r}: all tied drop to {grades[level + 1]!r}"
                )
            else:
                reason = f"quota of {quota} for {grades[level]!r} full: {grades[level + 1]!r}"
            notes[entry.department_id].append(reason)

    return {
        entry.department_id: Graded(
            band_grade=grades[band_of[entry.department_id]],
            grade=grades[index[entry.department_id]],
            explanation="; ".join(notes[entry.department_id]),
        )
        for entry in ranked
    }


def _fmt(number: float) -> str:
    text = f"{number:.4f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text

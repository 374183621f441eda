"""Subjective groups: scorecards (leadership, self, experts, deputies, enterprises) and citizens.

Scorecard groups: a dimension's score is the mean of its answers rescaled to 0–100
(mean / max_score × 100), "don't know" answers excluded rather than counted as low. Citizen
group: a dimension's score is its satisfaction index (see ``statistics``). Either way the
group's score is the dimension-weighted mean of the dimensions that have answers (equal
weights when none are given); a dimension without answers hands its weight to the others in
proportion, and a group without answers for a department has no data for it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from services.evaluation.engine.statistics import Satisfaction, satisfaction
from services.evaluation.engine.types import (
    DimensionInput,
    GroupInput,
    RatingStats,
    ScorecardStats,
)


@dataclass(slots=True)
class DimensionScore:
    """One dimension of one group for one department; ``score`` on 0–100 (None: no data)."""

    dimension: DimensionInput
    share: float  # of the group's score, among the dimensions with data (0 without data)
    nominal_share: float
    score: float | None
    n: int
    below_min_sample: bool
    mean: float | None = None
    sd: float | None = None
    dont_know: int = 0
    satisfaction: Satisfaction | None = None
    stats: RatingStats | None = None


@dataclass(slots=True)
class SubjectiveScore:
    dimensions: list[DimensionScore]
    score: float | None  # rounded to 4 decimals; None: no dimension has data
    n: int
    below_min_sample: bool
    excluded: int = 0
    held: int = 0
    notes: list[str] = field(default_factory=list)


def _nominal_shares(dimensions: tuple[DimensionInput, ...]) -> list[float]:
    weights = [d.weight for d in dimensions]
    if all(w is None for w in weights):
        return [1 / len(dimensions)] * len(dimensions) if dimensions else []
    values = [0.0 if w is None else float(w) for w in weights]
    total = sum(values)
    return [w / total for w in values] if total > 0 else [0.0] * len(values)


def _combine(
    group: GroupInput, dimension_scores: list[DimensionScore], *, excluded: int = 0, held: int = 0
) -> SubjectiveScore:
    with_data = [d for d in dimension_scores if d.score is not None and d.nominal_share > 0]
    total_share = sum(d.nominal_share for d in with_data)
    notes = []
    counted = {id(d) for d in with_data}
    for d in dimension_scores:
        d.share = d.nominal_share / total_share if id(d) in counted else 0.0
    missing = [d.dimension.code for d in dimension_scores if d.score is None]
    if missing and with_data:
        notes.append(
            "no answers on " + ", ".join(missing) + ": their weight goes to the other dimensions"
        )
    n = max((d.n for d in dimension_scores), default=0)
    if not with_data:
        return SubjectiveScore(
            dimensions=dimension_scores,
            score=None,
            n=n,
            below_min_sample=n < group.min_sample,
            excluded=excluded,
            held=held,
            notes=notes,
        )
    score = sum(d.share * d.score for d in with_data if d.score is not None)
    return SubjectiveScore(
        dimensions=dimension_scores,
        score=round(score, 4) + 0.0,
        n=n,
        below_min_sample=n < group.min_sample,
        excluded=excluded,
        held=held,
        notes=notes,
    )


def scorecard_score(
    group: GroupInput, stats_by_dimension: Mapping[str, ScorecardStats]
) -> SubjectiveScore:
    """A scorecard group's score for one department from its per-dimension sums."""
    shares = _nominal_shares(group.dimensions)
    scores = []
    for dimension, share in zip(group.dimensions, shares, strict=True):
        stats = stats_by_dimension.get(dimension.code)
        max_score = float(dimension.max_score or 0)
        if stats is None or stats.n <= 0:
            scores.append(
                DimensionScore(
                    dimension=dimension,
                    share=0.0,
                    nominal_share=share,
                    score=None,
                    n=0,
                    below_min_sample=group.min_sample > 0,
                    dont_know=0 if stats is None else stats.dont_know,
                )
            )
            continue
        mean = stats.sum / stats.n
        sd = None
        if stats.n >= 2:
            sd = math.sqrt(max(0.0, (stats.sum_sq - stats.n * mean * mean) / (stats.n - 1)))
        scores.append(
            DimensionScore(
                dimension=dimension,
                share=0.0,
                nominal_share=share,
                score=mean / max_score * 100,
                n=stats.n,
                below_min_sample=stats.n < group.min_sample,
                mean=mean,
                sd=sd,
                dont_know=stats.dont_know,
            )
        )
    return _combine(group, scores)


def citizen_score(
    group: GroupInput, stats_by_dimension: Mapping[str, RatingStats]
) -> SubjectiveScore:
    """The citizen group's score for one department: its dimensions' satisfaction indices."""
    assert group.scale_min is not None and group.scale_max is not None
    shares = _nominal_shares(group.dimensions)
    scores = []
    excluded = held = 0
    for dimension, share in zip(group.dimensions, shares, strict=True):
        stats = stats_by_dimension.get(dimension.code)
        if stats is not None:
            excluded, held = max(excluded, stats.excluded), max(held, stats.held)
        if stats is None or stats.n <= 0 or stats.sum_w <= 0:
            scores.append(
                DimensionScore(
                    dimension=dimension,
                    share=0.0,
                    nominal_share=share,
                    score=None,
                    n=0 if stats is None else stats.n,
                    below_min_sample=(0 if stats is None else stats.n) < group.min_sample,
                    stats=stats,
                )
            )
            continue
        index = satisfaction(stats, scale_min=group.scale_min, scale_max=group.scale_max)
        scores.append(
            DimensionScore(
                dimension=dimension,
                share=0.0,
                nominal_share=share,
                score=index.index,
                n=stats.n,
                below_min_sample=stats.n < group.min_sample,
                mean=index.mean,
                sd=index.sd,
                satisfaction=index,
                stats=stats,
            )
        )
    return _combine(group, scores, excluded=excluded, held=held)

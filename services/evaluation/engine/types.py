"""The scoring engine's inputs and outputs: frozen values, no I/O, no database rows.

The loading side builds one ``CycleInput`` per cycle (one category) out of the stored
indicator-system snapshot, the verified measurements, the scorecard and rating sums (both
aggregated in SQL) and the upheld appeals' adjustments; ``score_cycle`` turns it into a
``CycleOutcome``. Department ids are strings (``str(uuid)``) everywhere, so inputs and outputs
serialize as they are.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

GroupKind = Literal["objective", "leadership", "self", "citizen", "expert", "deputy", "enterprise"]
GROUP_KINDS: tuple[str, ...] = (
    "objective",
    "leadership",
    "self",
    "citizen",
    "expert",
    "deputy",
    "enterprise",
)
# Groups whose evaluators fill a scorecard (a score per dimension on 0..max_score).
SCORECARD_KINDS: tuple[str, ...] = ("leadership", "self", "expert", "deputy", "enterprise")
Normalization = Literal["none", "min_max", "z_score"]
AdjustmentKind = Literal["indicator", "group"]
BelowMinSample = Literal["count", "redistribute"]


class EngineInputError(ValueError):
    """Inputs that do not fit together (an unknown group, a rule that does not parse, …)."""


# --- inputs -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DimensionInput:
    """One dimension a subjective group rates.

    Scorecard groups: ``max_score`` is the top of the dimension's scale (scores run
    0..max_score). Citizen group: a questionnaire dimension; ``max_score`` is unused (the
    scale is the group's ``scale_min``..``scale_max``). ``weight`` is the dimension's share
    within its group (any positive numbers; None on every dimension means equal weights).
    """

    code: str
    name: str
    max_score: float | None = None
    weight: float | None = None


@dataclass(frozen=True, slots=True)
class GroupInput:
    """An evaluator group of the cycle with its weight in the total (a cycle's sum to 100).

    ``department_ids`` None means every department of the cycle. For the citizen group,
    ``scale_min``/``scale_max``/``top_box`` come from the questionnaire (top_box: how many of
    the top answers count as satisfied, e.g. 3 on a 1..5 scale means 3, 4 and 5; the engine
    only reports it, the loading side counts ``RatingStats.top`` with it).
    """

    code: str
    kind: GroupKind
    name: str
    weight: float
    min_sample: int = 1
    department_ids: frozenset[str] | None = None
    dimensions: tuple[DimensionInput, ...] = ()
    scale_min: float | None = None
    scale_max: float | None = None
    top_box: int | None = None


@dataclass(frozen=True, slots=True)
class ScorecardStats:
    """Scorecard answers of one group × department × dimension, summed in SQL.

    ``n`` counts the answers that are not "don't know"; ``sum``/``sum_sq`` are over those
    scores (each on 0..max_score); ``dont_know`` counts the "don't know" answers.
    """

    group_code: str
    department_id: str
    dimension_code: str
    n: int
    sum: float
    sum_sq: float
    dont_know: int = 0


@dataclass(frozen=True, slots=True)
class RatingStats:
    """Counted citizen responses of one department × questionnaire dimension, summed in SQL.

    x is a respondent's mean over the dimension's answered items (questionnaire scale), w
    the respondent's post-stratification weight (1.0 without population shares). ``n``
    counts respondents who answered at least one item of the dimension; ``top`` the answers
    in the top box and ``answered`` the items answered ("don't know" excluded) — the
    satisfaction rate is top / answered. ``excluded``/``held``: the department's responses
    the quality rules excluded or hold for review (the same numbers on every row of the
    department; the engine reports them once per department). ``group_code`` None means the
    cycle's one citizen group.
    """

    department_id: str
    dimension_code: str
    n: int
    sum_w: float
    sum_wx: float
    sum_wx2: float
    sum_w2: float
    top: int
    answered: int
    excluded: int = 0
    held: int = 0
    group_code: str | None = None


@dataclass(frozen=True, slots=True)
class GradeBand:
    """A grade and the lowest total that earns it (inclusive); None (or −∞): no minimum."""

    grade: str
    min_total: float | None

    def __post_init__(self) -> None:
        if self.min_total is None:
            return
        if self.min_total == float("-inf"):
            # One spelling of "no minimum", so that the inputs stay JSON.
            object.__setattr__(self, "min_total", None)
        elif not math.isfinite(self.min_total):
            raise EngineInputError(f"grade {self.grade!r}: the minimum must be a finite number")


DEFAULT_BANDS: tuple[GradeBand, ...] = (
    GradeBand("excellent", 95.0),
    GradeBand("good", 90.0),
    GradeBand("pass", 80.0),
    GradeBand("fail", None),
)


@dataclass(frozen=True, slots=True)
class CycleRules:
    """How a cycle turns group scores into totals, ranks and grades.

    ``grade_bands`` run from the best grade to the worst; a total below every band's minimum
    gets the last (worst) band. ``quotas``: grade → the most departments that may hold it
    (a quota on the worst band is ignored: there is nowhere to drop to). ``normalization``
    is applied to each group's scores across the departments it has data for, before
    weighting. ``bonus_cap``: the most bonus points the objective group adds above its base
    100. ``below_min_sample``: whether a group below its minimum sample for a department
    still counts (flagged) or has its weight redistributed like a group without data.
    """

    grade_bands: tuple[GradeBand, ...] = DEFAULT_BANDS
    quotas: Mapping[str, int] = field(default_factory=dict)
    normalization: Normalization = "none"
    bonus_cap: float = 5.0
    weakest_count: int = 3
    below_min_sample: BelowMinSample = "count"


@dataclass(frozen=True, slots=True)
class AdjustmentInput:
    """An upheld appeal's change: ``points`` added to one indicator's points (its points of
    the base 100) or to one group's score (0–100) of one department."""

    department_id: str
    target_kind: AdjustmentKind
    target_code: str
    points: float
    appeal_id: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class CycleInput:
    """Everything one cycle's scoring depends on; nothing else is read.

    ``system_nodes`` is the snapshot's ``nodes`` list exactly as ``GET
    /v1/indicator-systems/{id}`` returns it (nested dicts: code, name_zh, weight, polarity,
    target, target_overrides {department id: target}, rule, children). ``values``: department
    id → indicator code → the verified value for the cycle's period.
    """

    system_nodes: Sequence[Mapping[str, Any]]
    departments: tuple[str, ...]
    groups: tuple[GroupInput, ...]
    values: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    scorecards: tuple[ScorecardStats, ...] = ()
    ratings: tuple[RatingStats, ...] = ()
    rules: CycleRules = field(default_factory=CycleRules)
    adjustments: tuple[AdjustmentInput, ...] = ()


# --- outputs ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupScore:
    """One group's part in one department's total.

    ``score`` is on 0–100 (after normalization and group adjustments; the objective group's
    may pass 100 by its bonus); ``points`` = effective_weight / 100 × score, the group's
    points of the total. ``effective_weight`` differs from ``weight`` when the weight of
    groups without data was redistributed. ``has_data`` False: the group does not rate the
    department or has nothing for it (score and points None, effective weight 0).
    """

    code: str
    kind: str
    name: str
    weight: float
    effective_weight: float
    score: float | None
    points: float
    has_data: bool
    n: int | None
    below_min_sample: bool


@dataclass(frozen=True, slots=True)
class WeakIndicator:
    """A leaf indicator and its achievement (points / weight, after adjustments)."""

    code: str
    name: str
    weight: float
    points: float
    achievement: float


@dataclass(frozen=True, slots=True)
class WeakDimension:
    """A subjective dimension and its score on 0–100 (satisfaction index or scorecard)."""

    group_code: str
    code: str
    name: str
    score: float


@dataclass(frozen=True, slots=True)
class DepartmentResult:
    """One department's outcome; ``breakdown`` is the JSON-able tree that explains it.

    ``total`` is rounded to 4 decimals and equals ``breakdown["points"]``. ``rank`` is the
    competition rank (1, 2, 2, 4) by total; ``tied`` when another department has the same
    total. ``band_grade`` is the grade of the bands alone; ``grade`` is after the veto cap
    and the quotas, and ``grade_explanation`` says how it came about.
    ``below_min_sample`` lists ``group`` or ``group/dimension`` codes below their minimum.
    """

    department_id: str
    total: float
    rank: int
    tied: bool
    grade: str
    band_grade: str
    grade_explanation: str
    vetoed: bool
    veto_explanation: str | None
    group_scores: tuple[GroupScore, ...]
    weakest_indicators: tuple[WeakIndicator, ...]
    weakest_dimensions: tuple[WeakDimension, ...]
    below_min_sample: tuple[str, ...]
    breakdown: dict[str, Any]


@dataclass(frozen=True, slots=True)
class UnappliedAdjustment:
    """An adjustment the engine could not apply (unknown department, indicator or group)."""

    adjustment: AdjustmentInput
    reason: str


@dataclass(frozen=True, slots=True)
class CycleOutcome:
    """The results of one cycle, by rank (ties by department id)."""

    results: tuple[DepartmentResult, ...]
    unapplied_adjustments: tuple[UnappliedAdjustment, ...] = ()

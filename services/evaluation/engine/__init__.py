"""The evaluation scoring engine: pure functions over one cycle's inputs, no I/O, no database.

The loading side builds a ``CycleInput`` (``types``), calls ``score_cycle`` and stores the
``CycleOutcome`` with ``digest(inputs)`` and ``inputs_json(inputs)``. See ``cycle`` for the
order of the steps and the shape of the breakdown, ``objective``, ``subjective`` and
``statistics`` for the scores, ``grading`` for ranks, bands, vetoes and quotas.
"""

from services.evaluation.engine.canonical import digest, inputs_from_json, inputs_json
from services.evaluation.engine.cycle import score_cycle
from services.evaluation.engine.statistics import (
    StratumSums,
    combine_strata,
    kish_effective_n,
    poststratification_weights,
    satisfaction,
)
from services.evaluation.engine.types import (
    AdjustmentInput,
    CycleInput,
    CycleOutcome,
    CycleRules,
    DepartmentResult,
    DimensionInput,
    EngineInputError,
    GradeBand,
    GroupInput,
    GroupScore,
    RatingStats,
    ScorecardStats,
    UnappliedAdjustment,
    WeakDimension,
    WeakIndicator,
)

__all__ = [
    "AdjustmentInput",
    "CycleInput",
    "CycleOutcome",
    "CycleRules",
    "DepartmentResult",
    "DimensionInput",
    "EngineInputError",
    "GradeBand",
    "GroupInput",
    "GroupScore",
    "RatingStats",
    "ScorecardStats",
    "StratumSums",
    "UnappliedAdjustment",
    "WeakDimension",
    "WeakIndicator",
    "combine_strata",
    "digest",
    "inputs_from_json",
    "inputs_json",
    "kish_effective_n",
    "poststratification_weights",
    "satisfaction",
    "score_cycle",
]

"""What every feature of the evaluation service shares on the wire: patterns and the rules
a cycle is scored by (`Cycle.rules` as `CycleRules` validates it)."""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# DHIS2-style periods: a year, a quarter or a month (2026, 2026Q1, 202603).
PERIOD_PATTERN = r"^\d{4}(Q[1-4]|0[1-9]|1[0-2])?$"
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]*$"
# Department categories, spelled as the indicator service spells them.
CATEGORY_PATTERN = r"^[a-z][a-z0-9_]*$"
GRADE_PATTERN = r"^[a-z][a-z0-9_]*$"
SHARE_TOLERANCE = 1e-6

Score = Annotated[float, Field(allow_inf_nan=False)]


class GradeBand(BaseModel):
    """A total at or above `min` earns `grade`; the last band (min null) takes the rest."""

    model_config = ConfigDict(extra="forbid")

    grade: str = Field(min_length=1, max_length=32, pattern=GRADE_PATTERN, examples=["excellent"])
    min: Score | None = Field(examples=[95])


def default_bands() -> list[GradeBand]:
    return [
        GradeBand(grade="excellent", min=95),
        GradeBand(grade="good", min=90),
        GradeBand(grade="pass", min=80),
        GradeBand(grade="fail", min=None),
    ]


class CycleRules(BaseModel):
    """How a cycle is scored and how its citizen ratings are checked.

    Grades: `bands` from the highest `min` down, the last one (min null) for every lower
    total; `quotas` caps how many departments may get a grade (Hangzhou 2020: 18 of 78
    excellent). Ratings: a response meeting `exclusion_criteria` of the quality criteria
    (speeder, straight-lining, device burst, network burst) is counted, excluded or held for
    review as `quality_policy` says.
    """

    model_config = ConfigDict(extra="forbid")

    bands: list[GradeBand] = Field(default_factory=default_bands, min_length=1, max_length=10)
    quotas: dict[str, Annotated[int, Field(ge=0, le=100_000)]] = Field(
        default_factory=dict, description="Grade → the most departments that may get it"
    )
    normalization: Literal["none", "min_max", "z_score"] = Field(
        default="none", description="Rescale totals within the category before grading"
    )
    bonus_cap: Score = Field(default=5, ge=0, le=100, description="Bonus points at most")
    quality_policy: Literal["count", "exclude", "review"] = "exclude"
    speeder_ratio: Score = Field(
        default=0.4, gt=0, le=1, description="Faster than this share of the median is a speeder"
    )
    speeder_min_responses: int = Field(
        default=100, ge=1, le=1_000_000, description="Speeders are judged once this many exist"
    )
    burst_window_seconds: int = Field(default=600, ge=1, le=86_400)
    burst_max_per_device: int = Field(default=20, ge=1, le=1_000_000)
    burst_max_per_network: int = Field(default=200, ge=1, le=1_000_000)
    exclusion_criteria: int = Field(
        default=2, ge=1, le=4, description="How many criteria a response must meet to be flagged"
    )
    weakest_count: int = Field(
        default=3, ge=0, le=50, description="Weakest indicators/dimensions named per department"
    )
    population_shares: (
        dict[
            Annotated[str, Field(min_length=1, max_length=100)],
            Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)],
        ]
        | None
    ) = Field(
        default=None,
        max_length=1000,
        description="Stratum → population share (summing to 1) for post-stratification",
    )

    @model_validator(mode="after")
    def _consistent(self) -> CycleRules:
        *graded, last = self.bands
        if last.min is not None:
            raise ValueError("the last grade band takes every lower total: its min must be null")
        if any(band.min is None for band in graded):
            raise ValueError("only the last grade band may have a null min")
        mins = [band.min for band in graded if band.min is not None]
        if any(a <= b for a, b in pairwise(mins)):
            raise ValueError("grade bands must be ordered by min, strictly descending")
        grades = [band.grade for band in self.bands]
        if len(set(grades)) != len(grades):
            raise ValueError("each grade may have one band only")
        unknown = sorted(set(self.quotas) - set(grades))
        if unknown:
            raise ValueError(f"quotas name grades without a band: {', '.join(unknown)}")
        if self.population_shares is not None:
            if not self.population_shares:
                raise ValueError("population_shares, when given, names at least one stratum")
            total = sum(self.population_shares.values())
            if abs(total - 1) > SHARE_TOLERANCE:
                raise ValueError(f"population_shares sum to {total:g}, not 1")
        return self

    @property
    def grades(self) -> list[str]:
        """The grades from best to worst."""
        return [band.grade for band in self.bands]

    def grade_of(self, total: float) -> str:
        """The band a total falls in (before quotas and vetoes)."""
        for band in self.bands:
            if band.min is None or total >= band.min:
                return band.grade
        raise AssertionError("the last band has no minimum")  # pragma: no cover

"""Results on the wire: a department's score, rank and grade, and why."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class GroupScore(BaseModel):
    code: str
    kind: str
    name: str
    weight: float = Field(description="The group's weight in the cycle (weights sum to 100)")
    effective_weight: float = Field(
        description="After redistributing the weight of groups with nothing for this department"
    )
    score: float | None = Field(description="0–100 (the objective group's may pass 100 by bonus)")
    points: float = Field(description="The group's points of the total")
    has_data: bool
    n: int | None = Field(description="Responses or scorecards behind the score")
    below_min_sample: bool


class WeakIndicator(BaseModel):
    code: str
    name: str
    weight: float
    points: float
    achievement: float = Field(description="points / weight")


class WeakDimension(BaseModel):
    group: str
    code: str
    name: str
    score: float = Field(description="0–100")


class Result(BaseModel):
    cycle_id: uuid.UUID
    version: int
    department_id: uuid.UUID
    total: float
    rank: int
    tied: bool = Field(description="Another department has the same total (and rank)")
    grade: str
    band_grade: str = Field(description="The grade of the bands alone, before quotas and veto")
    grade_explanation: str
    vetoed: bool
    veto_explanation: str | None
    group_scores: list[GroupScore]
    weakest_indicators: list[WeakIndicator]
    weakest_dimensions: list[WeakDimension]
    below_min_sample: list[str]
    computed_at: datetime


class ResultList(BaseModel):
    cycle_id: uuid.UUID
    status: str
    version: int
    computed_at: datetime | None = Field(description="When this version was scored")
    measurements_changed_at: datetime | None = Field(
        description="The indicator service's last change to a value of the cycle's period"
    )
    stale: bool = Field(
        description="Values changed after this version was scored: a re-score may differ"
    )
    results: list[Result] = Field(description="By rank; ties by department id")


class Breakdown(BaseModel):
    """total → group → dimension → indicator; every node carries its points (children sum
    to their parent), weight, inputs, rule and parameters, and an explanation."""

    cycle_id: uuid.UUID
    version: int
    department_id: uuid.UUID
    total: float
    breakdown: dict[str, Any]


class ResultVersion(BaseModel):
    version: int
    stage: str = Field(description="preliminary, or revised after an upheld appeal")
    reason: str
    inputs_digest: str = Field(description="SHA-256 of the inputs: same digest, same results")
    computed_at: datetime
    computed_by: str
    departments: int


def result_of(row: Any) -> Result:
    details = row.details
    return Result(
        cycle_id=row.cycle_id,
        version=row.version,
        department_id=row.department_id,
        total=row.total,
        rank=row.rank,
        tied=row.tied,
        grade=row.grade,
        band_grade=details.get("band_grade", row.grade),
        grade_explanation=details.get("grade_explanation", ""),
        vetoed=row.vetoed,
        veto_explanation=details.get("veto_explanation"),
        group_scores=details.get("group_scores", []),
        weakest_indicators=details.get("weakest_indicators", []),
        weakest_dimensions=details.get("weakest_dimensions", []),
        below_min_sample=details.get("below_min_sample", []),
        computed_at=row.computed_at,
    )

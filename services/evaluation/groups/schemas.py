"""Evaluator groups on the wire: who rates, with what weight, on which dimensions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.evaluation.schemas import CODE_PATTERN

GroupKind = Literal["objective", "leadership", "self", "citizen", "expert", "deputy", "enterprise"]
# The kinds whose named evaluators fill scorecards.
SCORECARD_KINDS = ("leadership", "self", "expert", "deputy", "enterprise")
MAX_DIMENSIONS = 50
MAX_DEPARTMENTS = 1000


class ScorecardDimension(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, pattern=CODE_PATTERN, examples=["efficiency"])
    name_zh: str = Field(min_length=1, max_length=200, examples=["工作效率"])
    name_en: str | None = Field(default=None, max_length=200, examples=["Efficiency"])
    max_score: float = Field(default=100, ge=1, le=1000, allow_inf_nan=False)
    weight: float | None = Field(
        default=None,
        ge=0,
        le=100,
        allow_inf_nan=False,
        description="The dimension's weight within the group; null: all dimensions alike",
    )


def shape_problems(
    kind: str,
    dimensions: list[ScorecardDimension],
    questionnaire_id: uuid.UUID | None,
    department_ids: list[uuid.UUID] | None,
) -> list[str]:
    """What the group's kind requires: dimensions for scorecard kinds, a questionnaire for
    the citizen group, neither for the objective group."""
    problems = []
    if kind in SCORECARD_KINDS:
        if not dimensions:
            problems.append(f"a {kind} group scores 1 to {MAX_DIMENSIONS} dimensions; give them")
        codes = [d.code for d in dimensions]
        if len(set(codes)) != len(codes):
            problems.append("dimension codes must be unique")
    elif dimensions:
        problems.append(f"a {kind} group has no scorecard dimensions")
    if kind == "citizen" and questionnaire_id is None:
        problems.append("the citizen group needs the questionnaire_id it answers")
    if kind != "citizen" and questionnaire_id is not None:
        problems.append("only the citizen group answers a questionnaire")
    if department_ids is not None:
        if not department_ids:
            problems.append("department_ids names at least one department (null: all of them)")
        if len(set(department_ids)) != len(department_ids):
            problems.append("department_ids must be unique")
    return problems


class GroupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: GroupKind
    code: str = Field(min_length=1, max_length=64, pattern=CODE_PATTERN, examples=["experts"])
    name: str = Field(min_length=1, max_length=200, examples=["第三方专家评价"])
    weight: float = Field(ge=0, le=100, allow_inf_nan=False, examples=[10])
    min_sample: int = Field(
        default=1, ge=1, le=1_000_000, description="Fewer answers than this are flagged"
    )
    department_ids: list[uuid.UUID] | None = Field(
        default=None,
        max_length=MAX_DEPARTMENTS,
        description="The departments this group rates; null: every department of the cycle",
    )
    dimensions: list[ScorecardDimension] = Field(
        default_factory=list, max_length=MAX_DIMENSIONS, description="Scorecard kinds only"
    )
    questionnaire_id: uuid.UUID | None = Field(default=None, description="The citizen group only")

    @model_validator(mode="after")
    def _fits_kind(self) -> GroupCreate:
        problems = shape_problems(
            self.kind, self.dimensions, self.questionnaire_id, self.department_ids
        )
        if problems:
            raise ValueError("; ".join(problems))
        return self


class GroupUpdate(BaseModel):
    """All optional (the kind is fixed); the group is checked as a whole after the change."""

    model_config = ConfigDict(extra="forbid")

    code: str | None = Field(default=None, min_length=1, max_length=64, pattern=CODE_PATTERN)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    weight: float | None = Field(default=None, ge=0, le=100, allow_inf_nan=False)
    min_sample: int | None = Field(default=None, ge=1, le=1_000_000)
    department_ids: list[uuid.UUID] | None = Field(default=None, max_length=MAX_DEPARTMENTS)
    dimensions: list[ScorecardDimension] | None = Field(default=None, max_length=MAX_DIMENSIONS)
    questionnaire_id: uuid.UUID | None = None


class EvaluatorGroup(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    cycle_id: uuid.UUID
    jurisdiction_code: str
    kind: GroupKind
    code: str
    name: str
    weight: float
    min_sample: int
    department_ids: list[uuid.UUID] | None
    dimensions: list[ScorecardDimension]
    questionnaire_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class GroupList(BaseModel):
    items: list[EvaluatorGroup]
    weight_sum: float = Field(description="The groups' weights together")
    weights_add_up: bool = Field(description="Whether they sum to 100, as opening requires")

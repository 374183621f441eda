"""Assignments of named evaluators and the scorecards they fill, on the wire."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from services.evaluation.groups.schemas import MAX_DIMENSIONS

MAX_BATCH = 500
MAX_COMMENT = 2000


class AssignmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group_id: uuid.UUID = Field(description="A scorecard group of the cycle")
    evaluator_subject: str = Field(
        min_length=1, max_length=200, description="The evaluator's token subject (`sub`)"
    )
    evaluator_name: str = Field(min_length=1, max_length=200, examples=["张明（特邀专家）"])
    evaluator_department_id: uuid.UUID | None = Field(
        default=None, description="The evaluator's own department, if any"
    )
    department_id: uuid.UUID = Field(description="The department to rate")


class AssignmentBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignments: list[AssignmentCreate] = Field(min_length=1, max_length=MAX_BATCH)


class Assignment(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    jurisdiction_code: str
    cycle_id: uuid.UUID
    group_id: uuid.UUID
    evaluator_subject: str
    evaluator_name: str
    evaluator_department_id: uuid.UUID | None
    department_id: uuid.UUID
    created_at: datetime
    updated_at: datetime


class AssignmentList(BaseModel):
    items: list[Assignment]


class MyAssignment(Assignment):
    scorecard_submitted: bool


Points = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class ScorecardSubmit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scores: dict[Annotated[str, Field(min_length=1, max_length=64)], Points | None] = Field(
        max_length=MAX_DIMENSIONS,
        description="Every dimension of the group: 0..its max_score, or null for "
        "'don't know' (left out of the score, not counted as low)",
        examples=[{"efficiency": 88, "integrity": None}],
    )
    comment: str | None = Field(
        default=None,
        max_length=MAX_COMMENT,
        description="Stored without phone numbers, ID-card numbers and e-mail addresses",
    )


class Scorecard(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    jurisdiction_code: str
    assignment_id: uuid.UUID
    cycle_id: uuid.UUID
    group_id: uuid.UUID
    department_id: uuid.UUID
    scores: dict[str, float | None]
    comment: str | None
    submitted_by: str
    created_at: datetime
    updated_at: datetime


class GroupProgress(BaseModel):
    group_id: uuid.UUID
    code: str
    kind: str
    name: str
    assigned: int
    submitted: int


class Progress(BaseModel):
    cycle_id: uuid.UUID
    assigned: int
    submitted: int
    groups: list[GroupProgress]

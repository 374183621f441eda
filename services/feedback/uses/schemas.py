from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.common.jurisdictions import DIVISION_CODE_PATTERN

ResultsUseKind = Literal[
    "commendation",
    "budget_adjustment",
    "accountability_interview",
    "training",
    "personnel_decision",
]


class ResultsUseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jurisdiction_code: str = Field(pattern=DIVISION_CODE_PATTERN, examples=["231100"])
    cycle_id: uuid.UUID
    department_id: uuid.UUID
    result_version: int | None = Field(
        default=None, ge=1, description="The result version it rests on; the latest if unset"
    )
    kind: ResultsUseKind
    decided_on: date
    description: str = Field(min_length=1, max_length=4000, examples=["年度考评优秀，通报表扬"])
    reference: str | None = Field(default=None, max_length=300, examples=["黑政办〔2026〕12号"])


class ResultsUseUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ResultsUseKind | None = None
    decided_on: date | None = None
    description: str | None = Field(default=None, min_length=1, max_length=4000)
    reference: str | None = Field(default=None, max_length=300)


class ResultsUse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    jurisdiction_code: str
    cycle_id: uuid.UUID
    result_version: int
    department_id: uuid.UUID
    department_code: str
    kind: str
    decided_on: date
    description: str
    reference: str | None
    recorded_by: str
    created_at: datetime
    updated_at: datetime


class ResultsUseSummary(BaseModel):
    """How far one cycle's results were used: the share of its departments with a use."""

    cycle_id: uuid.UUID
    jurisdiction_code: str
    departments: int = Field(description="Departments with a result in the cycle")
    departments_with_use: int
    share_with_use: float | None
    by_kind: dict[str, int] = Field(description="Uses recorded, per kind")
    without_use: list[str] = Field(description="Codes of the departments with no use yet")

"""Evaluation cycles on the wire."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.common.jurisdictions import DIVISION_CODE_PATTERN
from services.evaluation.schemas import CATEGORY_PATTERN, CODE_PATTERN, PERIOD_PATTERN, CycleRules

CycleStatus = Literal["draft", "open", "scoring", "preliminary", "finalized", "revised"]


class CycleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jurisdiction_code: str = Field(pattern=DIVISION_CODE_PATTERN, examples=["231100"])
    code: str = Field(min_length=1, max_length=64, pattern=CODE_PATTERN, examples=["2026-annual"])
    name: str = Field(min_length=1, max_length=200, examples=["2026年度综合考评"])
    period: str = Field(pattern=PERIOD_PATTERN, examples=["2026"])
    category: str = Field(
        min_length=1, max_length=64, pattern=CATEGORY_PATTERN, examples=["economic"]
    )
    system_id: uuid.UUID | None = Field(
        default=None,
        description="The published indicator-system version to score by; when null, opening "
        "binds the latest one of the cycle's jurisdiction, year and category",
    )
    appeal_days: int = Field(default=7, ge=0, le=60, description="Appeal window after results")
    rules: CycleRules = Field(default_factory=CycleRules)


class CycleUpdate(BaseModel):
    """All optional; only `name` may change once the cycle is no longer a draft."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    period: str | None = Field(default=None, pattern=PERIOD_PATTERN)
    category: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=CATEGORY_PATTERN
    )
    system_id: uuid.UUID | None = None
    appeal_days: int | None = Field(default=None, ge=0, le=60)
    rules: CycleRules | None = None


class Cycle(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    jurisdiction_code: str
    code: str
    name: str
    period: str
    category: str
    status: CycleStatus
    system_id: uuid.UUID | None
    appeal_days: int
    rules: CycleRules
    appeal_window_ends_at: datetime | None
    result_version: int
    opened_at: datetime | None
    closed_at: datetime | None
    preliminary_at: datetime | None
    finalized_at: datetime | None
    revised_at: datetime | None
    created_at: datetime
    updated_at: datetime


class CycleDepartment(BaseModel):
    """A department the cycle evaluates, as the indicator service listed it at opening."""

    model_config = ConfigDict(from_attributes=True)

    department_id: uuid.UUID
    code: str
    name_zh: str
    name_en: str | None

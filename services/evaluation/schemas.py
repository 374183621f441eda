from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.common.jurisdictions import DIVISION_CODE_PATTERN

# DHIS2-style periods: a year, a quarter or a month (2026, 2026Q1, 202603).
PERIOD_PATTERN = r"^\d{4}(Q[1-4]|0[1-9]|1[0-2])?$"
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]*$"


class CycleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jurisdiction_code: str = Field(pattern=DIVISION_CODE_PATTERN, examples=["231100"])
    code: str = Field(min_length=1, max_length=64, pattern=CODE_PATTERN, examples=["2026-annual"])
    name: str = Field(min_length=1, max_length=200, examples=["2026年度综合考评"])
    period: str = Field(pattern=PERIOD_PATTERN, examples=["2026"])


class CycleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    period: str | None = Field(default=None, pattern=PERIOD_PATTERN)
    status: Literal["draft", "open", "closed"] | None = Field(
        default=None, description="draft → open → closed; a closed cycle stays closed"
    )


class Cycle(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    jurisdiction_code: str
    code: str
    name: str
    period: str
    status: str
    opened_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime

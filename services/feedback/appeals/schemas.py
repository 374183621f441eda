from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Decision = Literal["upheld", "partly_upheld", "dismissed"]
AppealStatus = Literal["filed", "upheld", "partly_upheld", "dismissed"]


class EvidenceItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://\S+$")
    description: str = Field(min_length=1, max_length=2000)


class AppealCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cycle_id: uuid.UUID
    target_kind: Literal["indicator", "group"]
    target: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$", examples=["S1"])
    reason: str = Field(min_length=1, max_length=4000, examples=["第三季度数据漏报，已补充核实"])
    evidence: list[EvidenceItem] = Field(default_factory=list, max_length=20)


class AppealDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Decision
    adjustment_points: float | None = Field(
        default=None,
        ge=-100,
        le=100,
        description="Points added to the contested score; required unless dismissed",
    )
    decision_text: str = Field(min_length=1, max_length=10000)


class Appeal(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    jurisdiction_code: str
    cycle_id: uuid.UUID
    department_id: uuid.UUID
    department_code: str
    result_version: int
    target_kind: str
    target: str
    reason: str
    evidence: list[EvidenceItem]
    status: str
    adjustment_points: float | None
    decision_text: str | None
    filed_by: str
    filed_at: datetime
    decided_by: str | None
    decided_at: datetime | None

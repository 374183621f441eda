from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.common.jurisdictions import DIVISION_CODE_PATTERN

PublicationKind = Literal["plan", "results", "rectification", "notice"]


class PublicationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jurisdiction_code: str = Field(pattern=DIVISION_CODE_PATTERN, examples=["231100"])
    kind: PublicationKind
    title: str = Field(min_length=1, max_length=300, examples=["2026年度绩效考评方案"])
    body: str = Field(default="", max_length=200_000)


class PublicationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: PublicationKind | None = None
    title: str | None = Field(default=None, min_length=1, max_length=300)
    body: str | None = Field(default=None, max_length=200_000)


class Retraction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class Publication(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    jurisdiction_code: str
    kind: str
    title: str
    body: str
    status: str
    version: int
    published_at: datetime | None
    retracted_at: datetime | None
    retraction_reason: str | None
    created_at: datetime
    updated_at: datetime

"""Departments on the wire."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from services.common.jurisdictions import DIVISION_CODE_PATTERN
from services.indicator.schemas import CATEGORY_PATTERN, CODE_PATTERN


class DepartmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jurisdiction_code: str = Field(pattern=DIVISION_CODE_PATTERN, examples=["231100"])
    code: str = Field(min_length=1, max_length=64, pattern=CODE_PATTERN, examples=["HH-EDU"])
    name_zh: str = Field(min_length=1, max_length=200, examples=["黑河市教育局"])
    name_en: str | None = Field(default=None, max_length=200, examples=["Heihe Education Bureau"])
    category: str = Field(
        min_length=1, max_length=64, pattern=CATEGORY_PATTERN, examples=["social_services"]
    )
    parent_id: uuid.UUID | None = None
    active: bool = True


class DepartmentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str | None = Field(default=None, min_length=1, max_length=64, pattern=CODE_PATTERN)
    name_zh: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    category: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=CATEGORY_PATTERN
    )
    parent_id: uuid.UUID | None = None
    active: bool | None = None


class Department(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    jurisdiction_code: str
    code: str
    name_zh: str
    name_en: str | None
    category: str
    parent_id: uuid.UUID | None
    active: bool
    created_at: datetime
    updated_at: datetime

"""Citizen questionnaires on the wire: Likert items grouped by dimension, versioned."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.common.jurisdictions import DIVISION_CODE_PATTERN
from services.evaluation.schemas import CODE_PATTERN

Status = Literal["draft", "published", "closed"]
MAX_SCALE_POINTS = 11  # 0..10 is the widest scale in common use


class QuestionnaireDimension(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, pattern=CODE_PATTERN, examples=["service"])
    name_zh: str = Field(min_length=1, max_length=200, examples=["服务态度"])
    name_en: str | None = Field(default=None, max_length=200, examples=["Service attitude"])


class QuestionnaireItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, pattern=CODE_PATTERN, examples=["Q1"])
    dimension: str = Field(min_length=1, max_length=64, examples=["service"])
    text_zh: str = Field(
        min_length=1, max_length=500, examples=["您对窗口工作人员的服务态度是否满意？"]
    )
    text_en: str | None = Field(default=None, max_length=500)


class QuestionnaireContent(BaseModel):
    """What a version asks: checked as a whole, on create and after every change."""

    model_config = ConfigDict(extra="forbid")

    title_zh: str = Field(min_length=1, max_length=200, examples=["2026年度群众满意度调查"])
    title_en: str | None = Field(default=None, max_length=200)
    scale_min: int = Field(default=1, ge=-10, le=10, description="Lowest Likert answer")
    scale_max: int = Field(default=5, ge=-10, le=10, description="Highest Likert answer")
    top_box: int = Field(
        default=3,
        ge=1,
        le=MAX_SCALE_POINTS,
        description="How many of the highest answers count as satisfied",
    )
    allow_dont_know: bool = Field(default=True, description="Offer a 'don't know' answer")
    free_text_max: int = Field(
        default=500, ge=0, le=2000, description="Characters of free text (0: none)"
    )
    dimensions: list[QuestionnaireDimension] = Field(min_length=1, max_length=20)
    items: list[QuestionnaireItem] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _consistent(self) -> QuestionnaireContent:
        if self.scale_max <= self.scale_min:
            raise ValueError("scale_max must be above scale_min")
        points = self.scale_max - self.scale_min + 1
        if points > MAX_SCALE_POINTS:
            raise ValueError(f"a scale has at most {MAX_SCALE_POINTS} points, not {points}")
        if self.top_box > points:
            raise ValueError(f"top_box ({self.top_box}) exceeds the scale's {points} points")
        dimensions = [d.code for d in self.dimensions]
        if len(set(dimensions)) != len(dimensions):
            raise ValueError("dimension codes must be unique")
        items = [i.code for i in self.items]
        if len(set(items)) != len(items):
            raise ValueError("item codes must be unique")
        undeclared = sorted({i.dimension for i in self.items} - set(dimensions))
        if undeclared:
            raise ValueError(f"items name undeclared dimensions: {', '.join(undeclared)}")
        empty = [d for d in dimensions if d not in {i.dimension for i in self.items}]
        if empty:
            raise ValueError(f"dimensions without items: {', '.join(empty)}")
        return self


class QuestionnaireCreate(QuestionnaireContent):
    """Version 1 of a new code, or the next draft version of an existing one."""

    jurisdiction_code: str = Field(pattern=DIVISION_CODE_PATTERN, examples=["231100"])
    code: str = Field(
        min_length=1, max_length=64, pattern=CODE_PATTERN, examples=["citizen-satisfaction"]
    )


class QuestionnaireUpdate(BaseModel):
    """All optional; the version is checked as a whole after the change."""

    model_config = ConfigDict(extra="forbid")

    title_zh: str | None = Field(default=None, min_length=1, max_length=200)
    title_en: str | None = Field(default=None, max_length=200)
    scale_min: int | None = Field(default=None, ge=-10, le=10)
    scale_max: int | None = Field(default=None, ge=-10, le=10)
    top_box: int | None = Field(default=None, ge=1, le=MAX_SCALE_POINTS)
    allow_dont_know: bool | None = None
    free_text_max: int | None = Field(default=None, ge=0, le=2000)
    dimensions: list[QuestionnaireDimension] | None = Field(
        default=None, min_length=1, max_length=20
    )
    items: list[QuestionnaireItem] | None = Field(default=None, min_length=1, max_length=100)


class Questionnaire(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    jurisdiction_code: str
    code: str
    version: int
    status: Status
    title_zh: str
    title_en: str | None
    scale_min: int
    scale_max: int
    top_box: int
    allow_dont_know: bool
    free_text_max: int
    dimensions: list[QuestionnaireDimension]
    items: list[QuestionnaireItem]
    published_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.common.jurisdictions import DIVISION_CODE_PATTERN

FeedbackKind = Literal["comment", "suggestion", "complaint", "praise"]


class CitizenFeedbackCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jurisdiction_code: str = Field(pattern=DIVISION_CODE_PATTERN, examples=["231100"])
    kind: FeedbackKind = "comment"
    publication_id: uuid.UUID | None = Field(
        default=None, description="A published plan or result this feedback is about"
    )
    department_code: str | None = Field(default=None, max_length=64, examples=["HH-EDU"])
    text: str = Field(min_length=1, max_length=2000, examples=["办事窗口排队时间太长"])


class CitizenFeedbackAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: str = Field(min_length=1, max_length=4000)


class CitizenFeedback(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    jurisdiction_code: str
    kind: str
    publication_id: uuid.UUID | None
    department_code: str | None
    text: str
    status: str
    answer: str | None
    answered_at: datetime | None
    created_at: datetime
    updated_at: datetime

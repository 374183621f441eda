from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.common.jurisdictions import DIVISION_CODE_PATTERN

FeedbackKind = Literal["comment", "suggestion", "complaint", "praise"]
FeedbackStatus = Literal["received", "answered", "resolved", "reopened"]
FEEDBACK_KINDS: tuple[str, ...] = ("comment", "suggestion", "complaint", "praise")
FEEDBACK_STATUSES: tuple[str, ...] = ("received", "answered", "resolved", "reopened")
# The header a citizen sends the token in.
TOKEN_HEADER = "X-Feedback-Token"


class CitizenFeedbackCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jurisdiction_code: str = Field(pattern=DIVISION_CODE_PATTERN, examples=["231100"])
    kind: FeedbackKind = "comment"
    publication_id: uuid.UUID | None = Field(
        default=None, description="A published plan or result this feedback is about"
    )
    department_code: str | None = Field(default=None, max_length=64, examples=["HH-EDU"])
    department_id: uuid.UUID | None = Field(
        default=None, description="The department concerned, when the caller knows its id"
    )
    text: str = Field(min_length=1, max_length=2000, examples=["办事窗口排队时间太长"])


class CitizenFeedbackAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: str = Field(min_length=1, max_length=4000)


class CitizenFeedbackResolution(BaseModel):
    """The citizen's word on the answer: resolved, or not (which reopens the feedback)."""

    model_config = ConfigDict(extra="forbid")

    resolved: bool
    comment: str | None = Field(default=None, max_length=2000)


class CitizenFeedbackTask(BaseModel):
    """A rectification task spawned from feedback; title and deadline have defaults."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=300)
    deadline: date | None = None


class CitizenFeedback(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    jurisdiction_code: str
    kind: str
    publication_id: uuid.UUID | None
    department_code: str | None
    department_id: uuid.UUID | None
    cycle_id: uuid.UUID | None = Field(
        default=None, description="The cycle of the published item it was given on"
    )
    text: str
    status: str
    answer: str | None
    answered_at: datetime | None
    respond_by: datetime | None
    resolution: str | None
    resolution_comment: str | None
    resolution_at: datetime | None
    reopen_count: int
    task_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class CitizenFeedbackReceipt(CitizenFeedback):
    token: str = Field(
        description="Shown once: send it in the X-Feedback-Token header to read the answer "
        "and to say whether the problem was resolved"
    )


class CitizenFeedbackStatus(BaseModel):
    """What the citizen sees with the token: the answer, never who else wrote what."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    department_code: str | None
    text: str
    status: str
    answer: str | None
    answered_at: datetime | None
    respond_by: datetime | None
    resolution: str | None
    resolution_at: datetime | None
    reopen_count: int
    created_at: datetime


class CitizenFeedbackSummary(BaseModel):
    """Counts of one department's feedback in one period: input for the next cycle."""

    jurisdiction_code: str
    department: str
    period: str
    total: int
    by_kind: dict[str, int]
    by_status: dict[str, int]
    answered: int
    answered_on_time: int
    response_rate: float | None = Field(
        description="Answered within the deadline, of those answered or past their deadline"
    )
    judged: int = Field(description="Feedback the citizen said resolved or not resolved")
    resolved: int
    resolution_rate: float | None = Field(description="Resolved, of those judged")
    reopened: int = Field(description="Feedback reopened at least once")

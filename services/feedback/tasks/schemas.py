from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from services.common.jurisdictions import DIVISION_CODE_PATTERN

TaskStatus = Literal["open", "planned", "in_progress", "submitted", "verified", "returned"]
TaskOrigin = Literal["result", "indicator", "dimension", "veto", "feedback", "appeal", "manual"]
TargetStatus = Literal["planned", "in_progress", "submitted", "verified", "returned"]


class TaskCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jurisdiction_code: str = Field(pattern=DIVISION_CODE_PATTERN, examples=["231100"])
    department_id: uuid.UUID
    department_code: str = Field(min_length=1, max_length=64, examples=["HH-EDU"])
    cycle_id: uuid.UUID | None = None
    origin: TaskOrigin = "manual"
    origin_ref: str | None = Field(
        default=None,
        max_length=200,
        description="What the task answers: an indicator or dimension code, a feedback id ...",
    )
    title: str = Field(min_length=1, max_length=300, examples=["缩短办事窗口排队时间"])
    description: str = Field(default="", max_length=10000)
    deadline: date


class TaskUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=10000)
    deadline: date | None = None


class PlanWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan: str = Field(min_length=1, max_length=20000, examples=["增设两个窗口，推行预约办理"])


class ProgressSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    progress: float = Field(ge=0, le=100)
    note: str | None = Field(default=None, max_length=2000)


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to_status: TargetStatus
    reason: str | None = Field(default=None, max_length=4000)


class MilestoneCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300)
    weight: float | None = Field(default=None, gt=0, le=1000)
    progress: float = Field(default=0, ge=0, le=100)
    due_on: date | None = None


class MilestoneUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=300)
    weight: float | None = Field(default=None, gt=0, le=1000)
    progress: float | None = Field(default=None, ge=0, le=100)
    due_on: date | None = None


class EvidenceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://\S+$")
    description: str = Field(min_length=1, max_length=4000)


class Milestone(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    weight: float | None
    progress: float
    due_on: date | None
    position: int


class Evidence(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str | None
    description: str
    added_by: str
    added_at: datetime


class StatusHistoryEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_status: str | None
    to_status: str
    actor: str
    actor_role: str
    reason: str | None
    changed_at: datetime


class Task(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    jurisdiction_code: str
    cycle_id: uuid.UUID | None
    department_id: uuid.UUID
    department_code: str
    origin: str
    origin_ref: str | None
    report_id: uuid.UUID | None
    title: str
    description: str
    deadline: date
    plan: str | None
    status: str
    progress: float
    escalation_level: int
    overdue_since: datetime | None
    reminded_at: datetime | None
    repeat_of: uuid.UUID | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    verified_at: datetime | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def repeat(self) -> bool:
        """The same problem had a task of the department in its previous cycle."""
        return self.repeat_of is not None


class TaskDetail(Task):
    milestones: list[Milestone]
    evidence: list[Evidence]
    history: list[StatusHistoryEntry]

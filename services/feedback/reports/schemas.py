from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from services.feedback.tasks.schemas import Task


class Report(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    jurisdiction_code: str
    cycle_id: uuid.UUID
    department_id: uuid.UUID
    department_code: str
    result_version: int
    total: float
    grade: str | None
    rank: int | None
    vetoed: bool
    weakest_indicators: list[dict[str, Any]]
    weakest_dimensions: list[dict[str, Any]]
    themes: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class ReportDetail(Report):
    tasks: list[Task]

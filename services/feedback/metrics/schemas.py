from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class DepartmentMetrics(BaseModel):
    """One department's numbers in one cycle; a rate is null when it has nothing to count."""

    department_id: uuid.UUID
    department_code: str
    tasks: int = Field(description="Rectification tasks of the cycle")
    verified: int
    closure_rate: float | None = Field(description="Verified, of all tasks")
    on_time: int = Field(description="Verified on or before the deadline")
    on_time_rate: float | None = Field(description="On time, of the verified")
    submitted: int = Field(description="Tasks ever submitted for verification")
    returned: int = Field(description="Tasks the office returned at least once")
    reopen_rate: float | None = Field(description="Returned, of those ever submitted")
    mean_days_to_close: float | None = Field(description="Creation to verification, in days")
    feedback: int = Field(description="Citizen feedback received in the cycle's period")
    feedback_due: int = Field(description="Feedback answered or past its response deadline")
    feedback_answered_on_time: int
    feedback_response_rate: float | None = Field(
        description="Answered within the deadline, of the feedback due"
    )


class CycleMetrics(BaseModel):
    cycle_id: uuid.UUID
    jurisdiction_code: str
    period: str
    computed_at: datetime
    departments: list[DepartmentMetrics]

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, computed_field


class PublishedVersion(BaseModel):
    """A published version as the public reads it (content withdrawn once retracted)."""

    id: uuid.UUID
    publication_id: uuid.UUID
    jurisdiction_code: str
    version: int
    supersedes: int | None
    kind: str
    title: str
    title_en: str | None
    summary: str | None
    summary_en: str | None
    body: str | None
    data: dict[str, Any] | None
    attachments: list[dict[str, Any]]
    cycle_id: uuid.UUID | None
    department_id: uuid.UUID | None
    department_code: str | None
    period: str | None
    category: str | None
    published_at: datetime
    retracted_at: datetime | None
    retraction_reason: str | None
    ledger_seq: int | None
    status: Literal["published", "retracted"]
    withdrawn: bool


class PublishedSummary(BaseModel):
    """A publication in a search: its latest version without the content (`data`, `body`,
    attachments: `GET /v1/publications/{id}` has them); the summary is withdrawn once
    retracted."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    publication_id: uuid.UUID
    jurisdiction_code: str
    version: int
    supersedes: int | None
    kind: str
    title: str
    title_en: str | None
    summary: str | None
    summary_en: str | None
    cycle_id: uuid.UUID | None
    department_id: uuid.UUID | None
    department_code: str | None
    period: str | None
    category: str | None
    published_at: datetime
    retracted_at: datetime | None
    retraction_reason: str | None
    ledger_seq: int | None

    @computed_field
    def withdrawn(self) -> bool:
        return self.retracted_at is not None

    @computed_field
    def status(self) -> Literal["published", "retracted"]:
        return "retracted" if self.retracted_at is not None else "published"


class DepartmentResult(BaseModel):
    """One cycle's published result of a department."""

    publication_id: uuid.UUID
    version: int
    cycle_id: uuid.UUID | None
    cycle: str | None
    cycle_name: str | None
    period: str | None
    category: str | None
    result_version: int | None
    status: str | None
    total: float | None
    rank: int | None
    tied: bool | None
    grade: str | None
    vetoed: bool | None
    published_at: datetime
    retracted_at: datetime | None
    retraction_reason: str | None
    withdrawn: bool


class ComparedIndicator(BaseModel):
    code: str
    name: str | None
    weight: float | None


class ComparisonRow(BaseModel):
    """One department's published value and points for the indicator, ranked among all."""

    rank: int
    jurisdiction_code: str
    cycle_id: uuid.UUID
    cycle: str | None
    period: str | None
    category: str | None
    department_id: uuid.UUID | None
    department: str | None
    name_zh: str | None
    indicator_name: str | None
    weight: float | None
    value: float | None
    achievement: float | None
    points: float | None
    publication_id: uuid.UUID
    publication_version: int


class JurisdictionComparison(BaseModel):
    """A jurisdiction's departments averaged, ranked among the jurisdictions by points."""

    rank: int
    jurisdiction_code: str
    departments: int
    mean_value: float | None
    mean_points: float | None
    best_points: float | None


class Comparison(BaseModel):
    indicator: str
    indicator_name: str | None
    period: str | None
    category: str | None
    jurisdictions: list[JurisdictionComparison]
    rows: list[ComparisonRow]


TransparencyItemKind = Literal["plan", "preliminary_results", "final_results", "rectification"]
TransparencyState = Literal["on_time", "late", "overdue", "not_due"]


class TransparencyItem(BaseModel):
    """One thing that must be disclosed, when it fell due and when (if) it was."""

    item: TransparencyItemKind
    department_id: uuid.UUID | None = None
    department: str | None = None
    department_name: str | None = None
    due_at: datetime | None
    published_at: datetime | None
    publication_id: uuid.UUID | None
    state: TransparencyState
    days_late: int


class CycleTransparency(BaseModel):
    cycle_id: uuid.UUID
    jurisdiction_code: str
    cycle: str
    name: str
    period: str | None
    category: str | None
    due: int
    disclosed: int
    on_time: int
    late: int
    overdue: int
    days_late: int
    # Share of the items due that were disclosed on time (1.0 when nothing is due yet).
    index: float
    items: list[TransparencyItem]

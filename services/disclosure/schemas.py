from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.common.jurisdictions import DIVISION_CODE_PATTERN

PublicationKind = Literal[
    "plan", "results", "department_result", "rectification", "annual_report", "notice"
]
PublicationStatus = Literal["draft", "approved", "scheduled", "published", "retracted"]
LedgerAction = Literal["published", "retracted"]

_TEXT = 200_000


class Attachment(BaseModel):
    """A document the publication links to (the service stores the link, not the file)."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300)
    url: str = Field(pattern=r"^https?://[^\s]+$", max_length=2000)
    media_type: str = Field(
        default="application/octet-stream",
        pattern=r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+$",
        max_length=200,
    )


class PublicationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jurisdiction_code: str = Field(pattern=DIVISION_CODE_PATTERN, examples=["231100"])
    kind: PublicationKind
    title: str = Field(min_length=1, max_length=300, examples=["2026年度绩效考评方案"])
    title_en: str | None = Field(default=None, max_length=300)
    summary: str | None = Field(default=None, max_length=20_000)
    summary_en: str | None = Field(default=None, max_length=20_000)
    body: str = Field(default="", max_length=_TEXT)
    data: dict[str, Any] | None = None
    attachments: list[Attachment] = Field(default_factory=list, max_length=50)
    cycle_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None
    department_code: str | None = Field(default=None, max_length=64)
    period: str | None = Field(default=None, pattern=r"^[0-9]{4}([QWS]?[0-9]{1,2})?$")
    category: str | None = Field(default=None, max_length=64)


class PublicationUpdate(BaseModel):
    """Changes to the working copy; of a published publication, the draft of its next version."""

    model_config = ConfigDict(extra="forbid")

    kind: PublicationKind | None = None
    title: str | None = Field(default=None, min_length=1, max_length=300)
    title_en: str | None = Field(default=None, max_length=300)
    summary: str | None = Field(default=None, max_length=20_000)
    summary_en: str | None = Field(default=None, max_length=20_000)
    body: str | None = Field(default=None, max_length=_TEXT)
    data: dict[str, Any] | None = None
    attachments: list[Attachment] | None = Field(default=None, max_length=50)
    cycle_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None
    department_code: str | None = Field(default=None, max_length=64)
    period: str | None = Field(default=None, pattern=r"^[0-9]{4}([QWS]?[0-9]{1,2})?$")
    category: str | None = Field(default=None, max_length=64)


class Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    publish_at: AwareDatetime = Field(examples=["2026-12-31T00:00:00Z"])


class Retraction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class Publication(BaseModel):
    """A publication as its reader may see it: the office sees the working copy of its own
    jurisdiction; everyone else sees the latest published version (withdrawn if retracted)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    jurisdiction_code: str
    kind: str
    status: str
    title: str
    title_en: str | None
    summary: str | None
    summary_en: str | None
    body: str
    data: dict[str, Any] | None
    attachments: list[dict[str, Any]]
    cycle_id: uuid.UUID | None
    department_id: uuid.UUID | None
    department_code: str | None
    period: str | None
    category: str | None
    subject_key: str | None
    version: int
    editor: str | None
    approved_by: str | None
    approved_at: datetime | None
    scheduled_at: datetime | None
    published_at: datetime | None
    retracted_at: datetime | None
    retraction_reason: str | None
    created_at: datetime
    updated_at: datetime


class PublicationVersion(BaseModel):
    """One published version as frozen; a retracted one keeps its record, not its content."""

    model_config = ConfigDict(from_attributes=True)

    publication_id: uuid.UUID
    jurisdiction_code: str
    version: int
    status: Literal["published", "retracted"]
    kind: str
    title: str
    title_en: str | None
    summary: str | None
    summary_en: str | None
    body: str
    data: dict[str, Any] | None
    attachments: list[dict[str, Any]]
    cycle_id: uuid.UUID | None
    department_id: uuid.UUID | None
    department_code: str | None
    period: str | None
    category: str | None
    supersedes: int | None
    published_at: datetime
    retracted_at: datetime | None
    retraction_reason: str | None
    ledger_seq: int | None


class LedgerEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    publication_id: uuid.UUID
    jurisdiction_code: str
    version: int
    action: LedgerAction
    recorded_at: datetime
    content: str
    previous_hash: str
    hash: str


class LedgerVerification(BaseModel):
    valid: bool
    entries: int
    first_invalid_seq: int | None = None
    reason: str | None = None


class DisclosureCycle(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    cycle_id: uuid.UUID
    jurisdiction_code: str
    code: str
    name: str
    period: str | None
    category: str | None
    system_id: uuid.UUID | None
    opened_at: datetime | None
    preliminary_at: datetime | None
    finalized_at: datetime | None
    revised_at: datetime | None
    departments: list[dict[str, Any]]
    updated_at: datetime

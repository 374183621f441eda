from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import PortableJSON, UTCDateTime, metadata, utcnow
from services.common.models import (
    IdMixin,
    JurisdictionMixin,
    TimestampMixin,
    common_tables,
)


class Base(DeclarativeBase):
    metadata = metadata()


COMMON = common_tables(Base)
AuditLog = COMMON.audit
IdempotencyKey = COMMON.idempotency

KINDS = ("plan", "results", "department_result", "rectification", "annual_report", "notice")
STATUSES = ("draft", "approved", "scheduled", "published", "retracted")
LEDGER_ACTIONS = ("published", "retracted")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Publication(IdMixin, JurisdictionMixin, TimestampMixin, Base):
    """Something the performance office makes public: a plan, results, a progress report.

    The row is the working copy and its workflow state; what the public reads is the latest
    frozen `PublicationVersion` (`version` is its number, 0 before the first publication).
    """

    __tablename__ = "publications"
    __table_args__ = (
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint(_in("kind", KINDS), name="kind"),
        UniqueConstraint("jurisdiction_code", "subject_key"),
        # The scheduler's round: due scheduled publications.
        Index("ix_publications_status_scheduled_at", "status", "scheduled_at"),
    )

    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft", index=True)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    title_en: Mapped[str | None] = mapped_column(String(300), nullable=True)
    summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    summary_en: Mapped[str | None] = mapped_column(Text, nullable=True)
    body: Mapped[str] = mapped_column(Text, nullable=False, default="")
    data: Mapped[dict[str, Any] | None] = mapped_column(PortableJSON, nullable=True)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(
        PortableJSON, nullable=False, default=list
    )
    cycle_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    department_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    department_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    period: Mapped[str | None] = mapped_column(String(16), nullable=True)
    category: Mapped[str | None] = mapped_column(String(64), nullable=True)
    subject_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    editor: Mapped[str] = mapped_column(String(200), nullable=False, default="system")
    approved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    retracted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    retraction_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class PublicationVersion(IdMixin, JurisdictionMixin, Base):
    """One published version, frozen: what public readers, exports and the ledger see."""

    __tablename__ = "publication_versions"
    __table_args__ = (UniqueConstraint("publication_id", "version"),)

    publication_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("publications.id"), nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    title_en: Mapped[str | None] = mapped_column(String(300), nullable=True)
    summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    summary_en: Mapped[str | None] = mapped_column(Text, nullable=True)
    body: Mapped[str] = mapped_column(Text, nullable=False, default="")
    data: Mapped[dict[str, Any] | None] = mapped_column(PortableJSON, nullable=True)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(
        PortableJSON, nullable=False, default=list
    )
    cycle_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    department_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    department_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    period: Mapped[str | None] = mapped_column(String(16), nullable=True)
    category: Mapped[str | None] = mapped_column(String(64), nullable=True)
    supersedes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    retracted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    retraction_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    ledger_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)


class LedgerEntry(Base):
    """One link of the deployment's hash chain: a version published or retracted."""

    __tablename__ = "ledger_entries"
    __table_args__ = (CheckConstraint(_in("action", LEDGER_ACTIONS), name="action"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    publication_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, index=True)
    jurisdiction_code: Mapped[str] = mapped_column(String(12), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    previous_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)


class DisclosureCycle(Base):
    """What disclosure knows of an evaluation cycle, from `cycle.opened` and `results.*`."""

    __tablename__ = "disclosure_cycles"

    cycle_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    jurisdiction_code: Mapped[str] = mapped_column(String(12), nullable=False, index=True)
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    period: Mapped[str | None] = mapped_column(String(16), nullable=True)
    category: Mapped[str | None] = mapped_column(String(64), nullable=True)
    system_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    preliminary_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revised_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    departments: Mapped[list[dict[str, Any]]] = mapped_column(
        PortableJSON, nullable=False, default=list
    )
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
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


class Department(IdMixin, JurisdictionMixin, TimestampMixin, Base):
    """An organisational unit under evaluation: a bureau, an office, a county government."""

    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("jurisdiction_code", "code"),)

    code: Mapped[str] = mapped_column(String(64), nullable=False)
    name_zh: Mapped[str] = mapped_column(String(200), nullable=False)
    name_en: Mapped[str | None] = mapped_column(String(200), nullable=True)
    category: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("departments.id", ondelete="RESTRICT"), nullable=True
    )
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class IndicatorSystem(IdMixin, JurisdictionMixin, TimestampMixin, Base):
    """The indicator tree of one plan year for one department category, in versions.

    A draft is edited freely; publishing freezes it (a later change is a new version that
    supersedes it when published).
    """

    __tablename__ = "indicator_systems"
    __table_args__ = (UniqueConstraint("jurisdiction_code", "year", "category", "version"),)

    year: Mapped[int] = mapped_column(Integer, nullable=False)
    category: Mapped[str] = mapped_column(String(64), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    published_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class IndicatorNode(IdMixin, Base):
    """A dimension (level 1), indicator (2) or sub-indicator (3) of a system's tree."""

    __tablename__ = "indicator_nodes"
    __table_args__ = (UniqueConstraint("system_id", "code"),)

    system_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("indicator_systems.id", ondelete="CASCADE"), nullable=False, index=True
    )
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("indicator_nodes.id", ondelete="CASCADE"), nullable=True
    )
    level: Mapped[int] = mapped_column(Integer, nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    name_zh: Mapped[str] = mapped_column(String(200), nullable=False)
    name_en: Mapped[str | None] = mapped_column(String(200), nullable=True)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    unit: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    polarity: Mapped[str] = mapped_column(String(8), nullable=False, default="higher")
    weight: Mapped[float] = mapped_column(Float, nullable=False)
    frequency: Mapped[str | None] = mapped_column(String(16), nullable=True)
    data_source_department_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    target: Mapped[float | None] = mapped_column(Float, nullable=True)
    baseline: Mapped[float | None] = mapped_column(Float, nullable=True)
    rule: Mapped[dict[str, Any] | None] = mapped_column(PortableJSON, nullable=True)
    # A leaf whose value is reported (not a dimension, not computed by a formula).
    reportable: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # Per-department targets overriding `target`: {department id: value}.
    target_overrides: Mapped[dict[str, float]] = mapped_column(PortableJSON, nullable=False)


class Measurement(IdMixin, JurisdictionMixin, Base):
    """One value of one indicator for one department and period (the natural key).

    `change_seq` orders every change (a deletion leaves a tombstone with `deleted_at`), so
    other systems follow the change feed with a cursor; it is assigned under a lock held
    until commit, so a reader never sees a later change before an earlier one.
    """

    __tablename__ = "measurements"
    # The natural key leads with the jurisdiction already; one more index would slow imports.
    jurisdiction_id_index = False
    __table_args__ = (
        UniqueConstraint("jurisdiction_code", "indicator_code", "department_id", "period"),
        Index("ix_measurements_change_seq", "change_seq", unique=True),
        Index("ix_measurements_department_period", "department_id", "period"),
    )

    # Not indexed alone: the natural key's unique index leads with it (one index less to
    # maintain on every imported row).
    jurisdiction_code: Mapped[str] = mapped_column(String(12), nullable=False)
    indicator_code: Mapped[str] = mapped_column(String(64), nullable=False)
    department_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("departments.id", ondelete="RESTRICT"), nullable=False
    )
    period: Mapped[str] = mapped_column(String(8), nullable=False)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    source_system: Mapped[str | None] = mapped_column(String(100), nullable=True)
    evidence_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="submitted")
    status_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    flagged: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    flag_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    change_seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    updated_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


class ImportJob(IdMixin, JurisdictionMixin, TimestampMixin, Base):
    """A large import running in the background: its progress and, at the end, its summary."""

    __tablename__ = "import_jobs"

    status: Mapped[str] = mapped_column(String(16), nullable=False, default="queued")
    format: Mapped[str] = mapped_column(String(16), nullable=False)
    options: Mapped[dict[str, Any]] = mapped_column(PortableJSON, nullable=False)
    rows_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rows_done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    summary: Mapped[dict[str, Any] | None] = mapped_column(PortableJSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

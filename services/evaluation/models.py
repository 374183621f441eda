from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import UTCDateTime, metadata
from services.common.models import (
    IdMixin,
    JurisdictionMixin,
    TimestampMixin,
    common_tables,
)

CYCLE_STATUSES = ("draft", "open", "closed")


class Base(DeclarativeBase):
    metadata = metadata()


COMMON = common_tables(Base)
AuditLog = COMMON.audit
IdempotencyKey = COMMON.idempotency


class Cycle(IdMixin, JurisdictionMixin, TimestampMixin, Base):
    """One evaluation round (a year, a quarter) of one jurisdiction's departments."""

    __tablename__ = "cycles"
    __table_args__ = (
        UniqueConstraint("jurisdiction_code", "code"),
        CheckConstraint("status IN ('draft', 'open', 'closed')", name="status"),
    )

    code: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    period: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft")
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

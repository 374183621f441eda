from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import UTCDateTime, metadata
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


class Publication(IdMixin, JurisdictionMixin, TimestampMixin, Base):
    """Something the performance office makes public: a plan, results, a progress report."""

    __tablename__ = "publications"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published', 'retracted')", name="status"),
        CheckConstraint("kind IN ('plan', 'results', 'rectification', 'notice')", name="kind"),
    )

    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False, default="")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft", index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    retracted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    retraction_reason: Mapped[str | None] = mapped_column(Text, nullable=True)

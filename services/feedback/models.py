from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String, Text
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


class CitizenFeedback(IdMixin, JurisdictionMixin, TimestampMixin, Base):
    """What a member of the public said about a department or a published result.

    No personal data is kept: no name, no contact, no device id.
    """

    __tablename__ = "citizen_feedback"
    __table_args__ = (
        CheckConstraint("status IN ('received', 'answered')", name="status"),
        CheckConstraint("kind IN ('comment', 'suggestion', 'complaint', 'praise')", name="kind"),
    )

    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    department_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="received", index=True)
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

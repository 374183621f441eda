from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, String, Text, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import UTCDateTime, metadata, utcnow
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
    publication_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    department_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="received", index=True)
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PublishedItem(Base):
    """What the disclosure service has published, as its events told us: citizens may
    comment on these. Kept current by `publication.published` / `.retracted`."""

    __tablename__ = "published_items"

    publication_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    jurisdiction_code: Mapped[str] = mapped_column(String(12), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    retracted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow
    )

from __future__ import annotations

import uuid

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import metadata
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

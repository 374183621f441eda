from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Index, String, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import PortableJSON, UTCDateTime, metadata, utcnow
from services.common.models import AuditLogMixin, IdMixin, JurisdictionMixin


class Base(DeclarativeBase):
    metadata = metadata()


class AuditLog(AuditLogMixin, Base):
    __tablename__ = "audit_log"


class ApiClient(IdMixin, JurisdictionMixin, Base):
    """A caller that is a system, not a person: a portal, a mobile app, an internal system.

    It holds the keys it authenticates with; an internal system is bound to one department.
    `active` is false once the client is deleted (its keys are revoked with it).
    """

    __tablename__ = "api_clients"

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    department_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    scopes: Mapped[list[str]] = mapped_column(PortableJSON, nullable=False, default=list)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow
    )


class ApiKey(IdMixin, Base):
    """One key of a client. Only the secret's hash is kept; the plaintext is shown once.

    A key works until `expires_at` (if any) and while `revoked_at` is empty; rotating a key
    sets its `expires_at` to the end of the grace period.
    """

    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_client_id", "client_id"),)

    # No foreign key: clients are never deleted, only deactivated with their keys.
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    key_id: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    replaces_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)

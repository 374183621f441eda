from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import PortableJSON, UTCDateTime, metadata, utcnow
from services.common.models import IdMixin


class Base(DeclarativeBase):
    metadata = metadata()


class ApiClient(IdMixin, Base):
    """A caller that authenticates with an API key (citizen app, internal system, portal).

    Only the key's hash is kept; the plaintext is shown once when it is issued.
    """

    __tablename__ = "api_clients"

    key_id: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    jurisdiction_codes: Mapped[list[str]] = mapped_column(PortableJSON, nullable=False)
    department_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    scopes: Mapped[list[str]] = mapped_column(PortableJSON, nullable=False, default=list)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

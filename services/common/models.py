"""Tables every component has. Each component maps them onto its own declarative base:

class AuditLog(AuditLogMixin, Base): __tablename__ = "audit_log"
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from services.common.db import PortableJSON, UTCDateTime, new_id, utcnow
from services.common.events.models import (
    EventInboxMixin,
    EventOutboxMixin,
    WebhookAttemptMixin,
    WebhookDeliveryMixin,
    WebhookSubscriptionMixin,
)


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


class JurisdictionMixin:
    """Every domain row belongs to one jurisdiction (administrative division code).

    Lists filter by jurisdiction and page in id order, so each such table gets one index on
    (jurisdiction_code, id): it serves both, where a lone jurisdiction index leaves a sort.
    A table whose unique key already leads with the jurisdiction may opt out with
    `jurisdiction_id_index = False`.
    """

    jurisdiction_code: Mapped[str] = mapped_column(String(12), nullable=False)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)  # maps the class: its table exists from here on
        table = getattr(cls, "__table__", None)
        if table is not None and "id" in table.c and getattr(cls, "jurisdiction_id_index", True):
            Index(f"ix_{table.name}_jurisdiction_id", table.c.jurisdiction_code, table.c.id)


class AuditLogMixin:
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    jurisdiction_code: Mapped[str] = mapped_column(String(12), nullable=False)
    action: Mapped[str] = mapped_column(String(100), nullable=False)
    resource_type: Mapped[str] = mapped_column(String(100), nullable=False)
    resource_id: Mapped[str] = mapped_column(String(100), nullable=False)
    before: Mapped[dict[str, Any] | None] = mapped_column(PortableJSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(PortableJSON, nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(128), nullable=True)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (
            Index(f"ix_{cls.__tablename__}_jurisdiction_id", "jurisdiction_code", "id"),
            Index(f"ix_{cls.__tablename__}_resource", "resource_type", "resource_id"),
        )


class IdempotencyKeyMixin:
    """A client's retry key, the request it was first used with, and the stored response."""

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    owner: Mapped[str] = mapped_column(String(200), nullable=False)
    key: Mapped[str] = mapped_column(String(200), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)  # in_flight | completed
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    response_headers: Mapped[dict[str, str] | None] = mapped_column(PortableJSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (
            UniqueConstraint("owner", "key"),
            # Expired keys are purged by age.
            Index(f"ix_{cls.__tablename__}_created_at", "created_at"),
        )


@dataclass(frozen=True)
class CommonTables:
    """One service's mapped classes of the shared tables."""

    audit: Any
    idempotency: Any
    outbox: Any
    subscriptions: Any
    deliveries: Any
    attempts: Any
    inbox: Any


def common_tables(base: type) -> CommonTables:
    """Map the shared tables onto `base` (a service's DeclarativeBase)."""

    def mapped(name: str, mixin: type, table: str) -> Any:
        return type(name, (mixin, base), {"__tablename__": table})

    return CommonTables(
        audit=mapped("AuditLog", AuditLogMixin, "audit_log"),
        idempotency=mapped("IdempotencyKey", IdempotencyKeyMixin, "idempotency_keys"),
        outbox=mapped("EventOutbox", EventOutboxMixin, "event_outbox"),
        subscriptions=mapped(
            "WebhookSubscription", WebhookSubscriptionMixin, "webhook_subscriptions"
        ),
        deliveries=mapped("WebhookDelivery", WebhookDeliveryMixin, "webhook_deliveries"),
        attempts=mapped("WebhookAttempt", WebhookAttemptMixin, "webhook_attempts"),
        inbox=mapped("EventInbox", EventInboxMixin, "event_inbox"),
    )

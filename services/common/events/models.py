"""The event tables every service has: outbox, subscriptions, deliveries, attempts, inbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from services.common.db import PortableJSON, UTCDateTime, new_id, utcnow

# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid); PostgreSQL gets a bigint.
Sequence = BigInteger().with_variant(Integer(), "sqlite")


class EventOutboxMixin:
    """An event, written in the same transaction as the change it announces."""

    seq: Mapped[int] = mapped_column(Sequence, primary_key=True, autoincrement=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, unique=True, default=new_id)
    type: Mapped[str] = mapped_column(String(100), nullable=False)
    aggregate: Mapped[str] = mapped_column(String(200), nullable=False)
    jurisdiction_code: Mapped[str | None] = mapped_column(String(12), nullable=True)
    body: Mapped[str] = mapped_column(Text, nullable=False)  # the exact bytes sent, as text
    request_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


OPEN_DELIVERIES = "status IN ('pending', 'delivering')"


class WebhookSubscriptionMixin:
    """Where events go: a sibling service (from settings) or a third party's endpoint."""

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # sibling | external
    jurisdiction_code: Mapped[str | None] = mapped_column(String(12), nullable=True)
    url: Mapped[str] = mapped_column(String(2000), nullable=False)
    event_types: Mapped[list[str]] = mapped_column(PortableJSON, nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # [{"secret": "whsec_…", "expires_at": iso8601 | null}]; the newest first.
    secrets: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    disabled_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow
    )

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (UniqueConstraint("kind", "name"),)


class WebhookDeliveryMixin:
    """One event on its way to one subscription, through its attempts."""

    seq: Mapped[int] = mapped_column(Sequence, primary_key=True, autoincrement=True)

    @declared_attr
    def event_seq(cls) -> Mapped[int]:
        return mapped_column(
            Sequence, ForeignKey("event_outbox.seq", ondelete="CASCADE"), nullable=False
        )

    @declared_attr
    def subscription_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(
            Uuid, ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), nullable=False
        )

    aggregate: Mapped[str] = mapped_column(String(200), nullable=False)
    # pending | delivering | succeeded | dead | cancelled
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (
            UniqueConstraint("event_seq", "subscription_id"),
            Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
            # Partial indexes over the unfinished deliveries only: the claim walks them in
            # order and checks for an earlier one of the same aggregate, and neither should
            # wade through the (ever-growing) finished ones.
            Index(
                "ix_webhook_deliveries_open",
                "seq",
                postgresql_where=text(OPEN_DELIVERIES),
                sqlite_where=text(OPEN_DELIVERIES),
            ),
            Index(
                "ix_webhook_deliveries_open_order",
                "subscription_id",
                "aggregate",
                "seq",
                postgresql_where=text(OPEN_DELIVERIES),
                sqlite_where=text(OPEN_DELIVERIES),
            ),
        )


class WebhookAttemptMixin:
    """What happened on one try: status, duration, error, the start of the response."""

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)

    @declared_attr
    def delivery_seq(cls) -> Mapped[int]:
        return mapped_column(
            Sequence,
            ForeignKey("webhook_deliveries.seq", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )

    attempt: Mapped[int] = mapped_column(Integer, nullable=False)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)  # succeeded | failed
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    duration_ms: Mapped[float] = mapped_column(nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    response_excerpt: Mapped[str | None] = mapped_column(Text, nullable=True)


class EventInboxMixin:
    """Webhook ids already handled: written with the handler's effect, so it happens once."""

    webhook_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    type: Mapped[str] = mapped_column(String(100), nullable=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

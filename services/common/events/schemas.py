from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.common.jurisdictions import DIVISION_CODE_PATTERN

EVENT_PATTERN = r"^(\*|[a-z_]+(\.[a-z_*]+)*|\*\.[a-z_]+)$"
EventPattern = Annotated[str, Field(pattern=EVENT_PATTERN, max_length=100)]


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jurisdiction_code: str = Field(pattern=DIVISION_CODE_PATTERN, examples=["231100"])
    url: str = Field(min_length=1, max_length=2000, examples=["https://portal.example/hooks"])
    event_types: list[EventPattern] = Field(
        min_length=1,
        max_length=50,
        examples=[["publication.*", "results.finalized"]],
        description="Event types; `*` matches any part (`results.*`, `*.published`, `*`)",
    )
    name: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=2000)


class SubscriptionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, min_length=1, max_length=2000)
    event_types: list[EventPattern] | None = Field(default=None, min_length=1, max_length=50)
    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    status: Literal["active", "disabled"] | None = Field(
        default=None, description="`active` re-enables a disabled subscription"
    )


class Subscription(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    kind: str
    jurisdiction_code: str | None
    url: str
    event_types: list[str]
    description: str
    status: str
    disabled_reason: str | None
    failing_since: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime


class SubscriptionWithSecret(Subscription):
    secret: str = Field(description="Shown once: keep it to verify the signatures")


class SecretRotation(BaseModel):
    secret: str = Field(description="The new secret, shown once")
    previous_valid_until: datetime | None = Field(
        description="Until then, deliveries are signed with the old secret too"
    )


class SubscriptionHealth(BaseModel):
    subscription_id: uuid.UUID
    status: str
    attempts_24h: int
    succeeded_24h: int
    success_rate_24h: float | None
    consecutive_failures: int
    last_error: str | None
    last_attempt_at: datetime | None
    pending: int
    dead: int


class Attempt(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempt: int
    outcome: str
    started_at: datetime
    duration_ms: float
    status_code: int | None
    error: str | None
    response_excerpt: str | None


class Delivery(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    subscription_id: uuid.UUID
    event_type: str
    event_id: uuid.UUID
    aggregate: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    completed_at: datetime | None


class DeliveryDetail(Delivery):
    attempt_log: list[Attempt]


class Replayed(BaseModel):
    replayed: int


class TestPing(BaseModel):
    event_id: uuid.UUID

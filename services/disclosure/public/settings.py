"""Settings of the public surface, read from the disclosure service's environment prefix.

`GOVPERF_DISCLOSURE_PUBLIC_RATE_LIMIT=600/minute`, `GOVPERF_DISCLOSURE_GRACE_DAYS_PLAN=7`, …
An app may carry its own in `app.state.public_settings` (tests do)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fastapi import Request
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

LIMIT_PATTERN = r"^\d+\s*(/|per)\s*\d*\s*(second|minute|hour|day)s?$"


class PublicSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GOVPERF_DISCLOSURE_", extra="ignore")

    # Each caller address, across every public read of this process (or of every replica
    # through Redis); the gateway applies its own limits in front of it.
    public_rate_limit: str = Field(default="6000/minute", pattern=LIMIT_PATTERN)
    public_rate_limit_enabled: bool = True
    rate_limit_storage_url: str | None = None
    # How long a process trusts what it last read of the published state (the newest
    # version, the ledger's head) before reading it again; its own publications count at
    # once. Readers are told `max-age=60` anyway.
    public_state_ttl_seconds: float = Field(default=1.0, ge=0, le=60)
    # Days after the event that makes an item due before its disclosure counts as late:
    # the plan after the cycle opens, results after they are scored or finalized, each
    # department's rectification progress after the results are final.
    grace_days_plan: int = Field(default=7, ge=0, le=365)
    grace_days_preliminary: int = Field(default=3, ge=0, le=365)
    grace_days_final: int = Field(default=3, ge=0, le=365)
    grace_days_rectification: int = Field(default=30, ge=0, le=365)


@lru_cache(maxsize=1)
def _from_environment() -> PublicSettings:
    return PublicSettings()


def settings_of(app: Any) -> PublicSettings:
    found = getattr(app.state, "public_settings", None)
    return found if found is not None else _from_environment()


def public_settings(request: Request) -> PublicSettings:
    return settings_of(request.app)

"""Settings shared by every service and the gateway.

Each component reads `GOVPERF_<COMPONENT>_<FIELD>` first and falls back to `GOVPERF_<FIELD>`,
so a deployment can set the JWT secret once and each database URL per component.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

DEVELOPMENT_JWT_SECRET = "govperf-development-secret-change-me-0123456789"

COMPONENTS = ("indicator", "evaluation", "disclosure", "feedback", "gateway")
SERVICES = COMPONENTS[:4]
DEFAULT_PORTS = {
    "gateway": 8000,
    "indicator": 8001,
    "evaluation": 8002,
    "disclosure": 8003,
    "feedback": 8004,
}


def data_dir() -> Path:
    """Where SQLite files go: `GOVPERF_DATA_DIR`, else `./var` of the working directory."""
    return Path(os.environ.get("GOVPERF_DATA_DIR") or Path.cwd() / "var")


class ComponentSettings(BaseSettings):
    """Base of every component's settings; subclasses set `component` and the env prefix."""

    model_config = SettingsConfigDict(extra="ignore", env_prefix="GOVPERF_")
    component: ClassVar[str] = "component"

    env: Literal["development", "test", "production"] = "development"
    version: str = "0.1.0"
    host: str = "127.0.0.1"
    port: int = 0
    database_url: str = ""
    migrate_on_start: bool = True
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"

    jwt_secret: SecretStr = SecretStr(DEVELOPMENT_JWT_SECRET)
    jwt_jwks_url: str | None = None
    jwt_algorithms: list[str] = ["HS256"]
    jwt_audience: str | None = None
    jwt_issuer: str | None = None

    # Where the components find each other (the gateway's upstreams, webhook targets).
    indicator_url: str = "http://127.0.0.1:8001"
    evaluation_url: str = "http://127.0.0.1:8002"
    disclosure_url: str = "http://127.0.0.1:8003"
    feedback_url: str = "http://127.0.0.1:8004"

    # Webhooks (services/common/events). Sibling secrets are derived from jwt_secret unless
    # given; retry delays follow the Standard Webhooks schedule, in seconds.
    webhook_inbox_secrets: list[SecretStr] = []
    webhook_retry_schedule: list[float] = [0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
    webhook_timeout_seconds: float = 15.0
    webhook_tolerance_seconds: int = 300
    webhook_lease_seconds: float = 60.0
    webhook_poll_seconds: float = 1.0
    webhook_batch_size: int = 200
    webhook_concurrency: int = 16
    # Delivery rounds in flight per dispatcher: it claims again while earlier rounds send.
    webhook_rounds: int = 2
    # First attempts to a sibling service travel up to this many per `events.batch` message.
    webhook_sibling_batch_size: int = 100
    webhook_disable_after_seconds: float = 5 * 24 * 3600
    webhook_secret_grace_seconds: float = 24 * 3600
    webhook_allow_private_targets: bool = False
    webhook_allowed_hosts: list[str] = []
    dispatcher_enabled: bool = True
    # Periodic jobs (scheduled publications, overdue tasks): on, every this many seconds.
    scheduler_enabled: bool = True
    scheduler_interval_seconds: float = 30.0

    def service_urls(self) -> dict[str, str]:
        return {name: getattr(self, f"{name}_url").rstrip("/") for name in SERVICES}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        shared = EnvSettingsSource(settings_cls, env_prefix="GOVPERF_")
        return init_settings, env_settings, shared, dotenv_settings, file_secret_settings

    @model_validator(mode="after")
    def _defaults_and_production_guard(self) -> ComponentSettings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{data_dir() / f'{self.component}.db'}"
        if not self.port:
            self.port = DEFAULT_PORTS.get(self.component, 8000)
        # The secret also seeds the webhook secrets between the services, so production
        # needs a real one even when tokens are verified through a JWKS URL.
        if self.env == "production" and (
            self.jwt_secret.get_secret_value() == DEVELOPMENT_JWT_SECRET
            or len(self.jwt_secret.get_secret_value()) < 32
        ):
            raise ValueError(
                "env=production refuses the development JWT secret: set GOVPERF_JWT_SECRET "
                "to a random string of at least 32 characters"
            )
        return self

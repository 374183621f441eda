from typing import ClassVar

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from services.common.settings import ComponentSettings


class Settings(ComponentSettings):
    model_config = SettingsConfigDict(env_prefix="GOVPERF_FEEDBACK_", extra="ignore")
    component: ClassVar[str] = "feedback"

    # Citizen feedback: the department's response deadline, submissions per network
    # address (`limits` syntax; shared through rate_limit_storage_url with several
    # replicas) and the key citizens' tokens are hashed with (derived from the JWT secret
    # when unset: rotate it and the tokens already handed out stop working).
    citizen_feedback_response_days: int = 15
    citizen_feedback_limit_per_address: str = "30/minute"
    citizen_feedback_token_key: SecretStr | None = None
    rate_limit_storage_url: str | None = None
    # "Not resolved" spawns a rectification task by itself (otherwise the office decides),
    # due this many days later.
    citizen_feedback_reopen_spawns_task: bool = False
    citizen_feedback_task_days: int = 30
    # How often department metrics are recomputed (and announced when they changed).
    metrics_interval_seconds: float = 3600

from typing import ClassVar

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from services.common.settings import ComponentSettings


class Settings(ComponentSettings):
    model_config = SettingsConfigDict(env_prefix="GOVPERF_EVALUATION_", extra="ignore")
    component: ClassVar[str] = "evaluation"

    # Citizen rating intake. Respondent, device and network identifiers are stored only as
    # HMAC-SHA256 under this key (derived from the JWT secret when unset): rotate it and
    # old hashes no longer match, so set it once per deployment.
    respondent_key: SecretStr | None = None
    # Per app client (each item of a batch counts) and per device; `limits` syntax.
    rating_limit_per_client: str = "60000/minute"
    rating_limit_per_device: str = "120/hour"
    # Shared rate-limit counters for several replicas, e.g. async+redis://127.0.0.1:6379.
    rate_limit_storage_url: str | None = None

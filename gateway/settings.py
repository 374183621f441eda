from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import ComponentSettings

LIMIT_PATTERN = r"^\d+\s*(/|per)\s*\d*\s*(second|minute|hour|day)s?$"


class Settings(ComponentSettings):
    model_config = SettingsConfigDict(env_prefix="GOVPERF_GATEWAY_", extra="ignore")
    component: ClassVar[str] = "gateway"

    upstream_timeout_seconds: float = 15.0
    health_timeout_seconds: float = 2.0

    # None: on outside production, off in production.
    graphql_introspection: bool | None = None
    graphql_max_depth: int = 10
    graphql_max_tokens: int = 2000
    graphql_max_aliases: int = 20

    # Requests to /graphql and /api per caller: an API key by its client's kind, a person by
    # the bearer token's subject, anyone else by address. In memory (one replica) unless a
    # storage URL (`async+redis://127.0.0.1:6379`) shares the counters between replicas.
    rate_limit_storage_url: str | None = None
    rate_limit_portal: str = Field(default="600/minute", pattern=LIMIT_PATTERN)
    rate_limit_citizen_app: str = Field(default="6000/minute", pattern=LIMIT_PATTERN)
    rate_limit_integration: str = Field(default="1200/minute", pattern=LIMIT_PATTERN)
    rate_limit_person: str = Field(default="1200/minute", pattern=LIMIT_PATTERN)
    rate_limit_anonymous: str = Field(default="120/minute", pattern=LIMIT_PATTERN)

    @property
    def introspection_allowed(self) -> bool:
        if self.graphql_introspection is None:
            return self.env != "production"
        return self.graphql_introspection

    def rate_limit_for(self, kind: str) -> str:
        """The rule for a kind of caller: an API key's role, `person` or `anonymous`."""
        return {
            "portal": self.rate_limit_portal,
            "citizen_app": self.rate_limit_citizen_app,
            "integration": self.rate_limit_integration,
            "anonymous": self.rate_limit_anonymous,
        }.get(kind, self.rate_limit_person)

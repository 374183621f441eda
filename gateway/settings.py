from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from services.common.settings import ComponentSettings

SERVICES = ("indicator", "evaluation", "disclosure", "feedback")


class Settings(ComponentSettings):
    model_config = SettingsConfigDict(env_prefix="GOVPERF_GATEWAY_", extra="ignore")
    component: ClassVar[str] = "gateway"

    indicator_url: str = "http://127.0.0.1:8001"
    evaluation_url: str = "http://127.0.0.1:8002"
    disclosure_url: str = "http://127.0.0.1:8003"
    feedback_url: str = "http://127.0.0.1:8004"
    upstream_timeout_seconds: float = 15.0
    health_timeout_seconds: float = 2.0

    graphql_introspection: bool = True
    graphql_max_depth: int = 10
    graphql_max_tokens: int = 2000
    graphql_max_aliases: int = 20

    def service_urls(self) -> dict[str, str]:
        return {name: getattr(self, f"{name}_url").rstrip("/") for name in SERVICES}

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from services.common.settings import ComponentSettings


class Settings(ComponentSettings):
    model_config = SettingsConfigDict(env_prefix="GOVPERF_GATEWAY_", extra="ignore")
    component: ClassVar[str] = "gateway"

    upstream_timeout_seconds: float = 15.0
    health_timeout_seconds: float = 2.0

    graphql_introspection: bool = True
    graphql_max_depth: int = 10
    graphql_max_tokens: int = 2000
    graphql_max_aliases: int = 20

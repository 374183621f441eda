from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from services.common.settings import ComponentSettings


class Settings(ComponentSettings):
    model_config = SettingsConfigDict(env_prefix="GOVPERF_FEEDBACK_", extra="ignore")
    component: ClassVar[str] = "feedback"

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from services.common.settings import ComponentSettings


class Settings(ComponentSettings):
    model_config = SettingsConfigDict(env_prefix="GOVPERF_INDICATOR_", extra="ignore")
    component: ClassVar[str] = "indicator"
    # Imports with a larger body run as a job (202 + a URL to poll). 32 MiB is about 400,000
    # rows of our JSON, some 10 s of work: smaller ones answer in the request.
    import_job_threshold_bytes: int = 32 << 20

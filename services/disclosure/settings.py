from typing import ClassVar, Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import ComponentSettings

PublishPolicy = Literal["auto", "approval"]

# Drafts written from events of these kinds go out at once; an office may publish its own
# drafts of them without a second admin. `approval` kinds wait for an approver who is not
# the draft's editor.
DEFAULT_PUBLISH_POLICY: dict[str, PublishPolicy] = {
    "plan": "auto",
    "results": "auto",
    "department_result": "auto",
    "rectification": "auto",
    "annual_report": "approval",
    "notice": "approval",
}


class Settings(ComponentSettings):
    model_config = SettingsConfigDict(env_prefix="GOVPERF_DISCLOSURE_", extra="ignore")
    component: ClassVar[str] = "disclosure"

    # kind → auto | approval; kinds left out keep their default.
    # GOVPERF_DISCLOSURE_PUBLISH_POLICY='{"results": "approval"}'
    publish_policy: dict[str, PublishPolicy] = Field(default_factory=dict)

    def policy(self) -> dict[str, PublishPolicy]:
        return {**DEFAULT_PUBLISH_POLICY, **self.publish_policy}

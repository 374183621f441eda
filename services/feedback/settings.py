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

    # Rectification tasks from results: every weakest indicator whose achievement (points
    # of its weight, 0–1) is below the first threshold, every weakest dimension scored below
    # the second (0–100), and every veto get a task, due this many days after the result.
    task_achievement_threshold: float = 0.6
    task_satisfaction_threshold: float = 70.0
    task_deadline_days: int = 90
    # Sample citizen comments a feedback report quotes (scrubbed), at most.
    report_sample_comments: int = 3
    # Overdue tasks (past their deadline, not verified) rise one escalation level after each
    # of these numbers of days overdue; the owner department is reminded this many days
    # before a deadline; how often the job runs (the component's interval when unset).
    task_escalation_days: list[int] = [7, 30]
    task_reminder_days: int = 7
    task_deadlines_interval_seconds: float | None = None

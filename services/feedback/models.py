from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import PortableJSON, UTCDateTime, metadata, utcnow
from services.common.models import (
    IdMixin,
    JurisdictionMixin,
    TimestampMixin,
    common_tables,
)


class Base(DeclarativeBase):
    metadata = metadata()


COMMON = common_tables(Base)
AuditLog = COMMON.audit
IdempotencyKey = COMMON.idempotency


class CitizenFeedback(IdMixin, JurisdictionMixin, TimestampMixin, Base):
    """What a member of the public said about a department or a published result.

    No personal data is kept: no name, no contact, no device id. The citizen's token is
    kept only as a keyed hash (`token_hash`): with it the citizen reads the answer and says
    whether the problem was resolved; "not resolved" reopens the feedback.
    """

    __tablename__ = "citizen_feedback"
    __table_args__ = (
        CheckConstraint(
            "status IN ('received', 'answered', 'resolved', 'reopened')", name="status"
        ),
        CheckConstraint("kind IN ('comment', 'suggestion', 'complaint', 'praise')", name="kind"),
        CheckConstraint(
            "resolution IS NULL OR resolution IN ('resolved', 'not_resolved')", name="resolution"
        ),
        Index("ix_citizen_feedback_department", "department_id", "created_at"),
    )

    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    publication_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    department_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The department that must answer (from the request, or the department code's results).
    department_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="received", index=True)
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The first answer's time: the response rate measures it against `respond_by`.
    first_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    respond_by: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The citizen's last word on the answer, and when it was said.
    resolution: Mapped[str | None] = mapped_column(String(16), nullable=True)
    resolution_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    resolution_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reopen_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # The rectification task spawned from it, once one is.
    task_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    # The cycle of the published item it was given on, when the item is about one.
    cycle_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)


class PublishedItem(Base):
    """What the disclosure service has published, as its events told us: citizens may
    comment on these, and feedback given on one goes to the department (and cycle) it is
    about. Kept current by `publication.published` / `.retracted`: only a later version (or
    the same version retracted) replaces what is known, so a late or repeated event changes
    nothing."""

    __tablename__ = "published_items"

    publication_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    jurisdiction_code: Mapped[str] = mapped_column(String(12), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    retracted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow
    )
    # The subjects of the version last heard of: what its feedback is routed to.
    publication_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    supersedes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cycle_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    department_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    department_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    period: Mapped[str | None] = mapped_column(String(16), nullable=True)
    category: Mapped[str | None] = mapped_column(String(64), nullable=True)
    subject_key: Mapped[str | None] = mapped_column(String(200), nullable=True)


# --- results, reports, rectification tasks, appeals ------------------------------------

RESULT_STAGES = ("preliminary", "finalized", "revised")
TASK_ORIGINS = ("result", "indicator", "dimension", "veto", "feedback", "appeal", "manual")
TASK_STATUSES = ("open", "planned", "in_progress", "submitted", "verified", "returned")
APPEAL_TARGET_KINDS = ("indicator", "group")
APPEAL_STATUSES = ("filed", "upheld", "partly_upheld", "dismissed")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class CycleResult(Base):
    """What evaluation's `results.*` events said about one department in one cycle.

    Replaced only by a later result version (or the same version at a later stage), so a
    duplicate or late delivery changes nothing."""

    __tablename__ = "cycle_results"
    __table_args__ = (
        CheckConstraint(_one_of("stage", RESULT_STAGES), name="stage"),
        Index("ix_cycle_results_jurisdiction_department", "jurisdiction_code", "department_id"),
    )

    cycle_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    department_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    jurisdiction_code: Mapped[str] = mapped_column(String(12), nullable=False)
    cycle_code: Mapped[str] = mapped_column(String(64), nullable=False)
    period: Mapped[str] = mapped_column(String(16), nullable=False)
    category: Mapped[str] = mapped_column(String(64), nullable=False)
    department_code: Mapped[str] = mapped_column(String(64), nullable=False)
    name_zh: Mapped[str | None] = mapped_column(String(200), nullable=True)
    result_version: Mapped[int] = mapped_column(Integer, nullable=False)
    stage: Mapped[str] = mapped_column(String(16), nullable=False)
    total: Mapped[float] = mapped_column(Float, nullable=False)
    rank: Mapped[int | None] = mapped_column(Integer, nullable=True)
    grade: Mapped[str | None] = mapped_column(String(32), nullable=True)
    vetoed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    weakest_indicators: Mapped[list[Any]] = mapped_column(PortableJSON, nullable=False)
    weakest_dimensions: Mapped[list[Any]] = mapped_column(PortableJSON, nullable=False)
    appeal_window_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class FeedbackReport(IdMixin, JurisdictionMixin, TimestampMixin, Base):
    """One department's feedback on one cycle's final (or revised) result."""

    __tablename__ = "feedback_reports"
    __table_args__ = (UniqueConstraint("cycle_id", "department_id"),)

    cycle_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    department_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, index=True)
    department_code: Mapped[str] = mapped_column(String(64), nullable=False)
    result_version: Mapped[int] = mapped_column(Integer, nullable=False)
    total: Mapped[float] = mapped_column(Float, nullable=False)
    grade: Mapped[str | None] = mapped_column(String(32), nullable=True)
    rank: Mapped[int | None] = mapped_column(Integer, nullable=True)
    vetoed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    weakest_indicators: Mapped[list[Any]] = mapped_column(PortableJSON, nullable=False)
    weakest_dimensions: Mapped[list[Any]] = mapped_column(PortableJSON, nullable=False)
    # Citizen comments on the department: counts per kind and dimension, scrubbed samples.
    themes: Mapped[dict[str, Any]] = mapped_column(PortableJSON, nullable=False)


class RectificationTask(IdMixin, JurisdictionMixin, TimestampMixin, Base):
    """Something a department must put right, followed until the office verifies it."""

    __tablename__ = "rectification_tasks"
    __table_args__ = (
        CheckConstraint(_one_of("origin", TASK_ORIGINS), name="origin"),
        CheckConstraint(_one_of("status", TASK_STATUSES), name="status"),
        CheckConstraint("progress >= 0 AND progress <= 100", name="progress"),
        # Automatic tasks are created once: NULL origin_ref or cycle_id never collide.
        UniqueConstraint("cycle_id", "department_id", "origin", "origin_ref"),
        Index("ix_rectification_tasks_department", "department_id", "status"),
        Index("ix_rectification_tasks_deadline", "status", "deadline"),
    )

    cycle_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    department_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    department_code: Mapped[str] = mapped_column(String(64), nullable=False)
    origin: Mapped[str] = mapped_column(String(16), nullable=False)
    origin_ref: Mapped[str | None] = mapped_column(String(200), nullable=True)
    report_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("feedback_reports.id", ondelete="SET NULL"), nullable=True
    )
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    deadline: Mapped[date] = mapped_column(Date, nullable=False)
    plan: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    progress: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    escalation_level: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    overdue_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    repeat_of: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class TaskMilestone(IdMixin, Base):
    """A step of a task's plan; a task with milestones takes its progress from them."""

    __tablename__ = "task_milestones"
    __table_args__ = (
        CheckConstraint("progress >= 0 AND progress <= 100", name="progress"),
        CheckConstraint("weight IS NULL OR weight > 0", name="weight"),
    )

    task_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("rectification_tasks.id", ondelete="CASCADE"), nullable=False, index=True
    )
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    weight: Mapped[float | None] = mapped_column(Float, nullable=True)
    progress: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class TaskEvidence(IdMixin, Base):
    """A link or a description the department offers as proof of its rectification."""

    __tablename__ = "task_evidence"

    task_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("rectification_tasks.id", ondelete="CASCADE"), nullable=False, index=True
    )
    url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    added_by: Mapped[str] = mapped_column(String(200), nullable=False)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class TaskStatusChange(IdMixin, Base):
    """Who moved a task from one status to another, when and why."""

    __tablename__ = "task_status_changes"

    task_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("rectification_tasks.id", ondelete="CASCADE"), nullable=False, index=True
    )
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str] = mapped_column(String(16), nullable=False)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    actor_role: Mapped[str] = mapped_column(String(32), nullable=False)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class Appeal(IdMixin, JurisdictionMixin, Base):
    """A department's appeal against one score of its preliminary result, and its decision."""

    __tablename__ = "appeals"
    __table_args__ = (
        CheckConstraint(_one_of("target_kind", APPEAL_TARGET_KINDS), name="target_kind"),
        CheckConstraint(_one_of("status", APPEAL_STATUSES), name="status"),
        Index("ix_appeals_cycle_department", "cycle_id", "department_id"),
    )

    cycle_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    department_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    department_code: Mapped[str] = mapped_column(String(64), nullable=False)
    result_version: Mapped[int] = mapped_column(Integer, nullable=False)
    target_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    target: Mapped[str] = mapped_column(String(64), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    evidence: Mapped[list[Any]] = mapped_column(PortableJSON, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="filed")
    adjustment_points: Mapped[float | None] = mapped_column(Float, nullable=True)
    decision_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    filed_by: Mapped[str] = mapped_column(String(200), nullable=False)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


RESULTS_USE_KINDS = (
    "commendation",
    "budget_adjustment",
    "accountability_interview",
    "training",
    "personnel_decision",
)


class ResultsUse(IdMixin, JurisdictionMixin, TimestampMixin, Base):
    """How the office used one department's result of one cycle: what turns "results were
    not applied" into something counted."""

    __tablename__ = "results_uses"
    __table_args__ = (
        CheckConstraint(_one_of("kind", RESULTS_USE_KINDS), name="kind"),
        Index("ix_results_uses_cycle_department", "cycle_id", "department_id"),
    )

    cycle_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    result_version: Mapped[int] = mapped_column(Integer, nullable=False)
    department_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    department_code: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    decided_on: Mapped[date] = mapped_column(Date, nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    # The decision's document number or link, when there is one.
    reference: Mapped[str | None] = mapped_column(String(300), nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(200), nullable=False)


class DepartmentMetrics(Base):
    """The last numbers `department_metrics.computed` announced for a department and cycle:
    the periodic job emits again only when they change."""

    __tablename__ = "department_metrics"
    __table_args__ = (Index("ix_department_metrics_jurisdiction", "jurisdiction_code"),)

    cycle_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    department_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    jurisdiction_code: Mapped[str] = mapped_column(String(12), nullable=False)
    department_code: Mapped[str] = mapped_column(String(64), nullable=False)
    # sha256 of the announced numbers: one conditional UPDATE decides who announces a change.
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    numbers: Mapped[dict[str, Any]] = mapped_column(PortableJSON, nullable=False)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

"""Tables of the evaluation service.

A cycle (one plan period, one department category) is bound to a published indicator-system
version, received as a snapshot. Evaluator groups rate the cycle's departments: named
evaluators fill scorecards, citizens answer a versioned questionnaire through mobile apps.
Scoring writes one result per department and result version, each with its breakdown.

The ratings table is the hot path: one row per response (its client-generated
`response_id` is the primary key, so two copies can never both count) carrying its answers
pre-summed per dimension, for aggregation in the database. Nothing is incremented per
submission: counts are aggregated when they are read.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import (
    PortableFloatArray,
    PortableIntArray,
    PortableJSON,
    PortableTextArray,
    UTCDateTime,
    metadata,
    utcnow,
)
from services.common.models import IdMixin, JurisdictionMixin, TimestampMixin, common_tables

# draft → open (ratings accepted) → scoring → preliminary (appeal window) → finalized
# → revised (after an upheld appeal; a revised cycle may be revised again).
CYCLE_STATUSES = ("draft", "open", "scoring", "preliminary", "finalized", "revised")
GROUP_KINDS = ("objective", "leadership", "self", "citizen", "expert", "deputy", "enterprise")
QUESTIONNAIRE_STATUSES = ("draft", "published", "closed")
# A response's standing after the quality checks: counted, excluded, or held for review.
RATING_DECISIONS = ("counted", "excluded", "held")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = metadata()


COMMON = common_tables(Base)
AuditLog = COMMON.audit
IdempotencyKey = COMMON.idempotency


class IndicatorSystemSnapshot(JurisdictionMixin, Base):
    """A published indicator-system version as `indicator_system.published` carried it."""

    __tablename__ = "indicator_systems"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)  # the indicator service's id
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    category: Mapped[str] = mapped_column(String(64), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    snapshot: Mapped[dict[str, Any]] = mapped_column(PortableJSON, nullable=False)
    received_via: Mapped[str] = mapped_column(String(16), nullable=False)  # event | fetch
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class Cycle(IdMixin, JurisdictionMixin, TimestampMixin, Base):
    """One evaluation round of one department category, bound to an indicator-system version.

    `rules` holds the cycle's scoring settings (grade bands and quotas, normalization, the
    rating-quality policy) as `schemas.CycleRules` validates them.
    """

    __tablename__ = "cycles"
    __table_args__ = (
        UniqueConstraint("jurisdiction_code", "code"),
        CheckConstraint(_one_of("status", CYCLE_STATUSES), name="status"),
    )

    code: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    period: Mapped[str] = mapped_column(String(16), nullable=False)
    category: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft")
    system_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("indicator_systems.id"), nullable=True
    )
    rules: Mapped[dict[str, Any]] = mapped_column(PortableJSON, nullable=False, default=dict)
    appeal_days: Mapped[int] = mapped_column(Integer, nullable=False, default=7)
    appeal_window_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    result_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    preliminary_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revised_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When the indicator service last reported a change to a value of the cycle's period
    # (an import, a verification, a return): results scored before it may be out of date.
    measurements_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When the rating quality checks last ran (closing runs them: no rating arrives after).
    ratings_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CycleDepartment(Base):
    """A department evaluated in a cycle, as the indicator service listed it at opening."""

    __tablename__ = "cycle_departments"

    cycle_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("cycles.id", ondelete="CASCADE"), primary_key=True
    )
    department_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    name_zh: Mapped[str] = mapped_column(String(200), nullable=False)
    name_en: Mapped[str | None] = mapped_column(String(200), nullable=True)


class EvaluatorGroup(IdMixin, JurisdictionMixin, TimestampMixin, Base):
    """One kind of evaluator with its weight in the total (the weights of a cycle sum to 100).

    Scorecard groups rate `dimensions` ([{code, name_zh, name_en, max_score}]); the citizen
    group answers `questionnaire_id`; the objective group scores verified measurements.
    `department_ids` null means every department of the cycle.
    """

    __tablename__ = "evaluator_groups"
    __table_args__ = (
        UniqueConstraint("cycle_id", "code"),
        CheckConstraint(_one_of("kind", GROUP_KINDS), name="kind"),
        CheckConstraint("weight >= 0 AND weight <= 100", name="weight"),
    )

    cycle_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("cycles.id", ondelete="CASCADE"), nullable=False
    )
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    weight: Mapped[float] = mapped_column(Float, nullable=False)
    min_sample: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    department_ids: Mapped[list[str] | None] = mapped_column(PortableJSON, nullable=True)
    dimensions: Mapped[list[dict[str, Any]]] = mapped_column(
        PortableJSON, nullable=False, default=list
    )
    questionnaire_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("questionnaires.id"), nullable=True
    )


class Assignment(IdMixin, JurisdictionMixin, TimestampMixin, Base):
    """A named evaluator (a token subject) asked to rate one department for one group."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("group_id", "evaluator_subject", "department_id"),)

    cycle_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("cycles.id", ondelete="CASCADE"), nullable=False
    )
    group_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("evaluator_groups.id", ondelete="CASCADE"), nullable=False
    )
    evaluator_subject: Mapped[str] = mapped_column(String(200), nullable=False)
    evaluator_name: Mapped[str] = mapped_column(String(200), nullable=False)
    # The evaluator's own department, if any: rating it is a conflict of interest.
    evaluator_department_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    department_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)


class Scorecard(IdMixin, JurisdictionMixin, TimestampMixin, Base):
    """An assignment's answer: a score per dimension (null = "don't know", left out)."""

    __tablename__ = "scorecards"

    assignment_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("assignments.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    cycle_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, index=True)
    group_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    department_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    scores: Mapped[dict[str, float | None]] = mapped_column(PortableJSON, nullable=False)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    submitted_by: Mapped[str] = mapped_column(String(200), nullable=False)


class Questionnaire(IdMixin, JurisdictionMixin, TimestampMixin, Base):
    """One version of a citizen questionnaire; published versions never change.

    `items`: [{code, dimension, text_zh, text_en}] answered on the Likert scale
    `scale_min`..`scale_max`; the `top_box` highest answers count as satisfied.
    """

    __tablename__ = "questionnaires"
    __table_args__ = (
        UniqueConstraint("jurisdiction_code", "code", "version"),
        CheckConstraint(_one_of("status", QUESTIONNAIRE_STATUSES), name="status"),
        CheckConstraint("scale_max > scale_min", name="scale"),
    )
    jurisdiction_id_index = False

    code: Mapped[str] = mapped_column(String(64), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft")
    title_zh: Mapped[str] = mapped_column(String(200), nullable=False)
    title_en: Mapped[str | None] = mapped_column(String(200), nullable=True)
    scale_min: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    scale_max: Mapped[int] = mapped_column(Integer, nullable=False, default=5)
    top_box: Mapped[int] = mapped_column(Integer, nullable=False, default=3)
    allow_dont_know: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    free_text_max: Mapped[int] = mapped_column(Integer, nullable=False, default=500)
    dimensions: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON, nullable=False)
    items: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON, nullable=False)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Rating(Base):
    """One citizen's response about one department in one cycle.

    `id` is the app's `response_id`. The respondent, device and network are keyed hashes;
    `content_hash` tells a harmless resend from a conflicting one. The answers are also
    pre-summed per dimension, in four aligned arrays (the dimensions answered, in order):
    the mean of the answered items on the questionnaire's scale, how many were answered
    ("don't know" is not), and how many were in the top box. They live in the response's own
    row rather than a row per dimension: the intake writes one row per response, with no
    second table, index and foreign key to maintain for each.
    """

    __tablename__ = "ratings"
    # The unique key leads with the cycle: it serves every read of a cycle's responses, so
    # no index of their own is maintained for each response.
    __table_args__ = (UniqueConstraint("cycle_id", "department_id", "respondent_hash"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    jurisdiction_code: Mapped[str] = mapped_column(String(12), nullable=False)
    cycle_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    group_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    questionnaire_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    department_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    client: Mapped[str] = mapped_column(String(200), nullable=False)
    # SHA-256 digests: 32 bytes each.
    respondent_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    device_hash: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    network_hash: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    content_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    answers: Mapped[dict[str, int | None]] = mapped_column(PortableJSON, nullable=False)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Post-stratification cell (e.g. "district=A|age=18-34") when the app reports one.
    stratum: Mapped[str | None] = mapped_column(String(100), nullable=True)
    duration_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    straight_lined: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    dimensions: Mapped[list[str]] = mapped_column(PortableTextArray, nullable=False)
    means: Mapped[list[float]] = mapped_column(PortableFloatArray, nullable=False)
    answered: Mapped[list[int]] = mapped_column(PortableIntArray, nullable=False)
    tops: Mapped[list[int]] = mapped_column(PortableIntArray, nullable=False)


class RatingFlag(Base):
    """A response the quality checks flagged, the criteria it met and what became of it."""

    __tablename__ = "rating_flags"
    __table_args__ = (
        CheckConstraint(_one_of("decision", RATING_DECISIONS), name="decision"),
        Index("ix_rating_flags_cycle", "cycle_id", "decision"),
    )

    rating_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("ratings.id", ondelete="CASCADE"), primary_key=True
    )
    cycle_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    criteria: Mapped[list[str]] = mapped_column(PortableJSON, nullable=False)
    decision: Mapped[str] = mapped_column(String(16), nullable=False)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    decided_by: Mapped[str] = mapped_column(String(200), nullable=False)


class ResultVersion(Base):
    """One scoring run of a cycle: what it used, why it ran, and when."""

    __tablename__ = "result_versions"

    cycle_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("cycles.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    stage: Mapped[str] = mapped_column(String(16), nullable=False)  # preliminary | revised
    reason: Mapped[str] = mapped_column(String(500), nullable=False)
    inputs: Mapped[dict[str, Any]] = mapped_column(PortableJSON, nullable=False)
    inputs_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    computed_by: Mapped[str] = mapped_column(String(200), nullable=False)


class Result(IdMixin, JurisdictionMixin, Base):
    """A department's score in one result version, with its breakdown."""

    __tablename__ = "results"
    __table_args__ = (UniqueConstraint("cycle_id", "version", "department_id"),)
    jurisdiction_id_index = False

    cycle_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("cycles.id", ondelete="CASCADE"), nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    department_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    total: Mapped[float] = mapped_column(Float, nullable=False)
    rank: Mapped[int] = mapped_column(Integer, nullable=False)
    tied: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    grade: Mapped[str] = mapped_column(String(32), nullable=False)
    vetoed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # Group scores, weakest indicators and dimensions, how the grade came about.
    details: Mapped[dict[str, Any]] = mapped_column(PortableJSON, nullable=False)
    breakdown: Mapped[dict[str, Any]] = mapped_column(PortableJSON, nullable=False)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class Adjustment(IdMixin, JurisdictionMixin, Base):
    """An upheld appeal's change to one score, applied by every later re-score."""

    __tablename__ = "adjustments"
    jurisdiction_id_index = False

    cycle_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("cycles.id", ondelete="CASCADE"), nullable=False, index=True
    )
    appeal_id: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    department_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    # What it changes: an indicator code or an evaluator group code, and by how many points.
    target_kind: Mapped[str] = mapped_column(String(16), nullable=False)  # indicator | group
    target: Mapped[str] = mapped_column(String(64), nullable=False)
    points: Mapped[float] = mapped_column(Float, nullable=False)
    decision: Mapped[str] = mapped_column(String(32), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

"""results, feedback reports, rectification tasks and appeals

What evaluation's results events said per department and cycle; one feedback report per
department and cycle; rectification tasks with their milestones, evidence and status
history; appeals against preliminary scores and their decisions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import services.common.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, services.common.db.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "cycle_results",
        sa.Column("cycle_id", sa.Uuid(), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=False),
        sa.Column("jurisdiction_code", sa.String(length=12), nullable=False),
        sa.Column("cycle_code", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("department_code", sa.String(length=64), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=True),
        sa.Column("result_version", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("grade", sa.String(length=32), nullable=True),
        sa.Column("vetoed", sa.Boolean(), nullable=False),
        sa.Column("weakest_indicators", _json(), nullable=False),
        sa.Column("weakest_dimensions", _json(), nullable=False),
        _when("appeal_window_ends_at", nullable=True),
        _when("received_at"),
        sa.CheckConstraint(
            "stage IN ('preliminary', 'finalized', 'revised')", name=op.f("ck_cycle_results_stage")
        ),
        sa.PrimaryKeyConstraint("cycle_id", "department_id", name=op.f("pk_cycle_results")),
    )
    with op.batch_alter_table("cycle_results", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cycle_results_jurisdiction_department",
            ["jurisdiction_code", "department_id"],
            unique=False,
        )

    op.create_table(
        "feedback_reports",
        sa.Column("cycle_id", sa.Uuid(), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=False),
        sa.Column("department_code", sa.String(length=64), nullable=False),
        sa.Column("result_version", sa.Integer(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("grade", sa.String(length=32), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("vetoed", sa.Boolean(), nullable=False),
        sa.Column("weakest_indicators", _json(), nullable=False),
        sa.Column("weakest_dimensions", _json(), nullable=False),
        sa.Column("themes", _json(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("jurisdiction_code", sa.String(length=12), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_reports")),
        sa.UniqueConstraint(
            "cycle_id", "department_id", name=op.f("uq_feedback_reports_cycle_id_department_id")
        ),
    )
    with op.batch_alter_table("feedback_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_feedback_reports_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(
            "ix_feedback_reports_jurisdiction_id", ["jurisdiction_code", "id"], unique=False
        )

    op.create_table(
        "rectification_tasks",
        sa.Column("cycle_id", sa.Uuid(), nullable=True),
        sa.Column("department_id", sa.Uuid(), nullable=False),
        sa.Column("department_code", sa.String(length=64), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("origin_ref", sa.String(length=200), nullable=True),
        sa.Column("report_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("plan", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        _when("overdue_since", nullable=True),
        _when("reminded_at", nullable=True),
        sa.Column("repeat_of", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        _when("verified_at", nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("jurisdiction_code", sa.String(length=12), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        sa.CheckConstraint(
            "origin IN ('result', 'indicator', 'dimension', 'veto', 'feedback', 'appeal', "
            "'manual')",
            name=op.f("ck_rectification_tasks_origin"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'planned', 'in_progress', 'submitted', 'verified', 'returned')",
            name=op.f("ck_rectification_tasks_status"),
        ),
        sa.CheckConstraint(
            "progress >= 0 AND progress <= 100", name=op.f("ck_rectification_tasks_progress")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["feedback_reports.id"],
            name=op.f("fk_rectification_tasks_report_id_feedback_reports"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rectification_tasks")),
        sa.UniqueConstraint(
            "cycle_id",
            "department_id",
            "origin",
            "origin_ref",
            name=op.f("uq_rectification_tasks_cycle_id_department_id_origin_origin_ref"),
        ),
    )
    with op.batch_alter_table("rectification_tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rectification_tasks_deadline", ["status", "deadline"], unique=False
        )
        batch_op.create_index(
            "ix_rectification_tasks_department", ["department_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_rectification_tasks_jurisdiction_id", ["jurisdiction_code", "id"], unique=False
        )

    op.create_table(
        "task_milestones",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("weight", sa.Float(), nullable=True),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "progress >= 0 AND progress <= 100", name=op.f("ck_task_milestones_progress")
        ),
        sa.CheckConstraint("weight IS NULL OR weight > 0", name=op.f("ck_task_milestones_weight")),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["rectification_tasks.id"],
            name=op.f("fk_task_milestones_task_id_rectification_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_milestones")),
    )
    with op.batch_alter_table("task_milestones", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_task_milestones_task_id"), ["task_id"], unique=False)

    op.create_table(
        "task_evidence",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        _when("added_at"),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["rectification_tasks.id"],
            name=op.f("fk_task_evidence_task_id_rectification_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_evidence")),
    )
    with op.batch_alter_table("task_evidence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_task_evidence_task_id"), ["task_id"], unique=False)

    op.create_table(
        "task_status_changes",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("actor_role", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        _when("changed_at"),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["rectification_tasks.id"],
            name=op.f("fk_task_status_changes_task_id_rectification_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_status_changes")),
    )
    with op.batch_alter_table("task_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_task_status_changes_task_id"), ["task_id"], unique=False
        )

    op.create_table(
        "appeals",
        sa.Column("cycle_id", sa.Uuid(), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=False),
        sa.Column("department_code", sa.String(length=64), nullable=False),
        sa.Column("result_version", sa.Integer(), nullable=False),
        sa.Column("target_kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", _json(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("adjustment_points", sa.Float(), nullable=True),
        sa.Column("decision_text", sa.Text(), nullable=True),
        sa.Column("filed_by", sa.String(length=200), nullable=False),
        _when("filed_at"),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        _when("decided_at", nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("jurisdiction_code", sa.String(length=12), nullable=False),
        sa.CheckConstraint(
            "target_kind IN ('indicator', 'group')", name=op.f("ck_appeals_target_kind")
        ),
        sa.CheckConstraint(
            "status IN ('filed', 'upheld', 'partly_upheld', 'dismissed')",
            name=op.f("ck_appeals_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
    )
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_appeals_cycle_department", ["cycle_id", "department_id"], unique=False
        )
        batch_op.create_index(
            "ix_appeals_jurisdiction_id", ["jurisdiction_code", "id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("appeals")
    op.drop_table("task_status_changes")
    op.drop_table("task_evidence")
    op.drop_table("task_milestones")
    op.drop_table("rectification_tasks")
    op.drop_table("feedback_reports")
    op.drop_table("cycle_results")

"""citizen feedback's loop, results uses, department metrics

Citizen feedback is routed to a department, has a response deadline, a token (as a keyed
hash) with which the citizen says whether it was resolved, a reopen count and the
rectification task spawned from it. The office records how results were used. The last
announced department metrics are kept so that only a change is announced again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import services.common.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, services.common.db.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("citizen_feedback", schema=None) as batch_op:
        batch_op.add_column(sa.Column("department_id", sa.Uuid(), nullable=True))
        batch_op.add_column(_when("first_answered_at", nullable=True))
        batch_op.add_column(_when("respond_by", nullable=True))
        batch_op.add_column(sa.Column("token_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("resolution", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("resolution_comment", sa.Text(), nullable=True))
        batch_op.add_column(_when("resolution_at", nullable=True))
        batch_op.add_column(
            sa.Column("reopen_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("task_id", sa.Uuid(), nullable=True))
        batch_op.drop_constraint(op.f("ck_citizen_feedback_status"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_citizen_feedback_status"),
            "status IN ('received', 'answered', 'resolved', 'reopened')",
        )
        batch_op.create_check_constraint(
            op.f("ck_citizen_feedback_resolution"),
            "resolution IS NULL OR resolution IN ('resolved', 'not_resolved')",
        )
        batch_op.create_index(
            "ix_citizen_feedback_department", ["department_id", "created_at"], unique=False
        )
    # Feedback answered before this revision was answered first when it was answered last.
    op.execute(
        "UPDATE citizen_feedback SET first_answered_at = answered_at WHERE answered_at IS NOT NULL"
    )
    with op.batch_alter_table("citizen_feedback", schema=None) as batch_op:
        batch_op.alter_column("reopen_count", server_default=None)

    op.create_table(
        "results_uses",
        sa.Column("cycle_id", sa.Uuid(), nullable=False),
        sa.Column("result_version", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=False),
        sa.Column("department_code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(length=300), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("jurisdiction_code", sa.String(length=12), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        sa.CheckConstraint(
            "kind IN ('commendation', 'budget_adjustment', 'accountability_interview', "
            "'training', 'personnel_decision')",
            name=op.f("ck_results_uses_kind"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_results_uses")),
    )
    with op.batch_alter_table("results_uses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_results_uses_cycle_department", ["cycle_id", "department_id"], unique=False
        )
        batch_op.create_index(
            "ix_results_uses_jurisdiction_id", ["jurisdiction_code", "id"], unique=False
        )

    op.create_table(
        "department_metrics",
        sa.Column("cycle_id", sa.Uuid(), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=False),
        sa.Column("jurisdiction_code", sa.String(length=12), nullable=False),
        sa.Column("department_code", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("numbers", _json(), nullable=False),
        _when("computed_at"),
        sa.PrimaryKeyConstraint("cycle_id", "department_id", name=op.f("pk_department_metrics")),
    )
    with op.batch_alter_table("department_metrics", schema=None) as batch_op:
        batch_op.create_index(
            "ix_department_metrics_jurisdiction", ["jurisdiction_code"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("department_metrics", schema=None) as batch_op:
        batch_op.drop_index("ix_department_metrics_jurisdiction")
    op.drop_table("department_metrics")
    with op.batch_alter_table("results_uses", schema=None) as batch_op:
        batch_op.drop_index("ix_results_uses_jurisdiction_id")
        batch_op.drop_index("ix_results_uses_cycle_department")
    op.drop_table("results_uses")
    op.execute(
        "UPDATE citizen_feedback SET status = 'answered' WHERE status IN ('resolved', 'reopened')"
    )
    with op.batch_alter_table("citizen_feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_citizen_feedback_department")
        batch_op.drop_constraint(op.f("ck_citizen_feedback_resolution"), type_="check")
        batch_op.drop_constraint(op.f("ck_citizen_feedback_status"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_citizen_feedback_status"), "status IN ('received', 'answered')"
        )
        for column in (
            "task_id",
            "reopen_count",
            "resolution_at",
            "resolution_comment",
            "resolution",
            "token_hash",
            "respond_by",
            "first_answered_at",
            "department_id",
        ):
            batch_op.drop_column(column)

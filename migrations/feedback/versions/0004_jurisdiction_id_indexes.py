"""jurisdiction and id indexes for lists, idempotency keys by age

Every list filters by jurisdiction and pages in id order: one index on (jurisdiction_code,
id) serves both, where the single-column index left a sort of every row of a jurisdiction.
Expired Idempotency-Keys are purged by age.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 16:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("citizen_feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_citizen_feedback_jurisdiction_code")
        batch_op.create_index(
            "ix_citizen_feedback_jurisdiction_id", ["jurisdiction_code", "id"], unique=False
        )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index("ix_idempotency_keys_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_idempotency_keys_created_at")
    with op.batch_alter_table("citizen_feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_citizen_feedback_jurisdiction_id")
        batch_op.create_index(
            "ix_citizen_feedback_jurisdiction_code", ["jurisdiction_code"], unique=False
        )

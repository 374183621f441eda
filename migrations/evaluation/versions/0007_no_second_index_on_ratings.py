"""no second index on ratings by cycle

`ix_ratings_cycle_received` (cycle, received_at) served no query the unique key (cycle,
department, respondent) does not: every read of ratings filters by cycle, none orders by
the time received. Each response paid for keeping it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 20:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.drop_index("ix_ratings_cycle_received")


def downgrade() -> None:
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ratings_cycle_received", ["cycle_id", "received_at"], unique=False
        )

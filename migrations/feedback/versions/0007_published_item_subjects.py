"""published items' subjects, feedback's cycle

`publication.published` now names what a publication is about (cycle, department, period,
category, subject key) and its version: the published items keep them, so feedback given
on one is routed to its department and cycle, and a late event of an older version is
told apart. Citizen feedback keeps the cycle it was routed to.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SUBJECTS = (
    "subject_key",
    "category",
    "period",
    "department_code",
    "department_id",
    "cycle_id",
    "supersedes",
    "publication_version",
)


def upgrade() -> None:
    with op.batch_alter_table("published_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("publication_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("supersedes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("cycle_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("department_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("department_code", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("period", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("category", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("subject_key", sa.String(length=200), nullable=True))
    with op.batch_alter_table("citizen_feedback", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cycle_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("citizen_feedback", schema=None) as batch_op:
        batch_op.drop_column("cycle_id")
    with op.batch_alter_table("published_items", schema=None) as batch_op:
        for column in _SUBJECTS:
            batch_op.drop_column(column)

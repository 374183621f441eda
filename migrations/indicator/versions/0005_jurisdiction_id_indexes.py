"""jurisdiction and id indexes for lists, idempotency keys by age

Every list filters by jurisdiction and pages in id order: one index on (jurisdiction_code,
id) serves both, where the single-column index left a sort of every row of a jurisdiction.
Expired Idempotency-Keys are purged by age.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 16:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.drop_index("ix_departments_jurisdiction_code")
        batch_op.create_index(
            "ix_departments_jurisdiction_id", ["jurisdiction_code", "id"], unique=False
        )
    with op.batch_alter_table("indicator_systems", schema=None) as batch_op:
        batch_op.drop_index("ix_indicator_systems_jurisdiction_code")
        batch_op.create_index(
            "ix_indicator_systems_jurisdiction_id", ["jurisdiction_code", "id"], unique=False
        )
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_import_jobs_jurisdiction_code")
        batch_op.create_index(
            "ix_import_jobs_jurisdiction_id", ["jurisdiction_code", "id"], unique=False
        )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index("ix_idempotency_keys_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_idempotency_keys_created_at")
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_import_jobs_jurisdiction_id")
        batch_op.create_index(
            "ix_import_jobs_jurisdiction_code", ["jurisdiction_code"], unique=False
        )
    with op.batch_alter_table("indicator_systems", schema=None) as batch_op:
        batch_op.drop_index("ix_indicator_systems_jurisdiction_id")
        batch_op.create_index(
            "ix_indicator_systems_jurisdiction_code", ["jurisdiction_code"], unique=False
        )
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.drop_index("ix_departments_jurisdiction_id")
        batch_op.create_index(
            "ix_departments_jurisdiction_code", ["jurisdiction_code"], unique=False
        )

"""partial indexes on open deliveries

The dispatcher's claim walks the unfinished deliveries in order and checks each for an
earlier unfinished one of the same aggregate; indexes over those rows only keep the claim
as fast with a million finished deliveries as with none.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status IN ('pending', 'delivering')"


def upgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_order")
        batch_op.create_index(
            "ix_webhook_deliveries_open",
            ["seq"],
            unique=False,
            postgresql_where=sa.text(OPEN),
            sqlite_where=sa.text(OPEN),
        )
        batch_op.create_index(
            "ix_webhook_deliveries_open_order",
            ["subscription_id", "aggregate", "seq"],
            unique=False,
            postgresql_where=sa.text(OPEN),
            sqlite_where=sa.text(OPEN),
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_open_order")
        batch_op.drop_index("ix_webhook_deliveries_open")
        batch_op.create_index(
            "ix_webhook_deliveries_order", ["subscription_id", "aggregate", "seq"], unique=False
        )

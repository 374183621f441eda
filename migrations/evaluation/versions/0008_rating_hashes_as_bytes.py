"""rating hashes as bytes

The respondent, device, network and content hashes of a response are SHA-256 digests kept
as 64 hexadecimal characters; as their 32 bytes they take half the room in the row and in
the unique key (cycle, department, respondent), and compare as bytes. The values are the
same digests: existing rows are decoded, so a respondent is still known again and a resend
still recognised.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 20:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HASHES = {
    "respondent_hash": False,  # column → nullable
    "device_hash": True,
    "network_hash": True,
    "content_hash": False,
}
CHUNK = 5000


def _recode_sqlite(convert: str) -> None:
    """SQLite (3.40 has no `unhex`): each row's hashes rewritten by Python, `convert` being
    `fromhex` (text → bytes) or `hex` (bytes → text)."""
    bind = op.get_bind()
    ratings = sa.table("ratings", sa.column("id"), *(sa.column(name) for name in HASHES))
    rows = bind.execute(sa.select(ratings)).all()

    def recode(value: object) -> object:
        if value is None:
            return None
        if convert == "fromhex":
            return bytes.fromhex(value.decode() if isinstance(value, bytes) else str(value))
        return value.hex() if isinstance(value, bytes) else value

    statement = (
        ratings.update()
        .where(ratings.c.id == sa.bindparam("_id"))
        .values({name: sa.bindparam(f"_{name}") for name in HASHES})
    )
    for start in range(0, len(rows), CHUNK):
        bind.execute(
            statement,
            [
                {"_id": row.id, **{f"_{name}": recode(getattr(row, name)) for name in HASHES}}
                for row in rows[start : start + CHUNK]
            ],
        )


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if not postgresql:
        _recode_sqlite("fromhex")
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        for name, nullable in HASHES.items():
            batch_op.alter_column(
                name,
                existing_type=sa.String(length=64),
                type_=sa.LargeBinary(),
                existing_nullable=nullable,
                postgresql_using=f"decode({name}, 'hex')",
            )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if not postgresql:  # as text first: the copy of the table then casts text to text
        _recode_sqlite("hex")
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        for name, nullable in HASHES.items():
            batch_op.alter_column(
                name,
                existing_type=sa.LargeBinary(),
                type_=sa.String(length=64),
                existing_nullable=nullable,
                postgresql_using=f"encode({name}, 'hex')",
            )

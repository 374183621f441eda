"""api clients with several keys (rotation, expiry, revocation) and the audit log

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 20:10:00.000000

Each existing client keeps its one key (as its first row of api_keys; a revoked client's key
is revoked), its role becomes its kind and its first jurisdiction its jurisdiction.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import services.common.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
UTC_DATETIME = services.common.db.UTCDateTime(timezone=True)


def _first_jurisdiction() -> str:
    if op.get_bind().dialect.name == "postgresql":
        return "jurisdiction_codes->>0"
    return "json_extract(jurisdiction_codes, '$[0]')"


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", UTC_DATETIME, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("jurisdiction_code", sa.String(length=12), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("resource_type", sa.String(length=100), nullable=False),
        sa.Column("resource_id", sa.String(length=100), nullable=False),
        sa.Column("before", JSON, nullable=True),
        sa.Column("after", JSON, nullable=True),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_log_jurisdiction_id", ["jurisdiction_code", "id"], unique=False
        )
        batch_op.create_index(
            "ix_audit_log_resource", ["resource_type", "resource_id"], unique=False
        )

    op.create_table(
        "api_keys",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=True),
        sa.Column("revoked_at", UTC_DATETIME, nullable=True),
        sa.Column("last_used_at", UTC_DATETIME, nullable=True),
        sa.Column("replaces_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_id", name=op.f("uq_api_keys_key_id")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index("ix_api_keys_client_id", ["client_id"], unique=False)
    op.execute(
        "INSERT INTO api_keys (id, client_id, key_id, secret_hash, created_at, revoked_at,"
        " last_used_at) SELECT id, id, key_id, secret_hash, created_at,"
        " CASE WHEN active THEN NULL ELSE created_at END, last_used_at FROM api_clients"
    )

    with op.batch_alter_table("api_clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("jurisdiction_code", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("updated_at", UTC_DATETIME, nullable=True))
    op.execute(
        "UPDATE api_clients SET kind = CASE role WHEN 'integration' THEN 'internal_system'"
        " WHEN 'citizen_app' THEN 'mobile_app' ELSE 'portal' END,"
        f" jurisdiction_code = {_first_jurisdiction()}, updated_at = created_at"
    )
    with op.batch_alter_table("api_clients", schema=None) as batch_op:
        batch_op.alter_column("kind", existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column(
            "jurisdiction_code", existing_type=sa.String(length=12), nullable=False
        )
        batch_op.alter_column("updated_at", existing_type=UTC_DATETIME, nullable=False)
        batch_op.drop_constraint("uq_api_clients_key_id", type_="unique")
        batch_op.drop_column("key_id")
        batch_op.drop_column("secret_hash")
        batch_op.drop_column("role")
        batch_op.drop_column("jurisdiction_codes")
        batch_op.drop_column("last_used_at")
        batch_op.create_index(
            "ix_api_clients_jurisdiction_id", ["jurisdiction_code", "id"], unique=False
        )


def downgrade() -> None:
    """Back to one key per client: each client keeps its newest key."""
    with op.batch_alter_table("api_clients", schema=None) as batch_op:
        batch_op.drop_index("ix_api_clients_jurisdiction_id")
        batch_op.add_column(sa.Column("key_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("secret_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("role", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("jurisdiction_codes", JSON, nullable=True))
        batch_op.add_column(sa.Column("last_used_at", UTC_DATETIME, nullable=True))
    newest = (
        "(SELECT {column} FROM api_keys k WHERE k.client_id = api_clients.id"
        " ORDER BY k.created_at DESC, k.id DESC LIMIT 1)"
    )
    codes = (
        "jsonb_build_array(jurisdiction_code)"
        if op.get_bind().dialect.name == "postgresql"
        else "json_array(jurisdiction_code)"
    )
    op.execute(
        f"UPDATE api_clients SET key_id = {newest.format(column='key_id')},"
        f" secret_hash = {newest.format(column='secret_hash')},"
        f" last_used_at = {newest.format(column='last_used_at')},"
        " role = CASE kind WHEN 'internal_system' THEN 'integration'"
        " WHEN 'mobile_app' THEN 'citizen_app' ELSE 'portal' END,"
        f" jurisdiction_codes = {codes}"
    )
    op.execute("DELETE FROM api_clients WHERE key_id IS NULL")
    with op.batch_alter_table("api_clients", schema=None) as batch_op:
        batch_op.alter_column("key_id", existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column("secret_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("role", existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column("jurisdiction_codes", existing_type=JSON, nullable=False)
        batch_op.create_unique_constraint("uq_api_clients_key_id", ["key_id"])
        batch_op.drop_column("kind")
        batch_op.drop_column("jurisdiction_code")
        batch_op.drop_column("updated_at")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_api_keys_client_id")
    op.drop_table("api_keys")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_resource")
        batch_op.drop_index("ix_audit_log_jurisdiction_id")
    op.drop_table("audit_log")

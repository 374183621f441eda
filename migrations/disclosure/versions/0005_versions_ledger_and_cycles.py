"""publication versions, the ledger, cycles known from events, the approval workflow

Publications get kinds for department results and annual reports, the states approved and
scheduled, zh/en titles and summaries, a data snapshot, attachments, subjects (cycle,
department, period, category), a subject key for drafts written from events, the editor
and approver. Each published version is frozen in `publication_versions` and recorded in
the hash chain `ledger_entries`; `disclosure_cycles` keeps what `cycle.opened` and the
results events said of each cycle.

Existing rows: drafts keep their state at version 0; every published or retracted row
becomes version 1 with its frozen version and a `published` ledger entry (and a
`retracted` one after it for a retracted row), so the chain covers what was public before.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:20:00
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

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
UTC = services.common.db.UTCDateTime(timezone=True)
KINDS = (
    "kind IN ('plan', 'results', 'department_result', 'rectification', 'annual_report', 'notice')"
)
STATUSES = "status IN ('draft', 'approved', 'scheduled', 'published', 'retracted')"


def upgrade() -> None:
    with op.batch_alter_table("publications", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_publications_kind"), type_="check")
        batch_op.drop_constraint(op.f("ck_publications_status"), type_="check")
        batch_op.add_column(sa.Column("title_en", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("summary", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("summary_en", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("data", JSON, nullable=True))
        batch_op.add_column(
            sa.Column("attachments", JSON, nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.add_column(sa.Column("cycle_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("department_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("department_code", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("period", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("category", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("subject_key", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("editor", sa.String(length=200), nullable=False, server_default="system")
        )
        batch_op.add_column(sa.Column("approved_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("approved_at", UTC, nullable=True))
        batch_op.add_column(sa.Column("scheduled_at", UTC, nullable=True))
        batch_op.create_check_constraint("kind", KINDS)
        batch_op.create_check_constraint("status", STATUSES)
        batch_op.create_unique_constraint(
            op.f("uq_publications_jurisdiction_code_subject_key"),
            ["jurisdiction_code", "subject_key"],
        )
        batch_op.create_index(
            "ix_publications_status_scheduled_at", ["status", "scheduled_at"], unique=False
        )
    # The defaults were for existing rows only; new rows get theirs from the models.
    with op.batch_alter_table("publications", schema=None) as batch_op:
        batch_op.alter_column("attachments", server_default=None)
        batch_op.alter_column("editor", server_default=None)

    op.create_table(
        "publication_versions",
        sa.Column("publication_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("title_en", sa.String(length=300), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("summary_en", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("data", JSON, nullable=True),
        sa.Column("attachments", JSON, nullable=False),
        sa.Column("cycle_id", sa.Uuid(), nullable=True),
        sa.Column("department_id", sa.Uuid(), nullable=True),
        sa.Column("department_code", sa.String(length=64), nullable=True),
        sa.Column("period", sa.String(length=16), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("supersedes", sa.Integer(), nullable=True),
        sa.Column("published_at", UTC, nullable=False),
        sa.Column("retracted_at", UTC, nullable=True),
        sa.Column("retraction_reason", sa.Text(), nullable=True),
        sa.Column("ledger_seq", sa.Integer(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("jurisdiction_code", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["publication_id"],
            ["publications.id"],
            name=op.f("fk_publication_versions_publication_id_publications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publication_versions")),
        sa.UniqueConstraint(
            "publication_id", "version", name=op.f("uq_publication_versions_publication_id_version")
        ),
    )
    with op.batch_alter_table("publication_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_publication_versions_jurisdiction_id", ["jurisdiction_code", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_publication_versions_cycle_id"), ["cycle_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_publication_versions_department_id"), ["department_id"], unique=False
        )

    op.create_table(
        "ledger_entries",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("publication_id", sa.Uuid(), nullable=False),
        sa.Column("jurisdiction_code", sa.String(length=12), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", UTC, nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("previous_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "action IN ('published', 'retracted')", name=op.f("ck_ledger_entries_action")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ledger_entries")),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_publication_id"), ["publication_id"], unique=False
        )

    op.create_table(
        "disclosure_cycles",
        sa.Column("cycle_id", sa.Uuid(), nullable=False),
        sa.Column("jurisdiction_code", sa.String(length=12), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("system_id", sa.Uuid(), nullable=True),
        sa.Column("opened_at", UTC, nullable=True),
        sa.Column("preliminary_at", UTC, nullable=True),
        sa.Column("finalized_at", UTC, nullable=True),
        sa.Column("revised_at", UTC, nullable=True),
        sa.Column("departments", JSON, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("cycle_id", name=op.f("pk_disclosure_cycles")),
    )
    with op.batch_alter_table("disclosure_cycles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_disclosure_cycles_jurisdiction_code"),
            ["jurisdiction_code"],
            unique=False,
        )

    _freeze_existing_publications()


def _freeze_existing_publications() -> None:
    """Version 1 (frozen, in the ledger) for every row that was public before this revision."""
    from services.common.db import new_id
    from services.disclosure import ledger

    connection = op.get_bind()
    publications = sa.table(
        "publications",
        sa.column("id", sa.Uuid()),
        sa.column("jurisdiction_code", sa.String()),
        sa.column("kind", sa.String()),
        sa.column("title", sa.String()),
        sa.column("body", sa.Text()),
        sa.column("status", sa.String()),
        sa.column("version", sa.Integer()),
        sa.column("published_at", UTC),
        sa.column("retracted_at", UTC),
        sa.column("retraction_reason", sa.Text()),
        sa.column("created_at", UTC),
    )
    versions = sa.table(
        "publication_versions",
        sa.column("id", sa.Uuid()),
        sa.column("publication_id", sa.Uuid()),
        *(sa.column(c, sa.String()) for c in ("jurisdiction_code", "kind", "title", "body")),
        *(sa.column(c, sa.Integer()) for c in ("version", "supersedes", "ledger_seq")),
        sa.column("attachments", JSON),
        sa.column("published_at", UTC),
        sa.column("retracted_at", UTC),
        sa.column("retraction_reason", sa.Text()),
    )
    entries = sa.table(
        "ledger_entries",
        sa.column("publication_id", sa.Uuid()),
        *(sa.column(c, sa.Integer()) for c in ("seq", "version")),
        *(sa.column(c, sa.String()) for c in ("jurisdiction_code", "action", "previous_hash")),
        *(sa.column(c, sa.Text()) for c in ("content", "hash")),
        sa.column("recorded_at", UTC),
    )
    connection.execute(
        sa.update(publications).where(publications.c.status == "draft").values(version=0)
    )
    rows = connection.execute(
        sa.select(publications)
        .where(publications.c.status.in_(("published", "retracted")))
        .order_by(publications.c.published_at, publications.c.id)
    ).all()
    previous, seq = ledger.GENESIS, 0
    for row in rows:
        published_at = row.published_at or row.created_at
        frozen = {
            "publication_id": row.id,
            "jurisdiction_code": row.jurisdiction_code,
            "version": 1,
            "kind": row.kind,
            "title": row.title,
            "title_en": None,
            "summary": None,
            "summary_en": None,
            "body": row.body,
            "data": None,
            "attachments": [],
            "cycle_id": None,
            "department_id": None,
            "department_code": None,
            "period": None,
            "category": None,
            "supersedes": None,
        }
        actions = [("published", published_at, None)]
        if row.status == "retracted":
            actions.append(("retracted", row.retracted_at or published_at, row.retraction_reason))
        first_seq = seq + 1
        for action, at, reason in actions:
            seq += 1
            content = ledger.entry_content(
                seq=seq, action=action, version=frozen, recorded_at=at, retraction_reason=reason
            )
            digest = ledger.entry_hash(previous, content)
            connection.execute(
                sa.insert(entries).values(
                    seq=seq,
                    publication_id=row.id,
                    jurisdiction_code=row.jurisdiction_code,
                    version=1,
                    action=action,
                    recorded_at=at,
                    content=content,
                    previous_hash=previous,
                    hash=digest,
                )
            )
            previous = digest
        connection.execute(
            sa.insert(versions).values(
                id=new_id(),
                publication_id=row.id,
                jurisdiction_code=row.jurisdiction_code,
                version=1,
                kind=row.kind,
                title=row.title,
                body=row.body,
                attachments=[],
                supersedes=None,
                published_at=published_at,
                retracted_at=row.retracted_at if row.status == "retracted" else None,
                retraction_reason=row.retraction_reason if row.status == "retracted" else None,
                ledger_seq=first_seq,
            )
        )
        connection.execute(
            sa.update(publications)
            .where(publications.c.id == row.id)
            .values(version=1, published_at=published_at)
        )


def downgrade() -> None:
    op.drop_table("disclosure_cycles")
    op.drop_table("ledger_entries")
    op.drop_table("publication_versions")
    op.execute("DELETE FROM publications WHERE kind IN ('department_result', 'annual_report')")
    op.execute("UPDATE publications SET status = 'draft' WHERE status IN ('approved', 'scheduled')")
    op.execute("UPDATE publications SET version = 1")
    with op.batch_alter_table("publications", schema=None) as batch_op:
        batch_op.drop_index("ix_publications_status_scheduled_at")
        batch_op.drop_constraint(
            op.f("uq_publications_jurisdiction_code_subject_key"), type_="unique"
        )
        batch_op.drop_constraint(op.f("ck_publications_status"), type_="check")
        batch_op.drop_constraint(op.f("ck_publications_kind"), type_="check")
        for column in (
            "scheduled_at",
            "approved_at",
            "approved_by",
            "editor",
            "subject_key",
            "category",
            "period",
            "department_code",
            "department_id",
            "cycle_id",
            "attachments",
            "data",
            "summary_en",
            "summary",
            "title_en",
        ):
            batch_op.drop_column(column)
        batch_op.create_check_constraint(
            "kind", "kind IN ('plan', 'results', 'rectification', 'notice')"
        )
        batch_op.create_check_constraint("status", "status IN ('draft', 'published', 'retracted')")

"""a response's dimension sums in its own row

Each response carried one `rating_scores` row per dimension, with its own primary key, an
index and a foreign key checked per row: writing them cost the database more than the
responses themselves. The sums move into four aligned arrays of the response's row
(`dimensions`, `means`, `answered`, `tops`: native arrays on PostgreSQL, JSON lists on
SQLite), filled from the existing rows, and `rating_scores` goes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ARRAYS = {
    "dimensions": sa.JSON().with_variant(postgresql.ARRAY(sa.Text()), "postgresql"),
    "means": sa.JSON().with_variant(postgresql.ARRAY(sa.Float()), "postgresql"),
    "answered": sa.JSON().with_variant(postgresql.ARRAY(sa.Integer()), "postgresql"),
    "tops": sa.JSON().with_variant(postgresql.ARRAY(sa.Integer()), "postgresql"),
}
# array column → the `rating_scores` column it holds
SOURCES = {"dimensions": "dimension", "means": "mean", "answered": "answered", "tops": "top"}

FILL_POSTGRESQL = """
UPDATE ratings SET dimensions = s.dimensions, means = s.means, answered = s.answered,
       tops = s.tops
FROM (SELECT rating_id,
             array_agg(dimension ORDER BY dimension) AS dimensions,
             array_agg(mean ORDER BY dimension) AS means,
             array_agg(answered ORDER BY dimension) AS answered,
             array_agg(top ORDER BY dimension) AS tops
      FROM rating_scores GROUP BY rating_id) AS s
WHERE ratings.id = s.rating_id
"""
EMPTY_POSTGRESQL = """
UPDATE ratings SET dimensions = '{}', means = '{}', answered = '{}', tops = '{}'
WHERE dimensions IS NULL
"""
# SQLite: each list from the response's rows in dimension order (none: an empty list).
FILL_SQLITE = "UPDATE ratings SET " + ", ".join(
    f"{column} = (SELECT json_group_array({source}) FROM (SELECT {source} FROM rating_scores"
    f" WHERE rating_scores.rating_id = ratings.id ORDER BY dimension))"
    for column, source in SOURCES.items()
)

UNFILL_POSTGRESQL = """
INSERT INTO rating_scores (rating_id, dimension, cycle_id, department_id, mean, answered, top)
SELECT r.id, s.dimension, r.cycle_id, r.department_id, s.mean, s.answered, s.top
FROM ratings AS r, unnest(r.dimensions, r.means, r.answered, r.tops)
     AS s(dimension, mean, answered, top)
"""
UNFILL_SQLITE = """
INSERT INTO rating_scores (rating_id, dimension, cycle_id, department_id, mean, answered, top)
SELECT r.id, d.value, r.cycle_id, r.department_id,
       json_extract(r.means, printf('$[%d]', d.key)),
       json_extract(r.answered, printf('$[%d]', d.key)),
       json_extract(r.tops, printf('$[%d]', d.key))
FROM ratings AS r, json_each(r.dimensions) AS d
"""


def upgrade() -> None:
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        for column, kind in ARRAYS.items():
            batch_op.add_column(sa.Column(column, kind, nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FILL_POSTGRESQL)
        op.execute(EMPTY_POSTGRESQL)
    else:
        op.execute(FILL_SQLITE)
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        for column, kind in ARRAYS.items():
            batch_op.alter_column(column, existing_type=kind, nullable=False)
    with op.batch_alter_table("rating_scores", schema=None) as batch_op:
        batch_op.drop_index("ix_rating_scores_cycle_department")
    op.drop_table("rating_scores")


def downgrade() -> None:
    op.create_table(
        "rating_scores",
        sa.Column("rating_id", sa.Uuid(), nullable=False),
        sa.Column("dimension", sa.String(length=64), nullable=False),
        sa.Column("cycle_id", sa.Uuid(), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=False),
        sa.Column("mean", sa.Float(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("top", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rating_id"],
            ["ratings.id"],
            name=op.f("fk_rating_scores_rating_id_ratings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("rating_id", "dimension", name=op.f("pk_rating_scores")),
    )
    with op.batch_alter_table("rating_scores", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rating_scores_cycle_department",
            ["cycle_id", "department_id", "dimension"],
            unique=False,
        )
    op.execute(UNFILL_POSTGRESQL if op.get_bind().dialect.name == "postgresql" else UNFILL_SQLITE)
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        for column in reversed(ARRAYS):
            batch_op.drop_column(column)

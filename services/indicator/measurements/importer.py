"""Bulk import of measurements, set-based: stage, resolve, merge — in one transaction.

1. The file is read in chunks; rows that pass their own checks are staged in a temporary
   table (PostgreSQL: `COPY`; SQLite: one multi-row insert per chunk).
2. One statement resolves every staged row against departments, the published indicator
   system of the department's category and year, and the existing values, and decides its
   action (create, update, revive a deleted one, delete, ignore) or its conflict.
3. Unless it is a dry run, or the import is atomic and anything conflicts, three statements
   merge the actions into `measurements`, each change numbered for the change feed.

Writers of measurements hold one lock from the resolve to the commit (PostgreSQL: an
advisory transaction lock; SQLite: its single writer), so `change_seq` grows in commit
order and the resolve sees what the merge will change.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import IO, Any, Literal

from sqlalchemy import Uuid, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.common.auth import DEPARTMENT_BOUND, Principal
from services.common.db import UTCDateTime, pooled, utcnow
from services.common.errors import Forbidden
from services.indicator.measurements import formats

Strategy = Literal["CREATE", "UPDATE", "CREATE_AND_UPDATE", "DELETE"]
STRATEGIES: tuple[Strategy, ...] = ("CREATE", "UPDATE", "CREATE_AND_UPDATE", "DELETE")
CHUNK_ROWS = 5000
MAX_LISTED_CONFLICTS = 1000
WORK_MEM = "64MB"
BULK_ROWS = 2000
LOCK_KEY = 0x6D656173  # "meas": the measurement writers' advisory lock
STAGE_COLUMNS = (
    "row_no",
    "indicator_code",
    "department_code",
    "period",
    "value",
    "comment",
    "source_system",
    "evidence_url",
)
Progress = Callable[[int], Awaitable[None]]


@dataclass
class Options:
    strategy: Strategy = "CREATE_AND_UPDATE"
    dry_run: bool = False
    atomic: bool = True


@dataclass
class Summary:
    options: Options
    rows: int = 0
    imported: int = 0
    updated: int = 0
    ignored: int = 0
    deleted: int = 0
    conflicts: list[formats.Conflict] = field(default_factory=list)
    conflicts_total: int = 0
    cursor: int | None = None
    departments: list[str] = field(default_factory=list)
    periods: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> bool:
        """An atomic import with a conflict: nothing is written, and nothing counts."""
        return bool(self.options.atomic and self.conflicts_total and not self.options.dry_run)

    @property
    def written(self) -> bool:
        return not self.options.dry_run and not self.rejected

    @property
    def status(self) -> str:
        if self.conflicts_total == 0:
            return "SUCCESS"
        return "ERROR" if self.options.atomic else "WARNING"

    def add_conflicts(self, found: list[formats.Conflict], total: int | None = None) -> None:
        self.conflicts_total += len(found) if total is None else total
        room = MAX_LISTED_CONFLICTS - len(self.conflicts)
        if room > 0:
            self.conflicts.extend(found[:room])

    def as_dict(self) -> dict[str, Any]:
        listed = sorted(self.conflicts, key=lambda c: c.row)
        return {
            "status": self.status,
            "strategy": self.options.strategy,
            "dry_run": self.options.dry_run,
            "atomic": self.options.atomic,
            "written": self.written,
            "rows": self.rows,
            "imported": self.imported,
            "updated": self.updated,
            "ignored": self.ignored,
            "deleted": self.deleted,
            "conflicts_total": self.conflicts_total,
            "conflicts": [c.as_dict() for c in listed],
            "conflicts_truncated": self.conflicts_total > len(listed),
            "cursor": str(self.cursor) if self.cursor is not None else None,
        }


async def lock_measurements(session: AsyncSession) -> None:
    """Serialize measurement writers until commit (see the module docstring)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


async def next_change_seq(session: AsyncSession) -> int:
    """The next change number; call under `lock_measurements`."""
    current = await session.scalar(text("SELECT COALESCE(MAX(change_seq), 0) FROM measurements"))
    return int(current or 0) + 1


async def _create_stage(connection: AsyncConnection, postgres: bool) -> None:
    columns = (
        "row_no INTEGER NOT NULL, indicator_code VARCHAR(64) NOT NULL, "
        "department_code VARCHAR(64) NOT NULL, period VARCHAR(8) NOT NULL, "
        "value DOUBLE PRECISION, comment TEXT, source_system VARCHAR(100), "
        "evidence_url VARCHAR(2000)"
    )
    if postgres:
        await connection.execute(text(f"CREATE TEMP TABLE import_stage ({columns}) ON COMMIT DROP"))
    else:
        await connection.execute(text("DROP TABLE IF EXISTS temp.import_stage"))
        await connection.execute(text("DROP TABLE IF EXISTS temp.import_resolved"))
        await connection.execute(text(f"CREATE TEMP TABLE import_stage ({columns})"))


async def _stage(connection: AsyncConnection, rows: list[formats.Row], postgres: bool) -> None:
    if not rows:
        return
    if postgres:
        raw = await pooled(connection)
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            "import_stage", records=rows, columns=STAGE_COLUMNS
        )
        return
    placeholders = ", ".join(f":{c}" for c in STAGE_COLUMNS)
    await connection.execute(
        text(f"INSERT INTO import_stage VALUES ({placeholders})"),
        [dict(zip(STAGE_COLUMNS, row, strict=True)) for row in rows],
    )


def _resolve_sql(postgres: bool, *, repeats: bool) -> str:
    """`repeats`: whether the file names some key twice (the window that finds each key's
    first row costs a sort of the whole file, so it runs only then)."""
    distinct = "IS DISTINCT FROM" if postgres else "IS NOT"
    first_row = (
        "MIN(s.row_no) OVER (PARTITION BY s.indicator_code, s.department_code, s.period)"
        if repeats
        else "s.row_no"
    )
    return f"""
CREATE TEMP TABLE import_resolved {"ON COMMIT DROP" if postgres else ""} AS
WITH joined AS (
  SELECT s.*, d.id AS department_id, d.active AS department_active,
         sys.id AS system_id, n.id AS node_id, n.reportable, n.frequency,
         m.id AS existing_id, m.status AS existing_status,
         m.deleted_at IS NOT NULL AS existing_deleted,
         (s.value {distinct} m.value
          OR COALESCE(s.comment, m.comment) {distinct} m.comment
          OR COALESCE(s.source_system, m.source_system) {distinct} m.source_system
          OR COALESCE(s.evidence_url, m.evidence_url) {distinct} m.evidence_url) AS changed,
         {first_row} AS first_row
  FROM import_stage s
  LEFT JOIN departments d
    ON d.jurisdiction_code = :jurisdiction AND d.code = s.department_code
  LEFT JOIN indicator_systems sys
    ON sys.jurisdiction_code = :jurisdiction AND sys.status = 'published'
   AND sys.category = d.category AND sys.year = CAST(substr(s.period, 1, 4) AS INTEGER)
  LEFT JOIN indicator_nodes n ON n.system_id = sys.id AND n.code = s.indicator_code
  LEFT JOIN measurements m
    ON m.jurisdiction_code = :jurisdiction AND m.indicator_code = s.indicator_code
   AND m.department_id = d.id AND m.period = s.period
), checked AS (
  SELECT joined.*,
    CASE
      WHEN first_row <> row_no THEN 'row'
      WHEN department_id IS NULL OR NOT department_active THEN 'department'
      WHEN system_id IS NULL THEN 'period'
      WHEN node_id IS NULL OR NOT reportable THEN 'indicator'
      WHEN NOT (
        (frequency = 'annual' AND length(period) = 4)
        OR (frequency = 'quarterly' AND substr(period, 5, 1) = 'Q')
        OR (frequency = 'monthly' AND length(period) = 6 AND substr(period, 5, 1) <> 'Q')
      ) THEN 'period'
      WHEN existing_status = 'verified' AND NOT existing_deleted
        AND ((:strategy = 'DELETE') OR (:strategy <> 'CREATE' AND changed))
        THEN 'value'
    END AS conflict_field,
    CASE
      WHEN first_row <> row_no THEN 'repeats row ' || first_row
      WHEN department_id IS NULL THEN 'unknown department code'
      WHEN NOT department_active THEN 'the department is inactive'
      WHEN system_id IS NULL THEN 'no published indicator system for the department''s '
        || 'category in ' || substr(period, 1, 4)
      WHEN node_id IS NULL THEN 'unknown indicator code in that year''s system'
      WHEN NOT reportable THEN 'not a reported indicator (a dimension, or computed by a formula)'
      WHEN NOT (
        (frequency = 'annual' AND length(period) = 4)
        OR (frequency = 'quarterly' AND substr(period, 5, 1) = 'Q')
        OR (frequency = 'monthly' AND length(period) = 6 AND substr(period, 5, 1) <> 'Q')
      ) THEN 'the indicator is reported ' || frequency || '; the period does not match'
      WHEN existing_status = 'verified' AND NOT existing_deleted
        AND ((:strategy = 'DELETE') OR (:strategy <> 'CREATE' AND changed))
        THEN 'the value is verified and locked'
    END AS conflict_reason
  FROM joined
), decided AS (
  SELECT checked.*,
    CASE
      WHEN conflict_reason IS NOT NULL THEN 'conflict'
      WHEN :strategy = 'DELETE' THEN
        CASE WHEN existing_id IS NOT NULL AND NOT existing_deleted THEN 'delete' ELSE 'ignore' END
      WHEN existing_id IS NULL THEN CASE WHEN :strategy = 'UPDATE' THEN 'ignore' ELSE 'create' END
      WHEN existing_deleted THEN CASE WHEN :strategy = 'UPDATE' THEN 'ignore' ELSE 'revive' END
      WHEN :strategy = 'CREATE' THEN 'ignore'
      WHEN changed THEN 'update'
      ELSE 'ignore'
    END AS action
  FROM checked
)
SELECT row_no, action, conflict_field, conflict_reason, department_id, existing_id,
  CASE WHEN action IN ('create', 'revive', 'update', 'delete')
    THEN CAST(:base AS BIGINT) + row_no END AS change_seq
FROM decided
"""


def _merge_sql(postgres: bool) -> list[str]:
    new_id = "gen_random_uuid()" if postgres else "lower(hex(randomblob(16)))"
    changed_columns = """
  value = s.value,
  comment = CASE WHEN r.action = 'revive' THEN s.comment
                 ELSE COALESCE(s.comment, measurements.comment) END,
  source_system = CASE WHEN r.action = 'revive' THEN s.source_system
                       ELSE COALESCE(s.source_system, measurements.source_system) END,
  evidence_url = CASE WHEN r.action = 'revive' THEN s.evidence_url
                      ELSE COALESCE(s.evidence_url, measurements.evidence_url) END,
  status = 'submitted', status_reason = NULL, deleted_at = NULL,"""
    return [
        f"""
INSERT INTO measurements (id, jurisdiction_code, indicator_code, department_id, period, value,
  comment, source_system, evidence_url, status, flagged, version, change_seq, updated_by,
  created_at, updated_at)
SELECT {new_id}, :jurisdiction, s.indicator_code, r.department_id, s.period, s.value, s.comment,
  s.source_system, s.evidence_url, 'submitted', false, 1, r.change_seq, :actor, :now, :now
FROM import_resolved r JOIN import_stage s ON s.row_no = r.row_no WHERE r.action = 'create'
""",
        f"""
UPDATE measurements SET {changed_columns}
  version = measurements.version + 1, change_seq = r.change_seq, updated_by = :actor,
  updated_at = :now
FROM import_resolved r JOIN import_stage s ON s.row_no = r.row_no
WHERE r.existing_id = measurements.id AND r.action IN ('update', 'revive')
""",
        """
UPDATE measurements SET deleted_at = :now, version = measurements.version + 1,
  change_seq = r.change_seq, updated_by = :actor, updated_at = :now
FROM import_resolved r
WHERE r.existing_id = measurements.id AND r.action = 'delete'
""",
    ]


async def run_import(
    session: AsyncSession,
    principal: Principal,
    jurisdiction_code: str,
    source: IO[bytes],
    fmt: formats.Format,
    options: Options,
    *,
    progress: Progress | None = None,
) -> Summary:
    """Import `source` into the session's transaction; the caller commits if
    `summary.written`, and rolls back otherwise."""
    connection = await session.connection()
    postgres = connection.dialect.name == "postgresql"
    await _create_stage(connection, postgres)
    try:
        return await _import(
            session,
            connection,
            postgres,
            principal,
            jurisdiction_code,
            source,
            fmt,
            options,
            progress,
        )
    finally:
        if not postgres:  # PostgreSQL drops them at the end of the transaction
            await connection.execute(text("DROP TABLE IF EXISTS temp.import_stage"))
            await connection.execute(text("DROP TABLE IF EXISTS temp.import_resolved"))


async def _import(
    session: AsyncSession,
    connection: AsyncConnection,
    postgres: bool,
    principal: Principal,
    jurisdiction_code: str,
    source: IO[bytes],
    fmt: formats.Format,
    options: Options,
    progress: Progress | None,
) -> Summary:
    summary = Summary(options)
    for rows, conflicts in formats.read_chunks(
        source, fmt, value_required=options.strategy != "DELETE", chunk_size=CHUNK_ROWS
    ):
        summary.rows += len(rows) + len(conflicts)
        summary.add_conflicts(conflicts)
        await _stage(connection, rows, postgres)
        if progress is not None:
            await progress(summary.rows)
    if summary.rows == 0:
        raise formats.InvalidImportFile("The file holds no measurements")

    bulk = postgres and summary.rows >= BULK_ROWS
    if bulk:
        # Resolving a large file against the tables is a job for hash joins, whatever the
        # statistics say (a table that just grew looks empty to the planner, and a merge
        # join over it turned a 2 s import into 10 s); and room to hash and sort in memory.
        await _plan_for_bulk(connection, on=True)
    if not options.dry_run:  # a dry run writes nothing, so it holds up no writer
        await lock_measurements(session)
    base = await next_change_seq(session)
    params = {"jurisdiction": jurisdiction_code, "strategy": options.strategy, "base": base}
    repeats = await connection.scalar(
        text(
            "SELECT EXISTS (SELECT 1 FROM import_stage "
            "GROUP BY indicator_code, department_code, period HAVING count(*) > 1)"
        )
    )
    await connection.execute(text(_resolve_sql(postgres, repeats=bool(repeats))), params)
    if bulk:
        await _plan_for_bulk(connection, on=False)
    await _refuse_other_departments(connection, principal)

    counts: dict[str, int] = {
        action: n
        for action, n in await connection.execute(
            text("SELECT action, count(*) FROM import_resolved GROUP BY action")
        )
    }
    found = (
        await connection.execute(
            text(
                "SELECT r.row_no, r.conflict_field, r.conflict_reason, s.indicator_code, "
                "s.department_code, s.period, s.value FROM import_resolved r "
                "JOIN import_stage s ON s.row_no = r.row_no "
                "WHERE r.action = 'conflict' ORDER BY r.row_no LIMIT :limit"
            ),
            {"limit": MAX_LISTED_CONFLICTS},
        )
    ).all()
    summary.add_conflicts(
        [
            formats.Conflict(r.row_no, r.conflict_field, _field_value(r), r.conflict_reason)
            for r in found
        ],
        total=counts.get("conflict", 0),
    )
    if summary.rejected:
        return summary  # nothing is written, so nothing counts
    # A dry run reports what the import would do; conflicting rows of a non-atomic import
    # are left out, as ignored.
    summary.imported = counts.get("create", 0) + counts.get("revive", 0)
    summary.updated = counts.get("update", 0)
    summary.deleted = counts.get("delete", 0)
    summary.ignored = counts.get("ignore", 0) + (0 if options.atomic else summary.conflicts_total)
    changed = summary.imported + summary.updated + summary.deleted
    if options.dry_run:
        return summary
    if changed:
        merge_params = {
            "jurisdiction": jurisdiction_code,
            "actor": principal.subject,
            "now": utcnow(),
        }
        for statement in _merge_sql(postgres):
            await connection.execute(
                text(statement).bindparams(bindparam("now", type_=UTCDateTime())), merge_params
            )
        summary.cursor = await connection.scalar(
            text(
                "SELECT max(change_seq) FROM import_resolved "
                "WHERE action IN ('create', 'revive', 'update', 'delete')"
            )
        )
        scope = (
            await connection.execute(
                text(
                    "SELECT DISTINCT s.department_code, s.period FROM import_resolved r "
                    "JOIN import_stage s ON s.row_no = r.row_no "
                    "WHERE r.action IN ('create', 'revive', 'update', 'delete')"
                )
            )
        ).all()
        summary.departments = sorted({r[0] for r in scope})
        summary.periods = sorted({r[1] for r in scope})
    return summary


async def _plan_for_bulk(connection: AsyncConnection, *, on: bool) -> None:
    settings = (
        ("enable_mergejoin", "off" if on else "on"),
        ("enable_nestloop", "off" if on else "on"),
        ("work_mem", f"'{WORK_MEM}'" if on else "DEFAULT"),
    )
    for name, value in settings:
        await connection.execute(text(f"SET LOCAL {name} = {value}"))


def _field_value(row: Any) -> str | None:
    value = {
        "indicator": row.indicator_code,
        "department": row.department_code,
        "period": row.period,
        "value": formats.format_value(row.value),
        "row": None,
    }.get(row.conflict_field)
    return value or None


def own_department(principal: Principal) -> uuid.UUID | None:
    """The one department a department-bound principal may touch (None: any)."""
    if principal.role not in DEPARTMENT_BOUND:
        return None
    try:
        return uuid.UUID(principal.department_id or "")
    except ValueError as exc:
        raise Forbidden(
            "Your token's department_id is not a department id", code="other-department"
        ) from exc


async def _refuse_other_departments(connection: AsyncConnection, principal: Principal) -> None:
    """An officer's or an internal system's import names only its own department."""
    own = own_department(principal)
    if own is None:
        return
    other = (
        await connection.execute(
            text(
                "SELECT r.row_no, s.department_code FROM import_resolved r "
                "JOIN import_stage s ON s.row_no = r.row_no "
                "WHERE r.department_id IS NOT NULL AND r.department_id <> :own "
                "ORDER BY r.row_no LIMIT 1"
            ).bindparams(bindparam("own", type_=Uuid())),
            {"own": own},
        )
    ).first()
    if other is not None:
        raise Forbidden(
            f"Row {other.row_no} is for department {other.department_code}; "
            "you may import only your own department's data",
            code="other-department",
        )

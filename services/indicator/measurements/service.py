"""Rules for measurements one at a time: reading, correcting, the verification workflow, the
change feed and exports. Bulk imports are in `importer`."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.audit import record_audit, record_change, snapshot
from services.common.auth import Principal
from services.common.db import Database, utcnow
from services.common.errors import Conflict, Forbidden, NotFound, Unprocessable
from services.common.jurisdictions import ensure_writable
from services.common.pagination import PageParams, decode_cursor, encode_cursor, paginate
from services.indicator import events
from services.indicator.measurements import formats, importer, schemas
from services.indicator.models import Department, Measurement


class MeasurementLocked(Conflict):
    code = "measurement-locked"
    title = "The value is verified and locked"


class MeasurementExists(Conflict):
    code = "measurement-exists"
    title = "A value for that indicator, department and period exists already"


class InvalidMeasurement(Unprocessable):
    code = "invalid-measurement"
    title = "The value cannot be recorded"


class WrongStatus(Conflict):
    code = "wrong-status"
    title = "The value is not in a state that allows this"


def department_filter(principal: Principal, requested: uuid.UUID | None) -> uuid.UUID | None:
    """The department a read is limited to: a department-bound caller's own (asking for
    another is 403), anyone else's choice."""
    own = importer.own_department(principal)
    if own is None:
        return requested
    if requested is not None and requested != own:
        raise Forbidden("That is another department's data", code="other-department")
    return own


async def get_measurement(
    session: AsyncSession, principal: Principal, measurement_id: uuid.UUID, *, lock: bool = False
) -> Measurement:
    if lock:
        # The writers' lock before the row's, in the order imports take them (otherwise an
        # edit and an import touching the same value deadlock).
        await importer.lock_measurements(session)
    row = await session.get(Measurement, measurement_id, with_for_update=lock)
    if row is None or row.deleted_at is not None or not principal.may_access(row.jurisdiction_code):
        raise NotFound(f"Measurement {measurement_id} not found")
    department_filter(principal, row.department_id)
    return row


async def list_measurements(
    session: AsyncSession,
    principal: Principal,
    page: PageParams,
    *,
    jurisdiction: str | None = None,
    department_id: uuid.UUID | None = None,
    indicator: str | None = None,
    period: str | None = None,
    status: str | None = None,
    flagged: bool | None = None,
) -> tuple[list[Measurement], str | None]:
    stmt = select(Measurement).where(
        Measurement.jurisdiction_code.in_(principal.jurisdictions),
        Measurement.deleted_at.is_(None),
    )
    department_id = department_filter(principal, department_id)
    for column, value in (
        (Measurement.jurisdiction_code, jurisdiction),
        (Measurement.department_id, department_id),
        (Measurement.indicator_code, indicator),
        (Measurement.period, period),
        (Measurement.status, status),
        (Measurement.flagged, flagged),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    return await paginate(session, stmt, Measurement.id, page)


async def latest_by_department(
    session: AsyncSession, principal: Principal, department_ids: list[uuid.UUID], latest: int
) -> list[Measurement]:
    """Each department's `latest` most recently changed values, newest first (a batch read
    for up to 100 departments in one query)."""
    for department_id in department_ids:
        department_filter(principal, department_id)
    recency = (
        func.row_number()
        .over(
            partition_by=Measurement.department_id,
            order_by=(Measurement.change_seq.desc(), Measurement.id),
        )
        .label("recency")
    )
    ranked = (
        select(Measurement.id, recency)
        .where(
            Measurement.jurisdiction_code.in_(principal.jurisdictions),
            Measurement.deleted_at.is_(None),
            Measurement.department_id.in_(department_ids),
        )
        .subquery()
    )
    stmt = (
        select(Measurement)
        .join(ranked, ranked.c.id == Measurement.id)
        .where(ranked.c.recency <= latest)
        .order_by(Measurement.department_id, Measurement.change_seq.desc(), Measurement.id)
    )
    return list((await session.scalars(stmt)).all())


async def change_feed(
    session: AsyncSession,
    principal: Principal,
    changed_since: str,
    limit: int,
    *,
    jurisdiction: str | None = None,
) -> tuple[list[Measurement], str]:
    """Every change after the cursor in the order it was committed, deletions included."""
    try:
        after = 0 if changed_since in ("", "0") else int(decode_cursor(changed_since, int))
    except (ValueError, TypeError) as exc:
        raise Unprocessable(
            "changed_since is not a cursor from this feed", code="bad-cursor"
        ) from exc
    stmt = select(Measurement).where(
        Measurement.jurisdiction_code.in_(principal.jurisdictions),
        Measurement.change_seq > after,
    )
    own = department_filter(principal, None)
    if own is not None:
        stmt = stmt.where(Measurement.department_id == own)
    if jurisdiction is not None:
        stmt = stmt.where(Measurement.jurisdiction_code == jurisdiction)
    rows = list((await session.scalars(stmt.order_by(Measurement.change_seq).limit(limit))).all())
    last = rows[-1].change_seq if rows else after
    return rows, encode_cursor(last)


async def create_measurement(
    session: AsyncSession, principal: Principal, data: schemas.MeasurementCreate
) -> Measurement:
    """One new value, through the same checks as an import of one row."""
    ensure_writable(principal, data.jurisdiction_code)
    body = {
        "measurements": [
            {
                **data.model_dump(exclude={"jurisdiction_code", "evidence_url"}),
                "evidence_url": str(data.evidence_url) if data.evidence_url else None,
            }
        ]
    }
    summary = await importer.run_import(
        session,
        principal,
        data.jurisdiction_code,
        io.BytesIO(json.dumps(body).encode()),
        "json",
        importer.Options(strategy="CREATE"),
    )
    if summary.conflicts:
        conflict = summary.conflicts[0]
        raise InvalidMeasurement(conflict.reason, field=conflict.field)
    if summary.imported == 0:
        raise MeasurementExists(
            f"{data.indicator} / {data.department} / {data.period} has a value already; "
            "change it with PATCH"
        )
    row = await session.scalar(
        select(Measurement)
        .join(Department, Department.id == Measurement.department_id)
        .where(
            Measurement.jurisdiction_code == data.jurisdiction_code,
            Measurement.indicator_code == data.indicator,
            Department.code == data.department,
            Measurement.period == data.period,
        )
    )
    assert row is not None
    record_change(session, principal, "measurement.created", row)
    return row


async def _touch(session: AsyncSession, row: Measurement, principal: Principal) -> None:
    """Number the change for the feed (under the writers' lock, held until commit)."""
    await importer.lock_measurements(session)
    row.change_seq = await importer.next_change_seq(session)
    row.version += 1
    row.updated_by = principal.subject
    row.updated_at = utcnow()
    await session.flush()


async def update_measurement(
    session: AsyncSession,
    principal: Principal,
    measurement_id: uuid.UUID,
    data: schemas.MeasurementUpdate,
) -> Measurement:
    """Correct a value or its notes; a changed value needs verifying again."""
    row = await get_measurement(session, principal, measurement_id, lock=True)
    if row.status == "verified":
        raise MeasurementLocked("A verified value is locked; an admin may unlock it")
    changes = data.model_dump(exclude_unset=True)
    if "value" in changes and changes["value"] is None:
        raise Unprocessable("'value' cannot be null", code="null-not-allowed")
    if "evidence_url" in changes and changes["evidence_url"] is not None:
        changes["evidence_url"] = str(changes["evidence_url"])
    before = snapshot(row)
    for name, value in changes.items():
        setattr(row, name, value)
    row.status, row.status_reason = "submitted", None
    await _touch(session, row, principal)
    record_change(session, principal, "measurement.updated", row, before=before)
    return row


async def delete_measurement(
    session: AsyncSession, principal: Principal, measurement_id: uuid.UUID
) -> None:
    row = await get_measurement(session, principal, measurement_id, lock=True)
    if row.status == "verified":
        raise MeasurementLocked("A verified value is locked; an admin may unlock it")
    before = snapshot(row)
    row.deleted_at = utcnow()
    await _touch(session, row, principal)
    record_change(session, principal, "measurement.deleted", row, before=before, after=None)


async def _transition(
    session: AsyncSession,
    principal: Principal,
    measurement_id: uuid.UUID,
    *,
    allowed_from: tuple[str, ...],
    to: str,
    reason: str | None,
    action: str,
) -> Measurement:
    row = await get_measurement(session, principal, measurement_id, lock=True)
    if row.status not in allowed_from:
        raise WrongStatus(f"The value is {row.status}; it must be {' or '.join(allowed_from)}")
    before = snapshot(row)
    row.status, row.status_reason = to, reason
    await _touch(session, row, principal)
    record_change(session, principal, action, row, before=before)
    return row


async def review(
    session: AsyncSession,
    principal: Principal,
    measurement_id: uuid.UUID,
    *,
    verdict: str,
    reason: str | None = None,
) -> Measurement:
    """Verify a submitted value (it is locked from then on) or return it with a reason;
    either way the evaluation service hears of it."""
    row = await _transition(
        session,
        principal,
        measurement_id,
        allowed_from=("submitted",),
        to=verdict,
        reason=reason,
        action=f"measurement.{verdict}",
    )
    await _announce(session, row)
    return row


async def unlock(
    session: AsyncSession, principal: Principal, measurement_id: uuid.UUID, reason: str
) -> Measurement:
    """An admin reopens a verified value for correction; the reason is audited."""
    return await _transition(
        session,
        principal,
        measurement_id,
        allowed_from=("verified",),
        to="submitted",
        reason=reason,
        action="measurement.unlocked",
    )


async def set_flag(
    session: AsyncSession,
    principal: Principal,
    measurement_id: uuid.UUID,
    *,
    flagged: bool,
    reason: str | None,
) -> Measurement:
    """Mark a value for follow-up (or clear the mark); it does not change the value."""
    row = await get_measurement(session, principal, measurement_id, lock=True)
    before = snapshot(row)
    row.flagged, row.flag_reason = flagged, reason
    await _touch(session, row, principal)
    record_change(
        session,
        principal,
        "measurement.flagged" if flagged else "measurement.unflagged",
        row,
        before=before,
    )
    return row


async def _announce(session: AsyncSession, row: Measurement) -> None:
    department_code = await session.scalar(
        select(Department.code).where(Department.id == row.department_id)
    )
    await events.measurement_reviewed(session, row, department_code)


async def record_import(
    session: AsyncSession,
    principal: Principal,
    jurisdiction_code: str,
    summary: importer.Summary,
    *,
    resource_type: str,
    resource_id: object,
) -> None:
    """An import that wrote something: its `measurements.imported` event and its audit row,
    in the import's own transaction."""
    if not summary.written:
        return
    await events.measurements_imported(session, jurisdiction_code, summary)
    record_audit(
        session,
        principal,
        action="measurements.imported",
        resource_type=resource_type,
        resource_id=resource_id,
        jurisdiction_code=jurisdiction_code,
        after={k: v for k, v in summary.as_dict().items() if k != "conflicts"},
    )


def export(
    db: Database,
    principal: Principal,
    jurisdiction_code: str,
    fmt: formats.Format,
    *,
    department_id: uuid.UUID | None,
    indicator: str | None,
    period: str | None,
    year: int | None = None,
    status: str | None = None,
) -> AsyncIterator[str]:
    """The current values as text in `fmt`, streamed. Who may read what is checked now, when
    the export is asked for: once it streams, a refusal could only cut it short."""
    ensure_writable(principal, jurisdiction_code)
    records = export_records(
        db,
        jurisdiction_code,
        department_id=department_filter(principal, department_id),
        indicator=indicator,
        period=period,
        year=year,
        status=status,
    )
    return formats.write(records, fmt)


async def export_records(
    db: Database,
    jurisdiction_code: str,
    *,
    department_id: uuid.UUID | None,
    indicator: str | None,
    period: str | None,
    year: int | None = None,
    status: str | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """The current values (not deleted), in a stable order, as the import formats take them.
    `department_id` is the caller's `department_filter`, applied before streaming starts;
    `year` keeps the periods within it (2026, 2026Q3, 202611), `status` one review status."""
    stmt = (
        select(
            Measurement.indicator_code,
            Department.code,
            Measurement.period,
            Measurement.value,
            Measurement.comment,
            Measurement.source_system,
            Measurement.evidence_url,
        )
        .join(Department, Department.id == Measurement.department_id)
        .where(
            Measurement.jurisdiction_code == jurisdiction_code,
            Measurement.deleted_at.is_(None),
        )
        .order_by(Measurement.indicator_code, Department.code, Measurement.period)
    )
    if department_id is not None:
        stmt = stmt.where(Measurement.department_id == department_id)
    if indicator is not None:
        stmt = stmt.where(Measurement.indicator_code == indicator)
    if period is not None:
        stmt = stmt.where(Measurement.period == period)
    if year is not None:
        stmt = stmt.where(Measurement.period.startswith(str(year), autoescape=True))
    if status is not None:
        stmt = stmt.where(Measurement.status == status)
    async with db.session(read_only=True) as session:
        result = await session.stream(stmt.execution_options(yield_per=2000))
        async for row in result:
            yield dict(zip(formats.CSV_COLUMNS, row, strict=True))

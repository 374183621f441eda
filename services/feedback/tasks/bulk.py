"""Bulk progress updates: rectification tasks out as CSV or XLSX, and back in from the same
file with their status, progress, plan and a note edited.

Export format = import format. `id` finds the task; `status`, `progress`, `plan` and `note`
are read; the other columns are there for the reader and ignored on import. Every row is
checked through the same rules as the one-by-one routes (`tasks.service`): a department
importing `verified` on its own task is a row error, as it would be a 403 on its own. Any
error and nothing is written (422 with the summary); `dry_run=true` checks everything and
writes nothing.
"""

from __future__ import annotations

import csv
import io
import math
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Response, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal, require_role
from services.common.errors import (
    AppError,
    Forbidden,
    Unauthorized,
    Unprocessable,
    responses,
)
from services.common.jurisdictions import ensure_writable, scoped
from services.common.routing import SessionDep, TransactionalRoute
from services.feedback.models import RectificationTask
from services.feedback.tasks import schemas as task_schemas
from services.feedback.tasks import service as task_service

COLUMNS = (
    "id",
    "department",
    "cycle_id",
    "origin",
    "origin_ref",
    "title",
    "deadline",
    "status",
    "progress",
    "plan",
    "note",
)
EDITABLE = ("status", "progress", "plan", "note")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
# Progress differences below this are the spreadsheet's rounding, not an edit.
PROGRESS_EPSILON = 1e-6

router = APIRouter(
    prefix="/v1/rectification-tasks", tags=["rectification tasks"], route_class=TransactionalRoute
)
OfficeOrDepartment = Annotated[Principal, Depends(require_role("admin", "department"))]


class ImportRowError(BaseModel):
    row: int = Field(description="The file's row number (the header is row 1)")
    column: str
    message: str


class ImportSummary(BaseModel):
    rows: int
    updated: int
    unchanged: int
    errors: list[ImportRowError]
    dry_run: bool


class ImportRejected(Unprocessable):
    code = "import-rejected"
    title = "The file has errors: nothing was written"


class UnreadableFile(Unprocessable):
    code = "unreadable-file"
    title = "The file is neither a CSV nor an XLSX this service can read"


# --- export ---------------------------------------------------------------------------------


async def exported_tasks(
    session: AsyncSession,
    principal: Principal,
    *,
    jurisdiction: str | None,
    cycle_id: uuid.UUID | None,
    department_id: uuid.UUID | None,
    status: str | None,
) -> list[RectificationTask]:
    """The tasks the principal may update, in id order: the office's jurisdictions', or a
    department's own (403 for naming another department)."""
    T = RectificationTask
    stmt = scoped(select(T), T, principal)
    check_scope(principal, jurisdiction, department_id)
    if principal.role != "admin":
        own = task_service.department_of(principal)
        stmt = stmt.where(T.department_id == (own or uuid.UUID(int=0)))
    if jurisdiction is not None:
        stmt = stmt.where(T.jurisdiction_code == jurisdiction)
    if cycle_id is not None:
        stmt = stmt.where(T.cycle_id == cycle_id)
    if department_id is not None:
        stmt = stmt.where(T.department_id == department_id)
    if status is not None:
        stmt = stmt.where(T.status == status)
    return list((await session.execute(stmt.order_by(T.id))).scalars())


def check_scope(
    principal: Principal, jurisdiction: str | None, department_id: uuid.UUID | None
) -> None:
    """A named jurisdiction must be the principal's, a named department a department's own."""
    if jurisdiction is not None:
        ensure_writable(principal, jurisdiction)
    if (
        principal.role != "admin"
        and department_id is not None
        and department_id != task_service.department_of(principal)
    ):
        raise task_service.NotTheDepartment("A department exports and imports its own tasks")


def _progress_text(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")


def task_row(task: RectificationTask) -> list[str]:
    return [
        str(task.id),
        task.department_code,
        str(task.cycle_id) if task.cycle_id else "",
        task.origin,
        task.origin_ref or "",
        task.title,
        task.deadline.isoformat(),
        task.status,
        _progress_text(task.progress),
        task.plan or "",
        "",
    ]


def to_csv(tasks: list[RectificationTask]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(task_row(t) for t in tasks)
    # The BOM makes spreadsheet programs read the Chinese text as UTF-8.
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(tasks: list[RectificationTask]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("tasks")
    sheet.append(list(COLUMNS))
    for task in tasks:
        row: list[Any] = task_row(task)
        row[COLUMNS.index("progress")] = task.progress
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@router.get(
    "/export.csv",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}}, "description": "The tasks, one per row"},
        **responses(Unauthorized, Forbidden),
    },
)
async def export_csv(
    session: SessionDep,
    principal: OfficeOrDepartment,
    jurisdiction: str | None = None,
    cycle_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
    status: task_schemas.TaskStatus | None = None,
) -> Response:
    """The tasks you may update as CSV (UTF-8): edit `status`, `progress`, `plan` and
    `note`, and send the file back to `POST /v1/rectification-tasks/import`."""
    tasks = await exported_tasks(
        session,
        principal,
        jurisdiction=jurisdiction,
        cycle_id=cycle_id,
        department_id=department_id,
        status=status,
    )
    return Response(
        to_csv(tasks),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="rectification-tasks.csv"'},
    )


@router.get(
    "/export.xlsx",
    response_class=Response,
    responses={
        200: {"content": {XLSX_TYPE: {}}, "description": "The tasks, one per row"},
        **responses(Unauthorized, Forbidden),
    },
)
async def export_xlsx(
    session: SessionDep,
    principal: OfficeOrDepartment,
    jurisdiction: str | None = None,
    cycle_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
    status: task_schemas.TaskStatus | None = None,
) -> Response:
    """The same as `export.csv`, as an Excel workbook."""
    tasks = await exported_tasks(
        session,
        principal,
        jurisdiction=jurisdiction,
        cycle_id=cycle_id,
        department_id=department_id,
        status=status,
    )
    return Response(
        to_xlsx(tasks),
        media_type=XLSX_TYPE,
        headers={"content-disposition": 'attachment; filename="rectification-tasks.xlsx"'},
    )


# --- reading a file -------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return _progress_text(value) if math.isfinite(value) else str(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _is_xlsx(content: bytes, filename: str | None, content_type: str | None) -> bool:
    name = (filename or "").lower()
    if name.endswith(".xlsx") or (content_type or "").startswith(XLSX_TYPE):
        return True
    if name.endswith(".csv") or (content_type or "").startswith("text/"):
        return False
    return content[:4] == b"PK\x03\x04"


def read_rows(
    content: bytes, filename: str | None, content_type: str | None
) -> Iterator[list[str]]:
    """The file's rows as lists of strings, header first."""
    if _is_xlsx(content, filename, content_type):
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise UnreadableFile(f"Not an XLSX workbook: {exc}") from None
        try:
            sheet = workbook.worksheets[0]
            for values in sheet.iter_rows(values_only=True):
                yield [_cell(v) for v in values]
        finally:
            workbook.close()
        return
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableFile("A CSV file must be UTF-8") from None
    try:
        yield from ([c.strip() for c in row] for row in csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise UnreadableFile(f"Not a CSV file: {exc}") from None


# --- importing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What the file may touch, when the caller narrowed it."""

    jurisdiction: str | None = None
    department_id: uuid.UUID | None = None


@dataclass
class _Import:
    errors: list[ImportRowError] = field(default_factory=list)
    rows: int = 0
    updated: int = 0
    unchanged: int = 0

    def error(self, row: int, column: str, message: str) -> None:
        self.errors.append(ImportRowError(row=row, column=column, message=message))


def _header(raw: list[str], report: _Import) -> dict[str, int] | None:
    names = [h.strip().lower() for h in raw]
    positions: dict[str, int] = {}
    for index, name in enumerate(names):
        if not name:
            continue
        if name not in COLUMNS:
            report.error(1, name, f"Unknown column; the columns are {', '.join(COLUMNS)}")
        elif name in positions:
            report.error(1, name, "The column appears twice")
        else:
            positions[name] = index
    if "id" not in positions:
        report.error(1, "id", "The id column is required: it says which task a row updates")
    if not any(c in positions for c in EDITABLE):
        report.error(1, "status", f"Nothing to update: give one of {', '.join(EDITABLE)}")
    return None if report.errors else positions


async def _apply_row(
    session: AsyncSession,
    principal: Principal,
    values: dict[str, str],
    line: int,
    report: _Import,
    seen: set[uuid.UUID],
    scope: Scope,
) -> None:
    try:
        task_id = uuid.UUID(values.get("id", ""))
    except ValueError:
        report.error(line, "id", f"{values.get('id')!r} is not a task id")
        return
    if task_id in seen:
        report.error(line, "id", "The task appears on an earlier row too")
        return
    seen.add(task_id)
    task = await session.get(RectificationTask, task_id)
    if task is None or not principal.may_access(task.jurisdiction_code):
        report.error(line, "id", f"No task {task_id}")
        return
    if principal.role != "admin" and task_service.department_of(principal) != task.department_id:
        report.error(line, "id", f"Task {task_id} is department {task.department_code}'s")
        return
    if scope.jurisdiction is not None and task.jurisdiction_code != scope.jurisdiction:
        report.error(line, "id", f"Task {task_id} is not of {scope.jurisdiction}")
        return
    if scope.department_id is not None and task.department_id != scope.department_id:
        report.error(line, "id", f"Task {task_id} is not of department {scope.department_id}")
        return
    note = values.get("note") or None
    steps: list[tuple[str, Any]] = []
    plan = values.get("plan")
    if plan is not None and plan != "" and plan != (task.plan or ""):
        steps.append(("plan", plan))
    progress_text = values.get("progress")
    if progress_text:
        try:
            progress = float(progress_text.rstrip("%"))
        except ValueError:
            report.error(line, "progress", f"{progress_text!r} is not a number")
            return
        if not math.isfinite(progress) or not 0 <= progress <= 100:
            report.error(line, "progress", "Progress is a percentage from 0 to 100")
            return
        if abs(progress - task.progress) > PROGRESS_EPSILON:
            steps.append(("progress", progress))
    status = values.get("status")
    # The status as exported means "no change", even when writing the plan moves the task
    # from open to planned on the way.
    if status and status != task.status:
        steps.append(("status", status))
    changed, column = False, "status"
    try:
        async with session.begin_nested():
            for column, value in steps:
                if column == "plan":
                    task = await task_service.write_plan(session, principal, task_id, value)
                elif column == "progress":
                    task = await task_service.set_progress(session, principal, task_id, value, note)
                elif value != task.status:
                    task = await task_service.change_status(
                        session, principal, task_id, value, note
                    )
                else:
                    continue
                changed = True
    except AppError as exc:
        report.error(line, column, exc.detail)
        return
    if changed:
        report.updated += 1
    else:
        report.unchanged += 1


async def import_tasks(
    session: AsyncSession,
    principal: Principal,
    content: bytes,
    *,
    filename: str | None,
    content_type: str | None,
    scope: Scope,
) -> _Import:
    """Apply every row through the task rules; the caller rolls back when there are errors
    (or on a dry run)."""
    report = _Import()
    rows = read_rows(content, filename, content_type)
    try:
        header = next(rows)
    except StopIteration:
        report.error(1, "id", "The file is empty")
        return report
    positions = _header(header, report)
    if positions is None:
        return report
    seen: set[uuid.UUID] = set()
    for line, raw in enumerate(rows, start=2):
        if not any(raw):
            continue  # spreadsheets keep empty rows
        report.rows += 1
        if report.rows > MAX_ROWS:
            report.error(line, "id", f"At most {MAX_ROWS} rows per file")
            break
        values = {name: raw[i] if i < len(raw) else "" for name, i in positions.items()}
        await _apply_row(session, principal, values, line, report, seen, scope)
    return report


@router.post(
    "/import",
    response_model=ImportSummary,
    responses=responses(Unauthorized, Forbidden, ImportRejected, UnreadableFile),
)
async def import_file(
    session: SessionDep,
    principal: OfficeOrDepartment,
    file: Annotated[
        UploadFile | None, File(description="A file of export.csv or export.xlsx, edited")
    ] = None,
    dry_run: Annotated[bool, Query(description="Check every row, write nothing")] = False,
    jurisdiction: Annotated[
        str | None, Query(description="Refuse rows of tasks of any other jurisdiction")
    ] = None,
    department_id: Annotated[
        uuid.UUID | None, Query(description="Refuse rows of tasks of any other department")
    ] = None,
) -> ImportSummary:
    """Re-import an export with `status`, `progress`, `plan` and `note` edited (CSV or XLSX,
    told apart by extension, content type or content). Each row goes through the same rules
    as the single-task routes. The summary counts rows updated and unchanged and lists
    every error by row and column; with any error nothing is written (422, the summary in
    the problem). A department imports its own tasks; the office those of its city.
    Sending the same file twice changes nothing the second time (its rows are unchanged)."""
    check_scope(principal, jurisdiction, department_id)
    if file is None:
        raise UnreadableFile("Send the file as the multipart field `file`", code="file-required")
    content = await file.read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES:
        raise UnreadableFile(f"At most {MAX_BYTES // (1024 * 1024)} MB per file")
    report = await import_tasks(
        session,
        principal,
        content,
        filename=file.filename,
        content_type=file.content_type,
        scope=Scope(jurisdiction, department_id),
    )
    summary = ImportSummary(
        rows=report.rows,
        updated=report.updated,
        unchanged=report.unchanged,
        errors=report.errors,
        dry_run=dry_run,
    )
    if report.errors:
        raise ImportRejected(
            f"{len(report.errors)} error(s) in {report.rows} row(s): nothing was written",
            **summary.model_dump(mode="json"),
        )
    if dry_run:
        # Everything was checked by doing it: undo it all (audit rows and events included).
        await session.rollback()
    return summary

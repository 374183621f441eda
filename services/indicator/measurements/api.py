"""Measurements: bulk import and export for internal systems, one value at a time for
officers, verification for the office, and a change feed for everyone who syncs."""

from __future__ import annotations

import tempfile
import uuid
from typing import IO, Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse, StreamingResponse

from services.common.audit import record_audit
from services.common.auth import AdminOnly, Principal, require_role
from services.common.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
    problem_response,
    responses,
)
from services.common.jurisdictions import DIVISION_CODE_PATTERN, ensure_writable
from services.common.pagination import Page, PageParamsDep
from services.common.routing import Idempotent, SessionDep, TransactionalRoute
from services.indicator.measurements import formats, importer, jobs, schemas
from services.indicator.measurements import service as measurement_service
from services.indicator.measurements.schemas import PERIOD_PATTERN
from services.indicator.models import ImportJob
from services.indicator.schemas import CODE_PATTERN

router = APIRouter(prefix="/v1/measurements", tags=["measurements"], route_class=TransactionalRoute)
dhis2_router = APIRouter(prefix="/v1", tags=["measurements"], route_class=TransactionalRoute)
Reporter = Annotated[Principal, Depends(require_role("admin", "department", "integration"))]
Jurisdiction = Annotated[str, Query(pattern=DIVISION_CODE_PATTERN, examples=["231100"])]
SPOOL_IN_MEMORY = 1 << 20
CONTENT_TYPES = {"json": "application/json", "dhis2": "application/json", "csv": "text/csv"}


class ImportConflicts(Conflict):
    code = "import-conflicts"
    title = "The import was rejected: nothing was written"


async def _spool(request: Request) -> tuple[IO[bytes], int]:
    """The request body in a temporary file (in memory up to 1 MiB), and its size."""
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    size = 0
    async for chunk in request.stream():
        spool.write(chunk)
        size += len(chunk)
    spool.seek(0)
    return spool, size


def _format(request: Request, fmt: formats.Format | None) -> formats.Format:
    if fmt is not None:
        return fmt
    content_type = request.headers.get("content-type", "")
    return "csv" if content_type.startswith(("text/csv", "application/csv")) else "json"


async def _import(
    request: Request,
    session: SessionDep,
    background: BackgroundTasks,
    principal: Principal,
    jurisdiction: str,
    fmt: formats.Format,
    options: importer.Options,
    run_async: bool,
) -> Response:
    ensure_writable(principal, jurisdiction)
    spool, size = await _spool(request)
    settings = request.app.state.settings
    if run_async or size > settings.import_job_threshold_bytes:
        job = await jobs.create_job(session, principal, jurisdiction, fmt, options)
        background.add_task(
            jobs.run_job, request.app.state.db, job.id, principal, spool, fmt, options
        )
        location = f"/v1/measurements/import-jobs/{job.id}"
        return JSONResponse(
            schemas.ImportJob.model_validate(job).model_dump(mode="json"),
            status_code=status.HTTP_202_ACCEPTED,
            headers={"Location": location},
        )
    try:
        summary = await importer.run_import(session, principal, jurisdiction, spool, fmt, options)
    finally:
        spool.close()
    body = summary.as_dict()
    if options.atomic and summary.conflicts_total and not options.dry_run:
        return problem_response(
            request,
            status=ImportConflicts.status,
            code=ImportConflicts.code,
            title=ImportConflicts.title,
            detail=f"{summary.conflicts_total} row(s) conflict; fix them and send the import again",
            summary=body,
        )
    if summary.written:
        await measurement_service.announce_import(session, jurisdiction, summary)
        record_audit(
            session,
            principal,
            action="measurements.imported",
            resource_type="measurements",
            resource_id=f"import:{body['cursor']}",
            jurisdiction_code=jurisdiction,
            after={k: v for k, v in body.items() if k != "conflicts"},
        )
    return JSONResponse(body)


IMPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    **responses(Unauthorized, Forbidden, ImportConflicts, formats.InvalidImportFile),
    200: {"model": schemas.ImportSummary, "description": "The import summary"},
    202: {"model": schemas.ImportJob, "description": "A large import, running as a job"},
}


@router.post("/import", dependencies=[Idempotent], responses=IMPORT_RESPONSES, response_model=None)
async def import_measurements(
    request: Request,
    session: SessionDep,
    background: BackgroundTasks,
    principal: Reporter,
    jurisdiction: Jurisdiction,
    fmt: Annotated[
        formats.Format | None,
        Query(alias="format", description="json (ours), csv or dhis2; default from Content-Type"),
    ] = None,
    strategy: Annotated[importer.Strategy, Query(alias="importStrategy")] = "CREATE_AND_UPDATE",
    dry_run: Annotated[bool, Query(alias="dryRun")] = False,
    atomic: bool = True,
    run_async: Annotated[bool, Query(alias="async")] = False,
) -> Response:
    """Bulk import: our JSON `{"measurements": [...]}`, CSV, or DHIS2 `dataValueSets`.

    Idempotent by the natural key (indicator, department, period): sending the same file
    again changes nothing. `dryRun` reports what would happen; `atomic` (default) writes
    nothing if any row conflicts (409 with the summary). Large files (or `async=true`) run
    as a job: 202 and a `Location` to poll.
    """
    options = importer.Options(strategy=strategy, dry_run=dry_run, atomic=atomic)
    return await _import(
        request,
        session,
        background,
        principal,
        jurisdiction,
        _format(request, fmt),
        options,
        run_async,
    )


@dhis2_router.post(
    "/dataValueSets", dependencies=[Idempotent], responses=IMPORT_RESPONSES, response_model=None
)
async def import_data_value_sets(
    request: Request,
    session: SessionDep,
    background: BackgroundTasks,
    principal: Reporter,
    jurisdiction: Jurisdiction,
    strategy: Annotated[importer.Strategy, Query(alias="importStrategy")] = "CREATE_AND_UPDATE",
    dry_run: Annotated[bool, Query(alias="dryRun")] = False,
    atomic: bool = True,
    run_async: Annotated[bool, Query(alias="async")] = False,
) -> Response:
    """DHIS2-compatible: the same import for a `dataValueSets` JSON body (codes as ids)."""
    options = importer.Options(strategy=strategy, dry_run=dry_run, atomic=atomic)
    return await _import(
        request, session, background, principal, jurisdiction, "dhis2", options, run_async
    )


@router.get(
    "/import-jobs/{job_id}", response_model=schemas.ImportJob, responses=responses(NotFound)
)
async def get_import_job(
    session: SessionDep, principal: Reporter, job_id: uuid.UUID
) -> schemas.ImportJob:
    """A job's progress (rows done of the total) and, once finished, its summary."""
    job = await session.get(ImportJob, job_id)
    if job is None or not principal.may_access(job.jurisdiction_code):
        raise NotFound(f"Import job {job_id} not found")
    if principal.role != "admin" and job.created_by != principal.subject:
        raise NotFound(f"Import job {job_id} not found")
    view = schemas.ImportJob.model_validate(job)
    return view.model_copy(update={"rows_done": jobs.rows_done(job)})


@router.get("/export", responses=responses(Unauthorized, Forbidden), response_model=None)
async def export_measurements(
    request: Request,
    principal: Reporter,
    jurisdiction: Jurisdiction,
    fmt: Annotated[formats.Format, Query(alias="format")] = "json",
    department_id: uuid.UUID | None = None,
    indicator: Annotated[str | None, Query(pattern=CODE_PATTERN)] = None,
    period: Annotated[str | None, Query(pattern=PERIOD_PATTERN)] = None,
) -> Response:
    """The current values in exactly the format the import takes: re-importing an export
    changes nothing."""
    ensure_writable(principal, jurisdiction)
    # Checked here: once the response streams, a refusal could only cut it short.
    department_id = measurement_service.department_filter(principal, department_id)
    records = measurement_service.export_records(
        request.app.state.db,
        jurisdiction,
        department_id=department_id,
        indicator=indicator,
        period=period,
    )
    extension = "csv" if fmt == "csv" else "json"
    return StreamingResponse(
        formats.write(records, fmt),
        media_type=CONTENT_TYPES[fmt] + ("; charset=utf-8" if fmt == "csv" else ""),
        headers={
            "Content-Disposition": f'attachment; filename="measurements-{jurisdiction}.{extension}"'
        },
    )


@router.get(
    "",
    response_model=Page[schemas.Measurement] | schemas.ChangeFeedPage,
    responses=responses(Unauthorized, Forbidden),
)
async def list_measurements(
    session: SessionDep,
    principal: Reporter,
    page: PageParamsDep,
    changed_since: Annotated[
        str | None,
        Query(
            description="A change-feed cursor ('0' from the start): every change after it, "
            "in commit order, deletions included"
        ),
    ] = None,
    jurisdiction: Annotated[str | None, Query(pattern=DIVISION_CODE_PATTERN)] = None,
    department_id: uuid.UUID | None = None,
    indicator: Annotated[str | None, Query(pattern=CODE_PATTERN)] = None,
    period: Annotated[str | None, Query(pattern=PERIOD_PATTERN)] = None,
    status: schemas.Status | None = None,
    flagged: bool | None = None,
) -> Page[schemas.Measurement] | schemas.ChangeFeedPage:
    """Values of your jurisdictions (officers and internal systems: their department's), or
    with `changed_since` the change feed to sync incrementally."""
    if changed_since is not None:
        rows, cursor = await measurement_service.change_feed(
            session, principal, changed_since, page.limit, jurisdiction=jurisdiction
        )
        return schemas.ChangeFeedPage(
            items=[schemas.Measurement.model_validate(r) for r in rows], next_cursor=cursor
        )
    rows, next_cursor = await measurement_service.list_measurements(
        session,
        principal,
        page,
        jurisdiction=jurisdiction,
        department_id=department_id,
        indicator=indicator,
        period=period,
        status=status,
        flagged=flagged,
    )
    return Page(
        items=[schemas.Measurement.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.Measurement,
    dependencies=[Idempotent],
    responses=responses(
        Unauthorized,
        Forbidden,
        measurement_service.MeasurementExists,
        measurement_service.InvalidMeasurement,
    ),
)
async def create_measurement(
    session: SessionDep, principal: Reporter, body: schemas.MeasurementCreate
) -> schemas.Measurement:
    """Report one value (officers: for their own department)."""
    row = await measurement_service.create_measurement(session, principal, body)
    return schemas.Measurement.model_validate(row)


@router.get(
    "/{measurement_id}",
    response_model=schemas.Measurement,
    responses=responses(Unauthorized, Forbidden, NotFound),
)
async def get_measurement(
    session: SessionDep, principal: Reporter, measurement_id: uuid.UUID
) -> schemas.Measurement:
    return schemas.Measurement.model_validate(
        await measurement_service.get_measurement(session, principal, measurement_id)
    )


@router.patch(
    "/{measurement_id}",
    response_model=schemas.Measurement,
    responses=responses(Unauthorized, Forbidden, NotFound, measurement_service.MeasurementLocked),
)
async def update_measurement(
    session: SessionDep,
    principal: Reporter,
    measurement_id: uuid.UUID,
    body: schemas.MeasurementUpdate,
) -> schemas.Measurement:
    """Correct a value; it goes back to `submitted` for verification."""
    row = await measurement_service.update_measurement(session, principal, measurement_id, body)
    return schemas.Measurement.model_validate(row)


@router.delete(
    "/{measurement_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(Unauthorized, Forbidden, NotFound, measurement_service.MeasurementLocked),
)
async def delete_measurement(
    session: SessionDep, principal: Reporter, measurement_id: uuid.UUID
) -> Response:
    await measurement_service.delete_measurement(session, principal, measurement_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


WORKFLOW_ERRORS = responses(Unauthorized, Forbidden, NotFound, measurement_service.WrongStatus)


@router.post(
    "/{measurement_id}/verify", response_model=schemas.Measurement, responses=WORKFLOW_ERRORS
)
async def verify_measurement(
    session: SessionDep, principal: AdminOnly, measurement_id: uuid.UUID
) -> schemas.Measurement:
    """Accept a submitted value; verified values are locked."""
    return schemas.Measurement.model_validate(
        await measurement_service.review(session, principal, measurement_id, verdict="verified")
    )


@router.post(
    "/{measurement_id}/return", response_model=schemas.Measurement, responses=WORKFLOW_ERRORS
)
async def return_measurement(
    session: SessionDep, principal: AdminOnly, measurement_id: uuid.UUID, body: schemas.Reason
) -> schemas.Measurement:
    """Send a submitted value back to its department, saying why."""
    return schemas.Measurement.model_validate(
        await measurement_service.review(
            session, principal, measurement_id, verdict="returned", reason=body.reason
        )
    )


@router.post(
    "/{measurement_id}/unlock", response_model=schemas.Measurement, responses=WORKFLOW_ERRORS
)
async def unlock_measurement(
    session: SessionDep, principal: AdminOnly, measurement_id: uuid.UUID, body: schemas.Reason
) -> schemas.Measurement:
    """Reopen a verified value for correction; the reason is kept in the audit log."""
    return schemas.Measurement.model_validate(
        await measurement_service.unlock(session, principal, measurement_id, body.reason)
    )


@router.post(
    "/{measurement_id}/flag", response_model=schemas.Measurement, responses=WORKFLOW_ERRORS
)
async def flag_measurement(
    session: SessionDep, principal: AdminOnly, measurement_id: uuid.UUID, body: schemas.Reason
) -> schemas.Measurement:
    """Mark a value for follow-up."""
    return schemas.Measurement.model_validate(
        await measurement_service.set_flag(
            session, principal, measurement_id, flagged=True, reason=body.reason
        )
    )


@router.delete(
    "/{measurement_id}/flag", response_model=schemas.Measurement, responses=WORKFLOW_ERRORS
)
async def unflag_measurement(
    session: SessionDep, principal: AdminOnly, measurement_id: uuid.UUID
) -> schemas.Measurement:
    return schemas.Measurement.model_validate(
        await measurement_service.set_flag(
            session, principal, measurement_id, flagged=False, reason=None
        )
    )

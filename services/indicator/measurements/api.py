"""Measurements: bulk import and export for internal systems, one value at a time for
officers, verification for the office, and a change feed for everyone who syncs."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse, StreamingResponse

from services.common.auth import AdminOnly, Principal, require_role
from services.common.errors import Forbidden, NotFound, Unauthorized, Unprocessable, responses
from services.common.jurisdictions import DIVISION_CODE_PATTERN
from services.common.pagination import MAX_LIMIT, Page, PageParamsDep
from services.common.routing import Idempotent, SessionDep, TransactionalRoute
from services.indicator.measurements import dhis2, formats, importer, imports, jobs, schemas
from services.indicator.measurements import service as measurement_service
from services.indicator.measurements.schemas import PERIOD_PATTERN
from services.indicator.models import ImportJob
from services.indicator.schemas import CODE_PATTERN


class Dhis2Route(TransactionalRoute):
    """DHIS2 answers an import that wrote its good values and ignored the others with 409 and
    status WARNING. The edge commits only what a 2xx answer describes, so that answer leaves
    the endpoint as 200 and takes DHIS2's status (the body's `httpStatusCode`) once the
    transaction has committed; a replay of its Idempotency-Key is given the same."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            response = await handler(request)
            if response.status_code == status.HTTP_200_OK and response.headers.get(
                "content-type", ""
            ).startswith("application/json"):
                try:
                    code = json.loads(bytes(response.body)).get("httpStatusCode")
                except (ValueError, AttributeError):
                    return response
                if code == status.HTTP_409_CONFLICT:
                    response.status_code = code
            return response

        return answer


router = APIRouter(prefix="/v1/measurements", tags=["measurements"], route_class=TransactionalRoute)
dhis2_router = APIRouter(prefix="/v1", tags=["measurements"], route_class=Dhis2Route)
Reporter = Annotated[Principal, Depends(require_role("admin", "department", "integration"))]
Jurisdiction = Annotated[str, Query(pattern=DIVISION_CODE_PATTERN, examples=["231100"])]
Strategy = Annotated[importer.Strategy, Query(alias="importStrategy")]
DryRun = Annotated[bool, Query(alias="dryRun", description="Report what would happen")]
Atomic = Annotated[bool, Query(description="Any conflict writes nothing (default)")]
RunAsync = Annotated[bool, Query(alias="async", description="Run as a job whatever the size")]
CONTENT_TYPES = {"json": "application/json", "dhis2": "application/json", "csv": "text/csv"}


async def _runner(request: Request, background: BackgroundTasks) -> imports.Runner:
    return imports.Runner(
        db=request.app.state.db,
        schedule=background.add_task,
        job_threshold_bytes=request.app.state.settings.import_job_threshold_bytes,
    )


RunnerDep = Annotated[imports.Runner, Depends(_runner)]


def _format(request: Request, fmt: formats.Format | None) -> formats.Format:
    if fmt is not None:
        return fmt
    content_type = request.headers.get("content-type", "")
    return "csv" if content_type.startswith(("text/csv", "application/csv")) else "json"


def _job_accepted(job: ImportJob) -> JSONResponse:
    return JSONResponse(
        schemas.ImportJob.model_validate(job).model_dump(mode="json"),
        status_code=status.HTTP_202_ACCEPTED,
        headers={"Location": f"/v1/measurements/import-jobs/{job.id}"},
    )


def _ref(model: type[Any]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


CSV_BODY = {"schema": {"type": "string", "description": schemas.CSV_DESCRIPTION}}
JOB_RESPONSE = {"model": schemas.ImportJob, "description": "A large import, running as a job"}
IMPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    **responses(Unauthorized, Forbidden, imports.ImportConflicts, formats.InvalidImportFile),
    200: {"model": schemas.ImportSummary, "description": "The import summary"},
    202: JOB_RESPONSE,
}
IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _ref(schemas.MeasurementsJson)},
            "text/csv": CSV_BODY,
        },
    }
}


@router.post(
    "/import",
    dependencies=[Idempotent],
    responses=IMPORT_RESPONSES,
    response_model=None,
    openapi_extra=IMPORT_BODY,
)
async def import_measurements(
    request: Request,
    session: SessionDep,
    runner: RunnerDep,
    principal: Reporter,
    jurisdiction: Jurisdiction,
    fmt: Annotated[
        formats.Format | None,
        Query(alias="format", description="json (ours), csv or dhis2; default from Content-Type"),
    ] = None,
    strategy: Strategy = "CREATE_AND_UPDATE",
    dry_run: DryRun = False,
    atomic: Atomic = True,
    run_async: RunAsync = False,
) -> Response:
    """Bulk import: our JSON `{"measurements": [...]}`, CSV, or DHIS2 `dataValueSets`.

    Idempotent by the natural key (indicator, department, period): sending the same file
    again changes nothing. `dryRun` reports what would happen; `atomic` (default) writes
    nothing if any row conflicts (409 with the summary). Large files (or `async=true`) run
    as a job: 202 and a `Location` to poll.
    """
    outcome = await imports.import_measurements(
        session,
        principal,
        jurisdiction,
        request.stream(),
        _format(request, fmt),
        importer.Options(strategy=strategy, dry_run=dry_run, atomic=atomic),
        run_async=run_async,
        runner=runner,
    )
    if isinstance(outcome, ImportJob):
        return _job_accepted(outcome)
    return JSONResponse(outcome.as_dict())


@dhis2_router.post(
    "/dataValueSets",
    dependencies=[Idempotent],
    response_model=None,
    responses={
        **responses(Unauthorized, Forbidden, formats.InvalidImportFile),
        200: {"model": dhis2.Dhis2WebMessage, "description": "Imported (DHIS2 status OK)"},
        202: JOB_RESPONSE,
        409: {
            "model": dhis2.Dhis2WebMessage,
            "description": "WARNING: conflicting values ignored, the others written; or "
            "ERROR: rejected, nothing written",
        },
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ref(schemas.Dhis2DataValueSet)}},
        }
    },
)
async def import_data_value_sets(
    request: Request,
    session: SessionDep,
    runner: RunnerDep,
    principal: Reporter,
    jurisdiction: Jurisdiction,
    strategy: Strategy = "CREATE_AND_UPDATE",
    dry_run: DryRun = False,
    atomic: Atomic = True,
    run_async: RunAsync = False,
) -> Response:
    """DHIS2-compatible: the same import for a `dataValueSets` JSON body (codes as ids),
    answered as DHIS2 2.38+ answers (a web message around an `ImportSummary`)."""
    outcome = await imports.import_data_value_set(
        session,
        principal,
        jurisdiction,
        request.stream(),
        importer.Options(strategy=strategy, dry_run=dry_run, atomic=atomic),
        run_async=run_async,
        runner=runner,
    )
    if isinstance(outcome, ImportJob):
        return _job_accepted(outcome)
    # An ERROR wrote nothing: 409 now, and the edge rolls back. A WARNING wrote its good
    # values: 200 here, so the edge commits, and 409 on the way out (Dhis2Route).
    return JSONResponse(
        outcome.model_dump(mode="json", exclude_none=True),
        status_code=status.HTTP_409_CONFLICT if outcome.status == "ERROR" else status.HTTP_200_OK,
    )


@router.get(
    "/import-jobs/{job_id}", response_model=schemas.ImportJob, responses=responses(NotFound)
)
async def get_import_job(
    session: SessionDep, principal: Reporter, job_id: uuid.UUID
) -> schemas.ImportJob:
    """A job's progress (rows done of the total) and, once finished, its summary."""
    return await jobs.get_job(session, principal, job_id)


@router.get(
    "/export",
    response_model=None,
    responses={
        **responses(Unauthorized, Forbidden),
        200: {
            "description": "The values: `format=json` our JSON, `dhis2` a DHIS2 dataValueSet, "
            "`csv` CSV (as a download)",
            "model": schemas.MeasurementsJson,
            "content": {"text/csv": CSV_BODY},
        },
    },
)
async def export_measurements(
    request: Request,
    principal: Reporter,
    jurisdiction: Jurisdiction,
    fmt: Annotated[formats.Format, Query(alias="format")] = "json",
    department_id: uuid.UUID | None = None,
    indicator: Annotated[str | None, Query(pattern=CODE_PATTERN)] = None,
    period: Annotated[str | None, Query(pattern=PERIOD_PATTERN)] = None,
    year: Annotated[
        int | None, Query(ge=2000, le=2100, description="Values of periods within this year")
    ] = None,
    status: Annotated[
        schemas.Status | None, Query(description="Only values in this review status")
    ] = None,
) -> Response:
    """The current values in exactly the format the import takes: re-importing an export
    changes nothing."""
    text = measurement_service.export(
        request.app.state.db,
        principal,
        jurisdiction,
        fmt,
        department_id=department_id,
        indicator=indicator,
        period=period,
        year=year,
        status=status,
    )
    extension = "csv" if fmt == "csv" else "json"
    return StreamingResponse(
        text,
        media_type=CONTENT_TYPES[fmt] + ("; charset=utf-8" if fmt == "csv" else ""),
        headers={
            "Content-Disposition": f'attachment; filename="measurements-{jurisdiction}.{extension}"'
        },
    )


@router.get(
    "",
    response_model=Page[schemas.Measurement] | schemas.ChangeFeedPage,
    responses=responses(Unauthorized, Forbidden, Unprocessable),
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
    department_ids: Annotated[
        list[uuid.UUID] | None,
        Query(max_length=100, description="With `latest`: repeat for each department (≤100)"),
    ] = None,
    latest: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_LIMIT,
            description="Batch read: each of `department_ids`' this many most recently "
            "changed values, newest first, in one unpaginated answer",
        ),
    ] = None,
) -> Page[schemas.Measurement] | schemas.ChangeFeedPage:
    """Values of your jurisdictions (officers and internal systems: their department's), or
    with `changed_since` the change feed to sync incrementally, or with `latest` and
    `department_ids` the latest values of a batch of departments."""
    if latest is not None or department_ids is not None:
        if latest is None or not department_ids:
            raise Unprocessable(
                "latest and department_ids go together", code="latest-needs-departments"
            )
        rows = await measurement_service.latest_by_department(
            session, principal, department_ids, latest
        )
        return Page(items=[schemas.Measurement.model_validate(r) for r in rows], next_cursor=None)
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

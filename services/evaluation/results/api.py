"""Scoring, finalizing and reading a cycle's results."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from services.common.auth import AdminOnly, Principal, require_role
from services.common.errors import Forbidden, NotFound, Unauthorized, responses
from services.common.routing import SessionDep, TransactionalRoute
from services.evaluation.cycles import schemas as cycle_schemas
from services.evaluation.cycles import service as cycle_service
from services.evaluation.results import schemas
from services.evaluation.results import service as result_service
from services.evaluation.results.inputs import UpstreamUnavailable

router = APIRouter(prefix="/v1/cycles/{cycle_id}", tags=["results"], route_class=TransactionalRoute)

Version = Annotated[
    int | None, Query(ge=1, le=100_000, description="A result version; the latest when absent")
]
READ_ERRORS = responses(Unauthorized, Forbidden, NotFound, result_service.NotScoredYet)
# The office sees every result; a department officer its own, from the preliminary stage on.
ResultReader = Annotated[Principal, Depends(require_role("admin", "department"))]


@router.post(
    "/score",
    response_model=cycle_schemas.Cycle,
    responses=responses(
        Unauthorized, Forbidden, NotFound, cycle_service.InvalidTransition, UpstreamUnavailable
    ),
)
async def score_cycle(
    request: Request, session: SessionDep, principal: AdminOnly, cycle_id: uuid.UUID
) -> cycle_schemas.Cycle:
    """Score a closed cycle: quality checks on the ratings, verified measurements from the
    indicator service, every group, ranks and grades; a new preliminary result version opens
    the appeal window (a preliminary cycle may be re-scored: another version)."""
    cycle = await result_service.score(
        session,
        principal,
        cycle_id,
        http=request.app.state.http,
        indicator_url=request.app.state.settings.indicator_url.rstrip("/"),
        authorization=request.headers.get("authorization"),
    )
    return cycle_schemas.Cycle.model_validate(cycle)


@router.post(
    "/finalize",
    response_model=cycle_schemas.Cycle,
    responses=responses(
        Unauthorized,
        Forbidden,
        NotFound,
        cycle_service.InvalidTransition,
        cycle_service.AppealWindowOpen,
    ),
)
async def finalize_cycle(
    session: SessionDep, principal: AdminOnly, cycle_id: uuid.UUID
) -> cycle_schemas.Cycle:
    """Make the latest preliminary results final once the appeal window has closed (409
    before); `results.finalized` goes to disclosure, feedback and subscribers."""
    return cycle_schemas.Cycle.model_validate(
        await result_service.finalize(session, principal, cycle_id)
    )


@router.get("/results", response_model=schemas.ResultList, responses=READ_ERRORS)
async def list_results(
    session: SessionDep, principal: ResultReader, cycle_id: uuid.UUID, version: Version = None
) -> schemas.ResultList:
    """Every department's total, rank and grade (a department officer: its own), by rank."""
    cycle, chosen, rows = await result_service.list_results(session, principal, cycle_id, version)
    computed_at = rows[0].computed_at if rows else None
    changed = cycle.measurements_changed_at
    return schemas.ResultList(
        cycle_id=cycle.id,
        status=cycle.status,
        version=chosen,
        computed_at=computed_at,
        measurements_changed_at=changed,
        stale=bool(changed and computed_at and changed > computed_at),
        results=[schemas.result_of(r) for r in rows],
    )


@router.get("/result-versions", response_model=list[schemas.ResultVersion], responses=READ_ERRORS)
async def list_result_versions(
    session: SessionDep, principal: ResultReader, cycle_id: uuid.UUID
) -> list[schemas.ResultVersion]:
    """Every scoring of the cycle, kept: why it ran and the digest of its inputs."""
    rows = await result_service.list_versions(session, principal, cycle_id)
    return [schemas.ResultVersion.model_validate(r, from_attributes=True) for r in rows]


@router.get("/results/{department_id}", response_model=schemas.Result, responses=READ_ERRORS)
async def get_result(
    session: SessionDep,
    principal: ResultReader,
    cycle_id: uuid.UUID,
    department_id: uuid.UUID,
    version: Version = None,
) -> schemas.Result:
    _, _, row = await result_service.get_result(
        session, principal, cycle_id, department_id, version, with_breakdown=False
    )
    return schemas.result_of(row)


@router.get(
    "/results/{department_id}/breakdown", response_model=schemas.Breakdown, responses=READ_ERRORS
)
async def get_breakdown(
    session: SessionDep,
    principal: ResultReader,
    cycle_id: uuid.UUID,
    department_id: uuid.UUID,
    version: Version = None,
) -> schemas.Breakdown:
    """Why the department scored what it did: indicator → dimension → group → total, each
    node with its inputs, rule and parameters, weight and points."""
    _, chosen, row = await result_service.get_result(
        session, principal, cycle_id, department_id, version, with_breakdown=True
    )
    return schemas.Breakdown(
        cycle_id=row.cycle_id,
        version=chosen,
        department_id=row.department_id,
        total=row.total,
        breakdown=row.breakdown,
    )

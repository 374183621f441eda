"""Assignments (the office names evaluators) and scorecards (the evaluators fill them)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from services.common.auth import AdminOnly, CurrentPrincipal
from services.common.errors import Forbidden, NotFound, Unauthorized, responses
from services.common.pagination import Page, PageParamsDep, page_of
from services.common.routing import SessionDep, TransactionalRoute
from services.evaluation.cycles import service as cycle_service
from services.evaluation.scorecards import schemas
from services.evaluation.scorecards import service as scorecard_service

router = APIRouter(tags=["assignments and scorecards"], route_class=TransactionalRoute)
ASSIGN_ERRORS = (
    Unauthorized,
    Forbidden,
    NotFound,
    scorecard_service.AssignmentsClosed,
    scorecard_service.InvalidAssignments,
    scorecard_service.ConflictOfInterest,
    scorecard_service.AssignmentExists,
)


@router.get(
    "/v1/cycles/{cycle_id}/assignments",
    response_model=Page[schemas.Assignment],
    responses=responses(Unauthorized, Forbidden, NotFound),
)
async def list_assignments(
    session: SessionDep,
    principal: AdminOnly,
    cycle_id: uuid.UUID,
    page: PageParamsDep,
    group_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
    evaluator_subject: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[schemas.Assignment]:
    """Who rates which department of the cycle."""
    rows, next_cursor = await scorecard_service.list_assignments(
        session,
        principal,
        cycle_id,
        page,
        group_id=group_id,
        department_id=department_id,
        evaluator_subject=evaluator_subject,
    )
    return page_of(schemas.Assignment, rows, next_cursor)


@router.post(
    "/v1/cycles/{cycle_id}/assignments",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.Assignment,
    responses=responses(*ASSIGN_ERRORS),
)
async def create_assignment(
    session: SessionDep, principal: AdminOnly, cycle_id: uuid.UUID, body: schemas.AssignmentCreate
) -> schemas.Assignment:
    """Assign an evaluator a department to rate for a scorecard group (draft or open cycle)."""
    [row] = await scorecard_service.create_assignments(session, principal, cycle_id, [body])
    return schemas.Assignment.model_validate(row)


@router.post(
    "/v1/cycles/{cycle_id}/assignments/batch",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.AssignmentList,
    responses=responses(*ASSIGN_ERRORS),
)
async def create_assignments(
    session: SessionDep, principal: AdminOnly, cycle_id: uuid.UUID, body: schemas.AssignmentBatch
) -> schemas.AssignmentList:
    """Up to 500 assignments at once, all or none: a refusal lists each offending item's
    index and code under `problems`."""
    rows = await scorecard_service.create_assignments(
        session, principal, cycle_id, body.assignments
    )
    return schemas.AssignmentList(items=[schemas.Assignment.model_validate(r) for r in rows])


@router.get(
    "/v1/my/assignments",
    response_model=Page[schemas.MyAssignment],
    responses=responses(Unauthorized),
)
async def list_my_assignments(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageParamsDep,
    cycle_id: uuid.UUID | None = None,
) -> Page[schemas.MyAssignment]:
    """The departments you are asked to rate (by your token's subject), and which are done."""
    items, next_cursor = await scorecard_service.my_assignments(
        session, principal, page, cycle_id=cycle_id
    )
    return Page(items=items, next_cursor=next_cursor)


@router.get(
    "/v1/assignments/{assignment_id}",
    response_model=schemas.Assignment,
    responses=responses(Unauthorized, scorecard_service.NotYourAssignment, NotFound),
)
async def get_assignment(
    session: SessionDep, principal: CurrentPrincipal, assignment_id: uuid.UUID
) -> schemas.Assignment:
    """For the office's admins and the assigned evaluator."""
    row = await scorecard_service.get_assignment(session, principal, assignment_id)
    return schemas.Assignment.model_validate(row)


@router.delete(
    "/v1/assignments/{assignment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(
        Unauthorized,
        Forbidden,
        NotFound,
        scorecard_service.AssignmentsClosed,
        scorecard_service.AssignmentHasScorecard,
    ),
)
async def delete_assignment(
    session: SessionDep, principal: AdminOnly, assignment_id: uuid.UUID
) -> Response:
    """Withdraw an assignment that has no scorecard yet."""
    await scorecard_service.delete_assignment(session, principal, assignment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/v1/assignments/{assignment_id}/scorecard",
    response_model=schemas.Scorecard,
    responses=responses(
        Unauthorized,
        scorecard_service.NotYourAssignment,
        NotFound,
        cycle_service.CycleNotOpen,
        scorecard_service.InvalidScorecard,
    ),
)
async def submit_scorecard(
    session: SessionDep,
    principal: CurrentPrincipal,
    assignment_id: uuid.UUID,
    body: schemas.ScorecardSubmit,
) -> schemas.Scorecard:
    """Your scores for the assigned department, one per dimension of the group (null for
    "don't know"), while the cycle is open. Sending again replaces them."""
    row = await scorecard_service.submit_scorecard(session, principal, assignment_id, body)
    return schemas.Scorecard.model_validate(row)


@router.get(
    "/v1/assignments/{assignment_id}/scorecard",
    response_model=schemas.Scorecard,
    responses=responses(
        Unauthorized, scorecard_service.NotYourAssignment, scorecard_service.ScorecardNotSubmitted
    ),
)
async def get_scorecard(
    session: SessionDep, principal: CurrentPrincipal, assignment_id: uuid.UUID
) -> schemas.Scorecard:
    """For the office's admins and the assigned evaluator."""
    row = await scorecard_service.get_scorecard(session, principal, assignment_id)
    return schemas.Scorecard.model_validate(row)


@router.get(
    "/v1/cycles/{cycle_id}/scorecards",
    response_model=Page[schemas.Scorecard],
    responses=responses(Unauthorized, Forbidden, NotFound),
)
async def list_scorecards(
    session: SessionDep,
    principal: AdminOnly,
    cycle_id: uuid.UUID,
    page: PageParamsDep,
    group_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
) -> Page[schemas.Scorecard]:
    """Every submitted scorecard of the cycle."""
    rows, next_cursor = await scorecard_service.list_scorecards(
        session, principal, cycle_id, page, group_id=group_id, department_id=department_id
    )
    return page_of(schemas.Scorecard, rows, next_cursor)


@router.get(
    "/v1/cycles/{cycle_id}/scorecards/progress",
    response_model=schemas.Progress,
    responses=responses(Unauthorized, Forbidden, NotFound),
)
async def scorecard_progress(
    session: SessionDep, principal: AdminOnly, cycle_id: uuid.UUID
) -> schemas.Progress:
    """Per scorecard group: assignments made and scorecards submitted."""
    return await scorecard_service.progress(session, principal, cycle_id)

"""Evaluator groups of a cycle: listed and created under the cycle, changed by their own id;
all of it only while the cycle is a draft."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from services.common.auth import AdminOnly, CurrentPrincipal
from services.common.errors import Forbidden, NotFound, Unauthorized, responses
from services.common.routing import SessionDep, TransactionalRoute
from services.evaluation.cycles import service as cycle_service
from services.evaluation.groups import schemas
from services.evaluation.groups import service as group_service

router = APIRouter(tags=["evaluator groups"], route_class=TransactionalRoute)
WRITE_ERRORS = (Unauthorized, Forbidden, NotFound, cycle_service.CycleNotDraft)


@router.get(
    "/v1/cycles/{cycle_id}/groups",
    response_model=schemas.GroupList,
    responses=responses(Unauthorized, NotFound),
)
async def list_groups(
    session: SessionDep, principal: CurrentPrincipal, cycle_id: uuid.UUID
) -> schemas.GroupList:
    """The cycle's evaluator groups, their weights' sum and whether it is 100."""
    return await group_service.list_groups(session, principal, cycle_id)


@router.post(
    "/v1/cycles/{cycle_id}/groups",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.EvaluatorGroup,
    responses=responses(
        *WRITE_ERRORS,
        group_service.GroupCodeTaken,
        group_service.CitizenGroupExists,
        group_service.TooManyGroups,
        group_service.UnknownQuestionnaire,
    ),
)
async def create_group(
    session: SessionDep, principal: AdminOnly, cycle_id: uuid.UUID, body: schemas.GroupCreate
) -> schemas.EvaluatorGroup:
    """Add a group to a draft cycle: scorecard kinds with their dimensions, the citizen group
    with its questionnaire, the objective group with neither."""
    group = await group_service.create_group(session, principal, cycle_id, body)
    return schemas.EvaluatorGroup.model_validate(group)


@router.get(
    "/v1/groups/{group_id}",
    response_model=schemas.EvaluatorGroup,
    responses=responses(Unauthorized, NotFound),
)
async def get_group(
    session: SessionDep, principal: CurrentPrincipal, group_id: uuid.UUID
) -> schemas.EvaluatorGroup:
    return schemas.EvaluatorGroup.model_validate(
        await group_service.get_group(session, principal, group_id)
    )


@router.patch(
    "/v1/groups/{group_id}",
    response_model=schemas.EvaluatorGroup,
    responses=responses(
        *WRITE_ERRORS,
        group_service.GroupCodeTaken,
        group_service.UnknownQuestionnaire,
        group_service.InvalidGroup,
    ),
)
async def update_group(
    session: SessionDep, principal: AdminOnly, group_id: uuid.UUID, body: schemas.GroupUpdate
) -> schemas.EvaluatorGroup:
    group = await group_service.update_group(session, principal, group_id, body)
    return schemas.EvaluatorGroup.model_validate(group)


@router.delete(
    "/v1/groups/{group_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(*WRITE_ERRORS),
)
async def delete_group(session: SessionDep, principal: AdminOnly, group_id: uuid.UUID) -> Response:
    await group_service.delete_group(session, principal, group_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

"""Evaluation cycles: drafts set up by the office, opened and closed by explicit calls."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from services.common.auth import AdminOnly, CurrentPrincipal
from services.common.errors import Forbidden, NotFound, Unauthorized, responses
from services.common.pagination import Page, PageParamsDep, page_of
from services.common.routing import SessionDep, TransactionalRoute
from services.evaluation.cycles import schemas
from services.evaluation.cycles import service as cycle_service
from services.evaluation.schemas import CATEGORY_PATTERN, PERIOD_PATTERN
from services.evaluation.systems import service as system_service
from services.evaluation.systems.indicator import IndicatorClient, UpstreamUnavailable

router = APIRouter(prefix="/v1/cycles", tags=["cycles"], route_class=TransactionalRoute)
# What naming (or binding) an indicator system may answer.
SYSTEM_ERRORS = (
    system_service.UnknownSystem,
    system_service.SystemNotPublished,
    system_service.SystemMismatch,
    UpstreamUnavailable,
)


@router.get("", response_model=Page[schemas.Cycle], responses=responses(Unauthorized))
async def list_cycles(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageParamsDep,
    jurisdiction: str | None = None,
    status: schemas.CycleStatus | None = None,
    period: Annotated[str | None, Query(pattern=PERIOD_PATTERN)] = None,
    category: Annotated[str | None, Query(pattern=CATEGORY_PATTERN, max_length=64)] = None,
) -> Page[schemas.Cycle]:
    """Evaluation cycles of your jurisdictions."""
    rows, next_cursor = await cycle_service.list_cycles(
        session,
        principal,
        page,
        jurisdiction=jurisdiction,
        status=status,
        period=period,
        category=category,
    )
    return page_of(schemas.Cycle, rows, next_cursor)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.Cycle,
    responses=responses(Unauthorized, Forbidden, cycle_service.CycleCodeTaken, *SYSTEM_ERRORS),
)
async def create_cycle(
    request: Request, session: SessionDep, principal: AdminOnly, body: schemas.CycleCreate
) -> schemas.Cycle:
    """Create a draft cycle (admins of its jurisdiction). A named `system_id` must be a
    published version of the cycle's category (fetched from the indicator service if this
    service has not received it)."""
    indicator = IndicatorClient.for_request(request)
    cycle = await cycle_service.create_cycle(session, principal, body, indicator)
    return schemas.Cycle.model_validate(cycle)


@router.get(
    "/{cycle_id}", response_model=schemas.Cycle, responses=responses(Unauthorized, NotFound)
)
async def get_cycle(
    session: SessionDep, principal: CurrentPrincipal, cycle_id: uuid.UUID
) -> schemas.Cycle:
    return schemas.Cycle.model_validate(await cycle_service.get_cycle(session, principal, cycle_id))


@router.patch(
    "/{cycle_id}",
    response_model=schemas.Cycle,
    responses=responses(
        Unauthorized,
        Forbidden,
        NotFound,
        cycle_service.CycleNotDraft,
        *SYSTEM_ERRORS,
    ),
)
async def update_cycle(
    request: Request,
    session: SessionDep,
    principal: AdminOnly,
    cycle_id: uuid.UUID,
    body: schemas.CycleUpdate,
) -> schemas.Cycle:
    """Rename a cycle; while it is a draft, change its period, category, system, appeal days
    or rules. Its status moves only through `open` and `close`."""
    indicator = IndicatorClient.for_request(request)
    cycle = await cycle_service.update_cycle(session, principal, cycle_id, body, indicator)
    return schemas.Cycle.model_validate(cycle)


@router.post(
    "/{cycle_id}/open",
    response_model=schemas.Cycle,
    responses=responses(
        Unauthorized,
        Forbidden,
        NotFound,
        cycle_service.InvalidTransition,
        cycle_service.NoEvaluatorGroups,
        cycle_service.GroupWeightsDoNotAddUp,
        cycle_service.GroupWithoutDimensions,
        cycle_service.QuestionnaireNotPublished,
        cycle_service.NoDepartments,
        cycle_service.GroupDepartmentsNotInCycle,
        system_service.NoPublishedSystem,
        *SYSTEM_ERRORS,
    ),
)
async def open_cycle(
    request: Request, session: SessionDep, principal: AdminOnly, cycle_id: uuid.UUID
) -> schemas.Cycle:
    """draft → open. The groups' weights must sum to 100; the cycle is bound to its published
    indicator system (fetched from the indicator service if its event was missed) and takes
    the active departments of its category from there."""
    indicator = IndicatorClient.for_request(request)
    cycle = await cycle_service.open_cycle(session, principal, cycle_id, indicator)
    return schemas.Cycle.model_validate(cycle)


@router.post(
    "/{cycle_id}/close",
    response_model=schemas.Cycle,
    responses=responses(Unauthorized, Forbidden, NotFound, cycle_service.InvalidTransition),
)
async def close_cycle(
    session: SessionDep, principal: AdminOnly, cycle_id: uuid.UUID
) -> schemas.Cycle:
    """open → scoring: ratings and scorecards are no longer accepted."""
    cycle = await cycle_service.close_cycle(session, principal, cycle_id)
    return schemas.Cycle.model_validate(cycle)


@router.get(
    "/{cycle_id}/departments",
    response_model=Page[schemas.CycleDepartment],
    responses=responses(Unauthorized, NotFound),
)
async def list_cycle_departments(
    session: SessionDep, principal: CurrentPrincipal, cycle_id: uuid.UUID, page: PageParamsDep
) -> Page[schemas.CycleDepartment]:
    """The departments the cycle evaluates, as listed when it opened (none while a draft)."""
    rows, next_cursor = await cycle_service.list_departments(session, principal, cycle_id, page)
    return page_of(schemas.CycleDepartment, rows, next_cursor)

"""Appeals: filed by a department within the window, decided by the office, public once
decided."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from services.common.auth import AdminOnly, CurrentPrincipal, OptionalPrincipal
from services.common.errors import Forbidden, Unauthorized, responses
from services.common.pagination import Page, PageParamsDep, page_of
from services.common.routing import SessionDep, TransactionalRoute
from services.feedback.appeals import schemas
from services.feedback.appeals import service as appeal_service

router = APIRouter(prefix="/v1/appeals", tags=["appeals"], route_class=TransactionalRoute)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.Appeal,
    responses=responses(
        Unauthorized,
        appeal_service.DepartmentsAppeal,
        appeal_service.NoPreliminaryResult,
        appeal_service.AppealWindowClosed,
        appeal_service.AppealPending,
    ),
)
async def file_appeal(
    session: SessionDep, principal: CurrentPrincipal, body: schemas.AppealCreate
) -> schemas.Appeal:
    """A department contests one indicator or group score of its preliminary result, while
    the appeal window is open (409 after it, and before any preliminary result)."""
    appeal = await appeal_service.file_appeal(session, principal, body)
    return schemas.Appeal.model_validate(appeal)


@router.get("", response_model=Page[schemas.Appeal], responses=responses())
async def list_appeals(
    session: SessionDep,
    principal: OptionalPrincipal,
    page: PageParamsDep,
    jurisdiction: str | None = None,
    cycle_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
    status: schemas.AppealStatus | None = None,
) -> Page[schemas.Appeal]:
    """Decided appeals, for anyone; the office and the department also see pending ones."""
    rows, next_cursor = await appeal_service.list_appeals(
        session,
        principal,
        page,
        jurisdiction=jurisdiction,
        cycle_id=cycle_id,
        department_id=department_id,
        status=status,
    )
    return page_of(schemas.Appeal, rows, next_cursor)


@router.get(
    "/{appeal_id}",
    response_model=schemas.Appeal,
    responses=responses(appeal_service.AppealNotFound),
)
async def get_appeal(
    session: SessionDep, principal: OptionalPrincipal, appeal_id: uuid.UUID
) -> schemas.Appeal:
    appeal = await appeal_service.get_appeal(session, principal, appeal_id)
    return schemas.Appeal.model_validate(appeal)


@router.post(
    "/{appeal_id}/decision",
    response_model=schemas.Appeal,
    responses=responses(
        Unauthorized,
        Forbidden,
        appeal_service.AppealNotFound,
        appeal_service.AlreadyDecided,
        appeal_service.InvalidAdjustment,
    ),
)
async def decide_appeal(
    session: SessionDep, principal: AdminOnly, appeal_id: uuid.UUID, body: schemas.AppealDecision
) -> schemas.Appeal:
    """The office decides: upheld or partly upheld with the points to add, or dismissed."""
    appeal = await appeal_service.decide(session, principal, appeal_id, body)
    return schemas.Appeal.model_validate(appeal)

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from services.common.auth import AdminOnly, Principal, require_role
from services.common.errors import Forbidden, NotFound, Unauthorized, responses
from services.common.pagination import Page, PageParamsDep, page_of
from services.common.routing import SessionDep, TransactionalRoute
from services.feedback.uses import schemas
from services.feedback.uses import service as use_service

router = APIRouter(prefix="/v1/results-uses", tags=["results uses"], route_class=TransactionalRoute)

OfficeOrDepartment = Annotated[Principal, Depends(require_role("admin", "department"))]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.ResultsUse,
    responses=responses(Unauthorized, Forbidden, use_service.UnknownResult),
)
async def record_use(
    session: SessionDep, principal: AdminOnly, body: schemas.ResultsUseCreate
) -> schemas.ResultsUse:
    """Record how a department's result was used (commendation, budget adjustment,
    accountability interview, training, personnel decision)."""
    use = await use_service.record_use(session, principal, body)
    return schemas.ResultsUse.model_validate(use)


@router.get(
    "", response_model=Page[schemas.ResultsUse], responses=responses(Unauthorized, Forbidden)
)
async def list_uses(
    session: SessionDep,
    principal: OfficeOrDepartment,
    page: PageParamsDep,
    cycle_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
    kind: schemas.ResultsUseKind | None = None,
) -> Page[schemas.ResultsUse]:
    """Uses recorded in your jurisdictions (a department: its own), oldest first."""
    rows, next_cursor = await use_service.list_uses(
        session, principal, page, cycle_id=cycle_id, department_id=department_id, kind=kind
    )
    return page_of(schemas.ResultsUse, rows, next_cursor)


@router.get(
    "/summary",
    response_model=schemas.ResultsUseSummary,
    responses=responses(Unauthorized, Forbidden, NotFound),
)
async def uses_summary(
    session: SessionDep, principal: AdminOnly, cycle_id: uuid.UUID
) -> schemas.ResultsUseSummary:
    """How many of a cycle's departments had their result used, per kind of use, and which
    have none yet."""
    return await use_service.summary(session, principal, cycle_id)


@router.get(
    "/{use_id}",
    response_model=schemas.ResultsUse,
    responses=responses(Unauthorized, Forbidden, NotFound),
)
async def get_use(
    session: SessionDep, principal: OfficeOrDepartment, use_id: uuid.UUID
) -> schemas.ResultsUse:
    return schemas.ResultsUse.model_validate(await use_service.get_use(session, principal, use_id))


@router.patch(
    "/{use_id}",
    response_model=schemas.ResultsUse,
    responses=responses(Unauthorized, Forbidden, NotFound),
)
async def update_use(
    session: SessionDep, principal: AdminOnly, use_id: uuid.UUID, body: schemas.ResultsUseUpdate
) -> schemas.ResultsUse:
    use = await use_service.update_use(session, principal, use_id, body)
    return schemas.ResultsUse.model_validate(use)

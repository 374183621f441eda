from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, status

from services.common.auth import AdminOnly, CurrentPrincipal
from services.common.errors import Forbidden, NotFound, Unauthorized, responses
from services.common.pagination import Page, PageParamsDep
from services.common.routing import SessionDep, TransactionalRoute
from services.evaluation import schemas
from services.evaluation import service as cycle_service

router = APIRouter(prefix="/v1/cycles", tags=["cycles"], route_class=TransactionalRoute)


@router.get("", response_model=Page[schemas.Cycle], responses=responses(Unauthorized))
async def list_cycles(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageParamsDep,
    jurisdiction: str | None = None,
    status: Literal["draft", "open", "closed"] | None = None,
    period: str | None = None,
) -> Page[schemas.Cycle]:
    """Evaluation cycles of your jurisdictions."""
    rows, next_cursor = await cycle_service.list_cycles(
        session, principal, page, jurisdiction=jurisdiction, status=status, period=period
    )
    return Page(items=[schemas.Cycle.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.Cycle,
    responses=responses(Unauthorized, Forbidden, cycle_service.CycleCodeTaken),
)
async def create_cycle(
    session: SessionDep, principal: AdminOnly, body: schemas.CycleCreate
) -> schemas.Cycle:
    """Create a draft cycle (admins of its jurisdiction)."""
    return schemas.Cycle.model_validate(await cycle_service.create_cycle(session, principal, body))


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
        cycle_service.InvalidTransition,
        cycle_service.CycleNotDraft,
    ),
)
async def update_cycle(
    session: SessionDep, principal: AdminOnly, cycle_id: uuid.UUID, body: schemas.CycleUpdate
) -> schemas.Cycle:
    """Rename a cycle, change a draft's period, or open / close it."""
    cycle = await cycle_service.update_cycle(session, principal, cycle_id, body)
    return schemas.Cycle.model_validate(cycle)

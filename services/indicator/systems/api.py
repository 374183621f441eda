"""Indicator systems: drafts edited by the office, published versions readable by anyone."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from services.common.auth import AdminOnly, OptionalPrincipal
from services.common.errors import Forbidden, NotFound, Unauthorized, responses
from services.common.pagination import Page, PageParamsDep
from services.common.routing import SessionDep, TransactionalRoute
from services.indicator.schemas import CATEGORY_PATTERN
from services.indicator.systems import schemas
from services.indicator.systems import service as system_service

router = APIRouter(
    prefix="/v1/indicator-systems", tags=["indicator systems"], route_class=TransactionalRoute
)
WRITE_ERRORS = (Unauthorized, Forbidden, NotFound, system_service.SystemNotDraft)


@router.get("", response_model=Page[schemas.SystemSummary])
async def list_systems(
    session: SessionDep,
    principal: OptionalPrincipal,
    page: PageParamsDep,
    jurisdiction: str | None = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    category: Annotated[str | None, Query(pattern=CATEGORY_PATTERN)] = None,
    status: schemas.Status | None = None,
) -> Page[schemas.SystemSummary]:
    """Your jurisdictions' systems in every state; anyone's published ones (no token needed)."""
    rows, next_cursor = await system_service.list_systems(
        session,
        principal,
        page,
        jurisdiction=jurisdiction,
        year=year,
        category=category,
        status=status,
    )
    return Page(
        items=[schemas.SystemSummary.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.System,
    responses=responses(
        Unauthorized, Forbidden, system_service.SystemExists, system_service.InvalidTree
    ),
)
async def create_system(
    session: SessionDep, principal: AdminOnly, body: schemas.SystemCreate
) -> schemas.System:
    """A new draft (version 1) for a year and department category, with its tree."""
    system = await system_service.create_system(session, principal, body)
    return await system_service.system_view(session, system)


@router.get("/{system_id}", response_model=schemas.System, responses=responses(NotFound))
async def get_system(
    session: SessionDep, principal: OptionalPrincipal, system_id: uuid.UUID
) -> schemas.System:
    """One version with its whole tree."""
    system = await system_service.get_system(session, principal, system_id)
    return await system_service.system_view(session, system)


@router.patch("/{system_id}", response_model=schemas.System, responses=responses(*WRITE_ERRORS))
async def update_system(
    session: SessionDep, principal: AdminOnly, system_id: uuid.UUID, body: schemas.SystemUpdate
) -> schemas.System:
    system = await system_service.update_system(session, principal, system_id, body)
    return await system_service.system_view(session, system)


@router.put(
    "/{system_id}/tree",
    response_model=schemas.System,
    responses=responses(*WRITE_ERRORS, system_service.InvalidTree),
)
async def replace_tree(
    session: SessionDep, principal: AdminOnly, system_id: uuid.UUID, body: schemas.TreeReplace
) -> schemas.System:
    """Replace a draft's whole tree; checked as a whole (weights are checked at publish)."""
    system = await system_service.replace_tree(session, principal, system_id, body.nodes)
    return await system_service.system_view(session, system)


@router.get("/{system_id}/check", response_model=schemas.TreeCheck, responses=responses(NotFound))
async def check_system(
    session: SessionDep, principal: OptionalPrincipal, system_id: uuid.UUID
) -> schemas.TreeCheck:
    """Whether the weights add up, and where they do not."""
    system = await system_service.get_system(session, principal, system_id)
    return await system_service.check(session, system)


@router.post(
    "/{system_id}/publish",
    response_model=schemas.System,
    responses=responses(*WRITE_ERRORS, system_service.WeightsDoNotAddUp),
)
async def publish_system(
    session: SessionDep, principal: AdminOnly, system_id: uuid.UUID
) -> schemas.System:
    """Freeze the draft; the published version it replaces becomes superseded."""
    system = await system_service.publish(session, principal, system_id)
    return await system_service.system_view(session, system)


@router.post(
    "/{system_id}/revise",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.System,
    responses=responses(Unauthorized, Forbidden, NotFound, system_service.DraftExists),
)
async def revise_system(
    session: SessionDep, principal: AdminOnly, system_id: uuid.UUID
) -> schemas.System:
    """A new draft version starting from a copy of this version's tree."""
    system = await system_service.revise(session, principal, system_id)
    return await system_service.system_view(session, system)


@router.post(
    "/{system_id}/weights",
    response_model=schemas.System,
    responses=responses(*WRITE_ERRORS),
)
async def apply_weights(
    session: SessionDep, principal: AdminOnly, system_id: uuid.UUID, body: schemas.WeightingApply
) -> schemas.System:
    """Set one parent's children's weights from shares, e.g. an AHP or entropy result."""
    system = await system_service.apply_weights(session, principal, system_id, body)
    return await system_service.system_view(session, system)


@router.delete(
    "/{system_id}", status_code=status.HTTP_204_NO_CONTENT, responses=responses(*WRITE_ERRORS)
)
async def delete_system(
    session: SessionDep, principal: AdminOnly, system_id: uuid.UUID
) -> Response:
    await system_service.delete_system(session, principal, system_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

"""Indicator-system snapshots: the published versions this service received (or fetched)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from services.common.auth import CurrentPrincipal
from services.common.errors import NotFound, Unauthorized, responses
from services.common.pagination import Page, PageParamsDep, page_of
from services.common.routing import SessionDep, TransactionalRoute
from services.evaluation.schemas import CATEGORY_PATTERN
from services.evaluation.systems import schemas
from services.evaluation.systems import service as system_service

router = APIRouter(
    prefix="/v1/indicator-systems", tags=["indicator systems"], route_class=TransactionalRoute
)


@router.get("", response_model=Page[schemas.SnapshotSummary], responses=responses(Unauthorized))
async def list_systems(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageParamsDep,
    jurisdiction: str | None = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    category: Annotated[str | None, Query(pattern=CATEGORY_PATTERN, max_length=64)] = None,
) -> Page[schemas.SnapshotSummary]:
    """Published indicator-system versions of your jurisdictions that cycles may be bound to."""
    rows, next_cursor = await system_service.list_snapshots(
        session, principal, page, jurisdiction=jurisdiction, year=year, category=category
    )
    return page_of(schemas.SnapshotSummary, rows, next_cursor)


@router.get(
    "/{system_id}", response_model=schemas.Snapshot, responses=responses(Unauthorized, NotFound)
)
async def get_system(
    session: SessionDep, principal: CurrentPrincipal, system_id: uuid.UUID
) -> schemas.Snapshot:
    """One snapshot with its whole tree, as the cycle bound to it is scored."""
    row = await system_service.get_snapshot(session, principal, system_id)
    return schemas.Snapshot.model_validate(row)

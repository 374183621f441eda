"""Departments: the org units every indicator, value and score hangs on."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from services.common.auth import AdminOnly, CurrentPrincipal
from services.common.errors import Forbidden, NotFound, Unauthorized, responses
from services.common.pagination import Page, PageParamsDep, page_of
from services.common.routing import SessionDep, TransactionalRoute
from services.indicator.departments import schemas
from services.indicator.departments import service as department_service

router = APIRouter(prefix="/v1/departments", tags=["departments"], route_class=TransactionalRoute)


@router.get("", response_model=Page[schemas.Department], responses=responses(Unauthorized))
async def list_departments(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageParamsDep,
    jurisdiction: str | None = None,
    category: str | None = None,
    active: bool | None = None,
    q: Annotated[str | None, Query(max_length=100, description="Code or name contains")] = None,
    parent_id: uuid.UUID | None = None,
    ids: Annotated[
        list[uuid.UUID] | None,
        Query(max_length=100, description="Batch get: repeat for each id (at most 100)"),
    ] = None,
) -> Page[schemas.Department]:
    """Departments of your jurisdictions, filtered and paginated; `ids` fetches a batch."""
    rows, next_cursor = await department_service.list_departments(
        session,
        principal,
        page,
        jurisdiction=jurisdiction,
        category=category,
        active=active,
        search=q,
        parent_id=parent_id,
        ids=ids,
    )
    return page_of(schemas.Department, rows, next_cursor)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.Department,
    responses=responses(
        Unauthorized,
        Forbidden,
        department_service.DepartmentCodeTaken,
        department_service.InvalidParent,
    ),
)
async def create_department(
    session: SessionDep, principal: AdminOnly, body: schemas.DepartmentCreate
) -> schemas.Department:
    """Create a department (admins of its jurisdiction)."""
    department = await department_service.create_department(session, principal, body)
    return schemas.Department.model_validate(department)


@router.get(
    "/{department_id}",
    response_model=schemas.Department,
    responses=responses(Unauthorized, NotFound),
)
async def get_department(
    session: SessionDep, principal: CurrentPrincipal, department_id: uuid.UUID
) -> schemas.Department:
    department = await department_service.get_department(session, principal, department_id)
    return schemas.Department.model_validate(department)


@router.patch(
    "/{department_id}",
    response_model=schemas.Department,
    responses=responses(
        Unauthorized,
        Forbidden,
        NotFound,
        department_service.DepartmentCodeTaken,
        department_service.InvalidParent,
    ),
)
async def update_department(
    session: SessionDep,
    principal: AdminOnly,
    department_id: uuid.UUID,
    body: schemas.DepartmentUpdate,
) -> schemas.Department:
    """Change a department's fields; only the fields sent change."""
    department = await department_service.update_department(session, principal, department_id, body)
    return schemas.Department.model_validate(department)


@router.delete(
    "/{department_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(Unauthorized, Forbidden, NotFound, department_service.DepartmentInUse),
)
async def delete_department(
    session: SessionDep, principal: AdminOnly, department_id: uuid.UUID
) -> Response:
    """Delete a department nothing refers to yet (otherwise deactivate it)."""
    await department_service.delete_department(session, principal, department_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

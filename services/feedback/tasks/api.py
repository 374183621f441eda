"""Rectification tasks: the office creates and verifies them, the department answers them."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, status

from services.common.auth import AdminOnly, Principal, require_role
from services.common.db import utcnow
from services.common.errors import Forbidden, NotFound, Unauthorized, responses
from services.common.pagination import Page, PageParamsDep, page_of
from services.common.routing import SessionDep, TransactionalRoute
from services.feedback.tasks import schemas
from services.feedback.tasks import service as task_service

router = APIRouter(
    prefix="/v1/rectification-tasks", tags=["rectification tasks"], route_class=TransactionalRoute
)
# The office and departments; a department reaches its own tasks only.
OfficeOrDepartment = Annotated[Principal, Depends(require_role("admin", "department"))]
DEPARTMENT_WORK = (
    Unauthorized,
    task_service.NotTheDepartment,
    task_service.TaskNotFound,
    task_service.TaskClosed,
)


async def _detail(session: Any, task: Any) -> schemas.TaskDetail:
    details = await task_service.task_details(session, task.id)
    return schemas.TaskDetail.model_validate(
        {**schemas.Task.model_validate(task).model_dump(exclude={"repeat"}), **details}
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.TaskDetail,
    responses=responses(Unauthorized, Forbidden, task_service.TaskExists),
)
async def create_task(
    session: SessionDep, principal: AdminOnly, body: schemas.TaskCreate
) -> schemas.TaskDetail:
    """The office gives a department a task (from a result, a feedback item, an appeal, or
    of its own accord)."""
    task = await task_service.create_task(session, principal, **body.model_dump())
    return await _detail(session, task)


@router.get("", response_model=Page[schemas.Task], responses=responses(Unauthorized))
async def list_tasks(
    session: SessionDep,
    principal: OfficeOrDepartment,
    page: PageParamsDep,
    jurisdiction: str | None = None,
    cycle_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
    status: schemas.TaskStatus | None = None,
    overdue: bool | None = None,
    repeat: bool | None = None,
) -> Page[schemas.Task]:
    """Tasks of your jurisdictions (a department sees its own), oldest first. `overdue`:
    past the deadline and not verified; `repeat`: the same problem as last cycle."""
    rows, next_cursor = await task_service.list_tasks(
        session,
        principal,
        page,
        today=utcnow().date(),
        jurisdiction=jurisdiction,
        cycle_id=cycle_id,
        department_id=department_id,
        status=status,
        overdue=overdue,
        repeat=repeat,
    )
    return page_of(schemas.Task, rows, next_cursor)


@router.get(
    "/{task_id}",
    response_model=schemas.TaskDetail,
    responses=responses(Unauthorized, task_service.TaskNotFound),
)
async def get_task(
    session: SessionDep, principal: OfficeOrDepartment, task_id: uuid.UUID
) -> schemas.TaskDetail:
    """The task with its milestones, evidence and status history."""
    task = await task_service.get_task(session, principal, task_id)
    return await _detail(session, task)


@router.patch(
    "/{task_id}",
    response_model=schemas.TaskDetail,
    responses=responses(
        Unauthorized, task_service.NotTheOffice, task_service.TaskNotFound, task_service.TaskClosed
    ),
)
async def update_task(
    session: SessionDep, principal: AdminOnly, task_id: uuid.UUID, body: schemas.TaskUpdate
) -> schemas.TaskDetail:
    """The office changes the title, description or deadline."""
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    task = await task_service.update_task(session, principal, task_id, changes)
    return await _detail(session, task)


@router.put(
    "/{task_id}/plan", response_model=schemas.TaskDetail, responses=responses(*DEPARTMENT_WORK)
)
async def write_plan(
    session: SessionDep, principal: OfficeOrDepartment, task_id: uuid.UUID, body: schemas.PlanWrite
) -> schemas.TaskDetail:
    """The department writes (or rewrites) its plan; an open task becomes planned."""
    task = await task_service.write_plan(session, principal, task_id, body.plan)
    return await _detail(session, task)


@router.post(
    "/{task_id}/progress",
    response_model=schemas.TaskDetail,
    responses=responses(*DEPARTMENT_WORK, task_service.ProgressFromMilestones),
)
async def set_progress(
    session: SessionDep,
    principal: OfficeOrDepartment,
    task_id: uuid.UUID,
    body: schemas.ProgressSet,
) -> schemas.TaskDetail:
    """The department reports its progress (a task with milestones takes it from them)."""
    task = await task_service.set_progress(session, principal, task_id, body.progress, body.note)
    return await _detail(session, task)


@router.post(
    "/{task_id}/status",
    response_model=schemas.TaskDetail,
    responses=responses(
        Unauthorized,
        task_service.NotTheDepartment,
        task_service.NotTheOffice,
        task_service.TaskNotFound,
        task_service.InvalidTaskTransition,
        task_service.PlanRequired,
        task_service.ReasonRequired,
    ),
)
async def change_status(
    session: SessionDep,
    principal: OfficeOrDepartment,
    task_id: uuid.UUID,
    body: schemas.StatusChange,
) -> schemas.TaskDetail:
    """Move the task on: the department to planned, in_progress and submitted; the office
    verifies or returns (with a reason) a submitted task."""
    task = await task_service.change_status(
        session, principal, task_id, body.to_status, body.reason
    )
    return await _detail(session, task)


@router.post(
    "/{task_id}/milestones",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.TaskDetail,
    responses=responses(*DEPARTMENT_WORK),
)
async def add_milestone(
    session: SessionDep,
    principal: OfficeOrDepartment,
    task_id: uuid.UUID,
    body: schemas.MilestoneCreate,
) -> schemas.TaskDetail:
    """A step of the plan; the task's progress is rolled up from its milestones."""
    task = await task_service.add_milestone(session, principal, task_id, body.model_dump())
    return await _detail(session, task)


@router.patch(
    "/{task_id}/milestones/{milestone_id}",
    response_model=schemas.TaskDetail,
    responses=responses(*DEPARTMENT_WORK, NotFound),
)
async def update_milestone(
    session: SessionDep,
    principal: OfficeOrDepartment,
    task_id: uuid.UUID,
    milestone_id: uuid.UUID,
    body: schemas.MilestoneUpdate,
) -> schemas.TaskDetail:
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    task = await task_service.update_milestone(session, principal, task_id, milestone_id, changes)
    return await _detail(session, task)


@router.post(
    "/{task_id}/evidence",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.TaskDetail,
    responses=responses(*DEPARTMENT_WORK),
)
async def add_evidence(
    session: SessionDep,
    principal: OfficeOrDepartment,
    task_id: uuid.UUID,
    body: schemas.EvidenceCreate,
) -> schemas.TaskDetail:
    """A link or a description that shows the rectification was done."""
    task = await task_service.add_evidence(
        session, principal, task_id, url=body.url, description=body.description
    )
    return await _detail(session, task)

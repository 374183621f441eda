"""Feedback reports: the office reads all of its city's, a department its own."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from services.common.auth import Principal, require_role
from services.common.errors import Unauthorized, responses
from services.common.pagination import Page, PageParamsDep, page_of
from services.common.routing import SessionDep, TransactionalRoute
from services.feedback.reports import schemas
from services.feedback.reports import service as report_service
from services.feedback.tasks.schemas import Task

OfficeOrDepartment = Annotated[Principal, Depends(require_role("admin", "department"))]
router = APIRouter(
    prefix="/v1/feedback-reports", tags=["feedback reports"], route_class=TransactionalRoute
)


@router.get("", response_model=Page[schemas.Report], responses=responses(Unauthorized))
async def list_reports(
    session: SessionDep,
    principal: OfficeOrDepartment,
    page: PageParamsDep,
    jurisdiction: str | None = None,
    cycle_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
) -> Page[schemas.Report]:
    """Reports of your jurisdictions (a department sees its own), oldest first."""
    rows, next_cursor = await report_service.list_reports(
        session,
        principal,
        page,
        jurisdiction=jurisdiction,
        cycle_id=cycle_id,
        department_id=department_id,
    )
    return page_of(schemas.Report, rows, next_cursor)


@router.get(
    "/{report_id}",
    response_model=schemas.ReportDetail,
    responses=responses(Unauthorized, report_service.ReportNotFound),
)
async def get_report(
    session: SessionDep, principal: OfficeOrDepartment, report_id: uuid.UUID
) -> schemas.ReportDetail:
    """The report with the rectification items it asks the department to answer."""
    report = await report_service.get_report(session, principal, report_id)
    tasks = await report_service.report_tasks(session, report)
    return schemas.ReportDetail.model_validate(
        {
            **schemas.Report.model_validate(report).model_dump(),
            "tasks": [Task.model_validate(t) for t in tasks],
        }
    )

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from services.common.auth import Principal, require_role
from services.common.errors import Forbidden, NotFound, Unauthorized, responses
from services.common.routing import SessionDep, TransactionalRoute
from services.feedback.metrics import schemas
from services.feedback.metrics import service as metrics_service

router = APIRouter(prefix="/v1/metrics", tags=["metrics"], route_class=TransactionalRoute)

OfficeOrDepartment = Annotated[Principal, Depends(require_role("admin", "department"))]


@router.get(
    "",
    response_model=schemas.CycleMetrics,
    responses=responses(Unauthorized, Forbidden, NotFound),
)
async def cycle_metrics(
    session: SessionDep,
    principal: OfficeOrDepartment,
    cycle_id: uuid.UUID,
    department_id: uuid.UUID | None = None,
) -> schemas.CycleMetrics:
    """Per department of a cycle: rectification closure rate, on-time rate, reopen rate
    (tasks returned, of those submitted), mean days to close, and the citizen feedback
    response rate (answered within the deadline). A department sees its own line (and 403
    for naming another department)."""
    return await metrics_service.cycle_metrics(
        session, principal, cycle_id, department_id=department_id
    )

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, status

from services.common.auth import AdminOnly, OptionalPrincipal
from services.common.errors import Conflict, Forbidden, NotFound, Unauthorized, responses
from services.common.pagination import Page, PageParamsDep
from services.common.routing import Idempotent, SessionDep, TransactionalRoute
from services.feedback import schemas
from services.feedback import service as feedback_service

router = APIRouter(
    prefix="/v1/citizen-feedback", tags=["citizen feedback"], route_class=TransactionalRoute
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.CitizenFeedback,
    dependencies=[Idempotent],
    responses=responses(Conflict, feedback_service.UnknownPublication),
)
async def submit_feedback(
    session: SessionDep, principal: OptionalPrincipal, body: schemas.CitizenFeedbackCreate
) -> schemas.CitizenFeedback:
    """Anyone may send feedback. Send an `Idempotency-Key` so a retry never files it twice."""
    feedback = await feedback_service.submit_feedback(session, principal, body)
    return schemas.CitizenFeedback.model_validate(feedback)


@router.get(
    "", response_model=Page[schemas.CitizenFeedback], responses=responses(Unauthorized, Forbidden)
)
async def list_feedback(
    session: SessionDep,
    principal: AdminOnly,
    page: PageParamsDep,
    jurisdiction: str | None = None,
    status: Literal["received", "answered"] | None = None,
    department_code: str | None = None,
) -> Page[schemas.CitizenFeedback]:
    """Feedback received in your jurisdictions, oldest first."""
    rows, next_cursor = await feedback_service.list_feedback(
        session,
        principal,
        page,
        jurisdiction=jurisdiction,
        status=status,
        department_code=department_code,
    )
    return Page(
        items=[schemas.CitizenFeedback.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.get(
    "/{feedback_id}",
    response_model=schemas.CitizenFeedback,
    responses=responses(Unauthorized, Forbidden, NotFound),
)
async def get_feedback(
    session: SessionDep, principal: AdminOnly, feedback_id: uuid.UUID
) -> schemas.CitizenFeedback:
    feedback = await feedback_service.get_feedback(session, principal, feedback_id)
    return schemas.CitizenFeedback.model_validate(feedback)


@router.post(
    "/{feedback_id}/answer",
    response_model=schemas.CitizenFeedback,
    responses=responses(Unauthorized, Forbidden, NotFound),
)
async def answer_feedback(
    session: SessionDep,
    principal: AdminOnly,
    feedback_id: uuid.UUID,
    body: schemas.CitizenFeedbackAnswer,
) -> schemas.CitizenFeedback:
    """Answer a citizen; the answer is what the public will see beside the feedback."""
    feedback = await feedback_service.answer_feedback(session, principal, feedback_id, body)
    return schemas.CitizenFeedback.model_validate(feedback)

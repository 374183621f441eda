from __future__ import annotations

import hashlib
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, status

from services.common.auth import AdminOnly, OptionalPrincipal, Principal, require_role
from services.common.errors import Conflict, Forbidden, NotFound, Unauthorized, responses
from services.common.pagination import Page, PageParamsDep
from services.common.ratelimit import RateLimiter, TooManyRequests
from services.common.routing import Idempotent, SessionDep, TransactionalRoute
from services.feedback import schemas
from services.feedback import service as feedback_service

router = APIRouter(
    prefix="/v1/citizen-feedback", tags=["citizen feedback"], route_class=TransactionalRoute
)

# The office, or the department concerned (its own feedback only).
Answerer = Annotated[Principal, Depends(require_role("admin", "department"))]
FeedbackToken = Annotated[
    str | None,
    Header(
        alias=schemas.TOKEN_HEADER,
        description="The token handed out when the feedback was sent",
        max_length=200,
    ),
]


def intake(request: Request) -> feedback_service.CitizenIntake:
    """The app's intake state, made on first use (the settings decide its limits)."""
    state: feedback_service.CitizenIntake | None = getattr(
        request.app.state, "citizen_intake", None
    )
    if state is None:
        settings = request.app.state.settings
        key = (
            settings.citizen_feedback_token_key.get_secret_value()
            if settings.citizen_feedback_token_key is not None
            else hashlib.sha256(
                b"govperf-citizen-feedback:" + settings.jwt_secret.get_secret_value().encode()
            ).hexdigest()
        )
        state = feedback_service.CitizenIntake(
            key=key.encode(),
            limiter=RateLimiter(settings.rate_limit_storage_url),
            limit_per_address=settings.citizen_feedback_limit_per_address,
            response_days=settings.citizen_feedback_response_days,
            reopen_spawns_task=settings.citizen_feedback_reopen_spawns_task,
            task_days=settings.citizen_feedback_task_days,
        )
        request.app.state.citizen_intake = state
    return state


IntakeDep = Annotated[feedback_service.CitizenIntake, Depends(intake)]


def _client_address(request: Request) -> str | None:
    # Behind the gateway the first X-Forwarded-For hop is the caller's; direct, the peer.
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded:
        return forwarded.split(",", 1)[0].strip()
    return request.client.host if request.client else None


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.CitizenFeedbackReceipt,
    dependencies=[Idempotent],
    responses=responses(
        Conflict,
        feedback_service.UnknownPublication,
        feedback_service.DepartmentMismatch,
        TooManyRequests,
    ),
)
async def submit_feedback(
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
    state: IntakeDep,
    body: schemas.CitizenFeedbackCreate,
) -> schemas.CitizenFeedbackReceipt:
    """Anyone may send a comment, complaint, suggestion or praise about a department or a
    published item (it goes to the department and cycle the item is about); phone numbers,
    ID numbers and e-mail addresses are removed before it is kept. The answer carries a
    `token`, shown once: with it the sender reads the answer and says whether the problem
    was resolved. Send an `Idempotency-Key` so a retry never files
    it twice (a replay returns the same receipt). 429 when one address sends too many."""
    feedback, token = await feedback_service.submit_feedback(
        session, principal, body, state, client_address=_client_address(request)
    )
    return schemas.CitizenFeedbackReceipt.model_validate(
        {**schemas.CitizenFeedback.model_validate(feedback).model_dump(), "token": token}
    )


@router.get(
    "", response_model=Page[schemas.CitizenFeedback], responses=responses(Unauthorized, Forbidden)
)
async def list_feedback(
    session: SessionDep,
    principal: Answerer,
    page: PageParamsDep,
    jurisdiction: str | None = None,
    status: schemas.FeedbackStatus | None = None,
    department_code: str | None = None,
    department_id: uuid.UUID | None = None,
) -> Page[schemas.CitizenFeedback]:
    """Feedback received in your jurisdictions (a department: its own, and 403 for naming
    another department's id), oldest first."""
    rows, next_cursor = await feedback_service.list_feedback(
        session,
        principal,
        page,
        jurisdiction=jurisdiction,
        status=status,
        department_code=department_code,
        department_id=department_id,
    )
    return Page(
        items=[schemas.CitizenFeedback.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.get(
    "/summary",
    response_model=schemas.CitizenFeedbackSummary,
    responses=responses(Unauthorized, Forbidden, feedback_service.InvalidPeriod),
)
async def feedback_summary(
    session: SessionDep,
    principal: Answerer,
    department: Annotated[
        str, Query(min_length=1, max_length=64, description="Its id or its code")
    ],
    period: Annotated[str, Query(max_length=8, examples=["2026"])],
    jurisdiction: str | None = None,
) -> schemas.CitizenFeedbackSummary:
    """One department's feedback received in a period (`2026`, `2026Q1`, `202603`): counts
    by kind and status, the share answered within the deadline and the share the citizens
    said was resolved: input for the next cycle's social evaluation."""
    return await feedback_service.summary(
        session, principal, department=department, period=period, jurisdiction=jurisdiction
    )


@router.get(
    "/{feedback_id}",
    response_model=schemas.CitizenFeedback,
    responses=responses(Unauthorized, Forbidden, NotFound),
)
async def get_feedback(
    session: SessionDep, principal: Answerer, feedback_id: uuid.UUID
) -> schemas.CitizenFeedback:
    feedback = await feedback_service.get_feedback(session, principal, feedback_id)
    return schemas.CitizenFeedback.model_validate(feedback)


@router.post(
    "/{feedback_id}/answer",
    response_model=schemas.CitizenFeedback,
    responses=responses(Unauthorized, Forbidden, NotFound, feedback_service.FeedbackClosed),
)
async def answer_feedback(
    session: SessionDep,
    principal: Answerer,
    feedback_id: uuid.UUID,
    body: schemas.CitizenFeedbackAnswer,
) -> schemas.CitizenFeedback:
    """Answer a citizen (the department concerned, or the office); the answer is what the
    public will see beside the feedback. A reopened feedback is answered again."""
    feedback = await feedback_service.answer_feedback(session, principal, feedback_id, body)
    return schemas.CitizenFeedback.model_validate(feedback)


@router.get(
    "/{feedback_id}/status",
    response_model=schemas.CitizenFeedbackStatus,
    responses=responses(NotFound),
)
async def feedback_status(
    session: SessionDep, state: IntakeDep, feedback_id: uuid.UUID, token: FeedbackToken = None
) -> schemas.CitizenFeedbackStatus:
    """The sender's view, with the token in `X-Feedback-Token`: the answer and where the
    feedback stands. A wrong token answers 404, as an unknown id does."""
    feedback = await feedback_service.citizen_status(session, state, feedback_id, token)
    return schemas.CitizenFeedbackStatus.model_validate(feedback)


@router.post(
    "/{feedback_id}/resolution",
    response_model=schemas.CitizenFeedbackStatus,
    responses=responses(NotFound, feedback_service.FeedbackNotAnswered),
)
async def feedback_resolution(
    session: SessionDep,
    principal: OptionalPrincipal,
    state: IntakeDep,
    feedback_id: uuid.UUID,
    body: schemas.CitizenFeedbackResolution,
    token: FeedbackToken = None,
) -> schemas.CitizenFeedbackStatus:
    """The sender says whether the answer resolved the problem (token in
    `X-Feedback-Token`). Not resolved reopens the feedback for a new answer, counted in
    `reopen_count`; 409 when there is no answer to judge."""
    feedback = await feedback_service.citizen_resolution(
        session, principal, state, feedback_id, token, body
    )
    return schemas.CitizenFeedbackStatus.model_validate(feedback)


@router.post(
    "/{feedback_id}/task",
    response_model=schemas.CitizenFeedback,
    responses=responses(
        Unauthorized,
        Forbidden,
        NotFound,
        feedback_service.FeedbackUnrouted,
        feedback_service.TaskAlreadySpawned,
    ),
)
async def spawn_task(
    session: SessionDep,
    principal: AdminOnly,
    state: IntakeDep,
    feedback_id: uuid.UUID,
    body: schemas.CitizenFeedbackTask,
) -> schemas.CitizenFeedback:
    """The office turns feedback (typically one reopened) into a rectification task of the
    department concerned, origin `feedback`; once per feedback (409 after)."""
    feedback = await feedback_service.spawn_task(session, principal, state, feedback_id, body)
    return schemas.CitizenFeedback.model_validate(feedback)

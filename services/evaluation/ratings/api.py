"""Citizen rating intake for mobile apps: `POST /v1/ratings` and `POST /v1/ratings/batch`."""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response, status

from services.common.auth import AdminOnly, Principal, require_role
from services.common.body import json_body_openapi, read_json_body
from services.common.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
    Unprocessable,
    responses,
)
from services.common.pagination import Page, PageParamsDep, page_of
from services.common.ratelimit import RateLimiter, TooManyRequests
from services.common.routing import Idempotent, SessionDep, TransactionalRoute
from services.evaluation.ratings import review as review_service
from services.evaluation.ratings import schemas
from services.evaluation.ratings import service as rating_service

router = APIRouter(prefix="/v1/ratings", tags=["ratings"], route_class=TransactionalRoute)

CitizenApp = Annotated[Principal, Depends(require_role("citizen_app"))]


class RatingConflict(Conflict):
    code = "response-id-conflict"
    title = "Another response already has this response_id"


class RatingRejected(Unprocessable):
    """A response not taken: its `code` says why (see `REJECTION_STATUS`)."""

    code = "invalid-rating"
    title = "The response was not accepted"

    def __init__(self, result: rating_service.Outcome) -> None:
        super().__init__(result.reason, code=result.code, response_id=result.response_id)
        self.status = rating_service.REJECTION_STATUS.get(self.code, 422)


class CycleNotRating(Conflict):
    code = "cycle-not-open"
    title = "The response was not accepted"


def intake_context(request: Request) -> rating_service.IntakeContext:
    """The app's intake state, made on first use (the settings decide its limits)."""
    ctx: rating_service.IntakeContext | None = getattr(request.app.state, "rating_intake", None)
    if ctx is None:
        settings = request.app.state.settings
        secret = (
            settings.respondent_key.get_secret_value()
            if settings.respondent_key is not None
            else hashlib.sha256(
                b"govperf-respondent:" + settings.jwt_secret.get_secret_value().encode()
            ).hexdigest()
        )
        ctx = rating_service.IntakeContext(
            key=secret.encode(),
            limiter=RateLimiter(settings.rate_limit_storage_url),
            client_limit=settings.rating_limit_per_client,
            device_limit=settings.rating_limit_per_device,
        )
        ctx.group = rating_service.GroupCommit(request.app.state.db, ctx)
        request.app.state.rating_intake = ctx
    return ctx


def _client_address(request: Request) -> str | None:
    # Behind the gateway the first X-Forwarded-For hop is the app's; direct, the peer.
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded:
        return forwarded.split(",", 1)[0].strip()
    return request.client.host if request.client else None


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.RatingResult,
    responses={
        200: {
            "description": "A resend of a response already accepted",
            "model": schemas.RatingResult,
        },
        **responses(
            Unauthorized,
            Forbidden,
            NotFound,
            RatingConflict,
            CycleNotRating,
            RatingRejected,
            TooManyRequests,
        ),
    },
    dependencies=[Idempotent],
)
async def submit_rating(
    request: Request, session: SessionDep, principal: CitizenApp, body: schemas.RatingIn
) -> Response:
    """One response. 201 accepted; 200 for a resend of one already accepted (`duplicate`, with
    the original's `received_at`); 409 for the same `response_id` with other content, a closed
    cycle or a respondent who already rated the department; 422 for answers that do not fit the
    questionnaire version; 429 with `Retry-After` when the app or the device sends too many."""
    [result] = await rating_service.submit(
        session, intake_context(request), principal, [body], client_address=_client_address(request)
    )
    if result.status in ("accepted", "duplicate"):
        return Response(
            rating_service.answer(result),
            status_code=201 if result.status == "accepted" else 200,
            media_type="application/json",
        )
    if result.status == "conflict":
        raise RatingConflict(result.reason, response_id=result.response_id)
    if result.code == "rate-limited":
        raise TooManyRequests(
            result.reason or "Too many ratings", retry_after=result.retry_after or 1
        )
    raise RatingRejected(result)


@router.post(
    "/batch",
    response_model=schemas.BatchResult,
    responses=responses(Unauthorized, Forbidden, TooManyRequests),
    dependencies=[Idempotent],
    # The body (a `RatingBatch`) is read by the route: 500 items are checked straight from
    # their JSON when all are valid (`read_json_body`).
    openapi_extra=json_body_openapi(schemas.RatingBatch),
)
async def submit_ratings(request: Request, session: SessionDep, principal: CitizenApp) -> Response:
    """Up to 500 responses collected offline, each answered on its own in `results` (same
    order): accepted, duplicate (already have it: clear it from the queue), conflict, or
    rejected with a `code` and `reason` (`rate-limited` items carry `retry_after`). An app
    clears every item that is not rejected for a transient reason."""
    body = await read_json_body(request, schemas.RatingBatch, fast=schemas.ValidRatingBatch)
    results = await rating_service.submit(
        session,
        intake_context(request),
        principal,
        body.ratings,
        client_address=_client_address(request),
    )
    counts = {"accepted": 0, "duplicate": 0, "conflict": 0, "rejected": 0}
    for result in results:
        counts[result.status] += 1
    # Written as it is (a `BatchResult`): the results are the service's own outcomes.
    return Response(
        rating_service.answer({**counts, "results": results}), media_type="application/json"
    )


review_router = APIRouter(
    prefix="/v1/cycles/{cycle_id}/ratings", tags=["ratings"], route_class=TransactionalRoute
)


@review_router.get(
    "",
    response_model=Page[schemas.RatingView],
    responses=responses(Unauthorized, Forbidden, NotFound),
)
async def list_ratings(
    session: SessionDep,
    principal: AdminOnly,
    cycle_id: uuid.UUID,
    page: PageParamsDep,
    department_id: uuid.UUID | None = None,
    decision: Literal["counted", "excluded", "held"] | None = None,
) -> Page[schemas.RatingView]:
    """The cycle's responses as the office reviews them (no respondent identifiers), with the
    quality criteria each met and whether it counts."""
    rows, next_cursor = await review_service.list_ratings(
        session, principal, cycle_id, page, department_id=department_id, decision=decision
    )
    return page_of(schemas.RatingView, rows, next_cursor)


@review_router.get(
    "/summary",
    response_model=schemas.RatingsSummary,
    responses=responses(Unauthorized, Forbidden, NotFound),
)
async def ratings_summary(
    session: SessionDep, principal: AdminOnly, cycle_id: uuid.UUID
) -> schemas.RatingsSummary:
    """Responses per department, and how many the quality checks excluded or hold."""
    return schemas.RatingsSummary.model_validate(
        await review_service.summary(session, principal, cycle_id)
    )


@review_router.post(
    "/check",
    response_model=schemas.QualityCheck,
    responses=responses(Unauthorized, Forbidden, NotFound),
)
async def check_ratings(
    session: SessionDep, principal: AdminOnly, cycle_id: uuid.UUID
) -> schemas.QualityCheck:
    """Run the quality checks now under the cycle's policy (scoring runs them as well)."""
    return schemas.QualityCheck.model_validate(
        await review_service.check(session, principal, cycle_id)
    )


@review_router.post(
    "/{rating_id}/decision",
    response_model=schemas.RatingView,
    responses=responses(Unauthorized, Forbidden, NotFound),
)
async def decide_rating(
    session: SessionDep,
    principal: AdminOnly,
    cycle_id: uuid.UUID,
    rating_id: uuid.UUID,
    body: schemas.RatingDecision,
) -> schemas.RatingView:
    """Count or exclude one response (a held one, typically); audited with the reason."""
    return schemas.RatingView.model_validate(
        await review_service.decide(
            session, principal, cycle_id, rating_id, body.decision, body.reason
        )
    )

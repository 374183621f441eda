"""Webhook routes every service has: its inbox, subscriptions, deliveries."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request, Response, status

from services.common.auth import Principal, require_role
from services.common.errors import (
    Forbidden,
    NotFound,
    Unauthorized,
    responses,
)
from services.common.events import inbox, schemas, signing
from services.common.events import subscriptions as subscription_service
from services.common.events.subscriptions import INBOX_PATH
from services.common.events.targets import InvalidTarget
from services.common.pagination import Page, PageParamsDep
from services.common.routing import SessionDep, TransactionalRoute

SubscriptionManager = Annotated[Principal, Depends(require_role("admin", "portal"))]
# A delivery's number is a bigint on both databases; a larger one names no delivery and is
# refused before it reaches a query (where SQLite and asyncpg would fail on it).
DeliverySeq = Annotated[
    int, Path(ge=1, le=2**63 - 1, description="The delivery's number, as the list gives it")
]


class InvalidSignature(Unauthorized):
    code = "invalid-signature"
    title = "The webhook signature does not verify"


router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], route_class=TransactionalRoute)


@router.post(
    INBOX_PATH.removeprefix("/v1/webhooks"),
    responses=responses(InvalidSignature, inbox.InvalidEvent),
)
async def receive_webhook(request: Request, session: SessionDep) -> dict[str, Any]:
    """Events from the sibling services, signed per Standard Webhooks; handled exactly once.

    A message carries one event, or a sibling's `events.batch` of several (docs/events.md).
    """
    settings = request.app.state.settings
    body = await request.body()
    try:
        webhook_id = signing.verify(
            subscription_service.accepted_inbox_secrets(settings, settings.component),
            request.headers,
            body,
            tolerance_seconds=settings.webhook_tolerance_seconds,
        )
    except signing.InvalidSignature as exc:
        raise InvalidSignature(str(exc)) from exc
    batch, events = inbox.parse(webhook_id, body)
    return await inbox.receive(session, request.app.state.event_handlers, events, batch=batch)


@router.post(
    "/subscriptions",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.SubscriptionWithSecret,
    responses=responses(Unauthorized, Forbidden, InvalidTarget),
)
async def create_subscription(
    request: Request,
    session: SessionDep,
    principal: SubscriptionManager,
    body: schemas.SubscriptionCreate,
) -> schemas.SubscriptionWithSecret:
    """Register an endpoint for events of your jurisdiction. The secret is shown only here."""
    row, secret = await subscription_service.create_subscription(
        session, principal, body, request.app.state.settings
    )
    return schemas.SubscriptionWithSecret(
        **schemas.Subscription.model_validate(row).model_dump(), secret=secret
    )


@router.get(
    "/subscriptions",
    response_model=Page[schemas.Subscription],
    responses=responses(Unauthorized, Forbidden),
)
async def list_subscriptions(
    session: SessionDep, principal: SubscriptionManager, page: PageParamsDep
) -> Page[schemas.Subscription]:
    rows, next_cursor = await subscription_service.list_subscriptions(session, principal, page)
    return Page(
        items=[schemas.Subscription.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.get(
    "/subscriptions/{subscription_id}",
    response_model=schemas.Subscription,
    responses=responses(Unauthorized, Forbidden, NotFound),
)
async def get_subscription(
    session: SessionDep, principal: SubscriptionManager, subscription_id: uuid.UUID
) -> schemas.Subscription:
    row = await subscription_service.get_subscription(session, principal, subscription_id)
    return schemas.Subscription.model_validate(row)


@router.patch(
    "/subscriptions/{subscription_id}",
    response_model=schemas.Subscription,
    responses=responses(
        Unauthorized, Forbidden, NotFound, InvalidTarget, subscription_service.SiblingSubscription
    ),
)
async def update_subscription(
    request: Request,
    session: SessionDep,
    principal: SubscriptionManager,
    subscription_id: uuid.UUID,
    body: schemas.SubscriptionUpdate,
) -> schemas.Subscription:
    """Change the URL or filter, or re-enable a disabled subscription."""
    row = await subscription_service.update_subscription(
        session, principal, subscription_id, body, request.app.state.settings
    )
    return schemas.Subscription.model_validate(row)


@router.delete(
    "/subscriptions/{subscription_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(
        Unauthorized, Forbidden, NotFound, subscription_service.SiblingSubscription
    ),
)
async def delete_subscription(
    session: SessionDep, principal: SubscriptionManager, subscription_id: uuid.UUID
) -> Response:
    await subscription_service.delete_subscription(session, principal, subscription_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/subscriptions/{subscription_id}/rotate-secret",
    response_model=schemas.SecretRotation,
    responses=responses(Unauthorized, Forbidden, NotFound),
)
async def rotate_secret(
    request: Request,
    session: SessionDep,
    principal: SubscriptionManager,
    subscription_id: uuid.UUID,
) -> schemas.SecretRotation:
    """A new secret; deliveries carry signatures of both until the old one expires."""
    secret, until = await subscription_service.rotate_secret(
        session, principal, subscription_id, request.app.state.settings
    )
    return schemas.SecretRotation(secret=secret, previous_valid_until=until)


@router.post(
    "/subscriptions/{subscription_id}/test",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=schemas.TestPing,
    responses=responses(Unauthorized, Forbidden, NotFound),
)
async def test_subscription(
    session: SessionDep, principal: SubscriptionManager, subscription_id: uuid.UUID
) -> schemas.TestPing:
    """Queue a `webhook.test` event for this subscription only."""
    event_id = await subscription_service.send_test(session, principal, subscription_id)
    return schemas.TestPing(event_id=event_id)


@router.post(
    "/subscriptions/{subscription_id}/replay",
    response_model=schemas.Replayed,
    responses=responses(Unauthorized, Forbidden, NotFound),
)
async def replay_subscription(
    session: SessionDep, principal: SubscriptionManager, subscription_id: uuid.UUID
) -> schemas.Replayed:
    """Send every dead delivery of this subscription again."""
    count = await subscription_service.replay(session, principal, subscription_id=subscription_id)
    return schemas.Replayed(replayed=count)


@router.get(
    "/subscriptions/{subscription_id}/health",
    response_model=schemas.SubscriptionHealth,
    responses=responses(Unauthorized, Forbidden, NotFound),
)
async def subscription_health(
    session: SessionDep, principal: SubscriptionManager, subscription_id: uuid.UUID
) -> schemas.SubscriptionHealth:
    """Success rate, last error and consecutive failures of one subscription."""
    health = await subscription_service.subscription_health(session, principal, subscription_id)
    return schemas.SubscriptionHealth(**health)


@router.get(
    "/deliveries",
    response_model=Page[schemas.Delivery],
    responses=responses(Unauthorized, Forbidden),
)
async def list_deliveries(
    session: SessionDep,
    principal: SubscriptionManager,
    page: PageParamsDep,
    status: Literal["pending", "delivering", "succeeded", "dead"] | None = None,
    subscription_id: uuid.UUID | None = None,
) -> Page[schemas.Delivery]:
    """Deliveries in event order; `?status=dead` lists the dead letters."""
    rows, next_cursor = await subscription_service.list_deliveries(
        session, principal, page, status=status, subscription_id=subscription_id
    )
    return Page(items=[schemas.Delivery(**r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/deliveries/{seq}",
    response_model=schemas.DeliveryDetail,
    responses=responses(Unauthorized, Forbidden, NotFound),
)
async def get_delivery(
    session: SessionDep, principal: SubscriptionManager, seq: DeliverySeq
) -> Any:
    """One delivery with every attempt: status, duration, error, start of the response."""
    return schemas.DeliveryDetail.model_validate(
        await subscription_service.get_delivery(session, principal, seq), from_attributes=True
    )


@router.post(
    "/deliveries/{seq}/replay",
    response_model=schemas.Replayed,
    responses=responses(Unauthorized, Forbidden, NotFound),
)
async def replay_delivery(
    session: SessionDep, principal: SubscriptionManager, seq: DeliverySeq
) -> schemas.Replayed:
    count = await subscription_service.replay(session, principal, delivery_seq=seq)
    return schemas.Replayed(replayed=count)

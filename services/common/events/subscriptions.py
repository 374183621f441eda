"""Rules for webhook subscriptions, deliveries and the inbox."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import func, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.audit import record_change, snapshot
from services.common.auth import Principal
from services.common.db import Database, utcnow
from services.common.errors import Conflict, NotFound
from services.common.events import signing
from services.common.events.outbox import TABLES, emit, wake_dispatchers
from services.common.events.schemas import SubscriptionCreate, SubscriptionUpdate
from services.common.events.targets import validate_target
from services.common.jurisdictions import ensure_writable
from services.common.models import CommonTables
from services.common.pagination import PageParams, decode_cursor, encode_cursor, paginate
from services.common.settings import ComponentSettings

log = structlog.get_logger("govperf.events")
INBOX_PATH = "/v1/webhooks/inbox"


@dataclass(frozen=True)
class ReceivedEvent:
    webhook_id: str
    type: str
    timestamp: str
    data: dict[str, Any]


EventHandler = Callable[[AsyncSession, ReceivedEvent], Awaitable[None]]


class SiblingSubscription(Conflict):
    code = "sibling-subscription"
    title = "Subscriptions between the services are managed by configuration"


def inbox_secret(settings: ComponentSettings, receiver: str) -> str:
    """The secret a sibling signs with when it delivers to `receiver`'s inbox."""
    return signing.derive_secret(settings.jwt_secret.get_secret_value(), f"inbox:{receiver}")


def accepted_inbox_secrets(settings: ComponentSettings, component: str) -> list[str]:
    extra = [s.get_secret_value() for s in settings.webhook_inbox_secrets]
    return [inbox_secret(settings, component), *extra]


def _tables(session: AsyncSession) -> CommonTables:
    return session.info[TABLES]


# --- siblings ---------------------------------------------------------------------------


async def sync_siblings(
    db: Database,
    tables: CommonTables,
    settings: ComponentSettings,
    subscribers: Mapping[str, tuple[str, ...]],
) -> None:
    """Make the sibling subscriptions match this service's declared subscribers."""
    s = tables.subscriptions
    urls = settings.service_urls()
    async with db.session() as session:
        existing = {
            row.name: row
            for row in (await session.scalars(select(s).where(s.kind == "sibling"))).all()
        }
        for receiver, event_types in subscribers.items():
            wanted = {
                "url": f"{urls[receiver]}{INBOX_PATH}",
                "event_types": list(event_types),
                "secrets": [{"secret": inbox_secret(settings, receiver), "expires_at": None}],
                "status": "active",
                "disabled_reason": None,
            }
            row = existing.pop(receiver, None)
            if row is None:
                session.add(
                    s(
                        name=receiver,
                        kind="sibling",
                        jurisdiction_code=None,
                        description=f"the {receiver} service",
                        created_by="settings",
                        **wanted,
                    )
                )
            elif any(getattr(row, k) != v for k, v in wanted.items()):
                for key, value in wanted.items():
                    setattr(row, key, value)
        for stale in existing.values():
            stale.status, stale.disabled_reason = "disabled", "no longer in the configuration"
        try:
            await session.commit()
        except IntegrityError:  # another replica synced at the same moment
            await session.rollback()


# --- third-party subscriptions ----------------------------------------------------------


def _visible(stmt: Any, s: Any, principal: Principal) -> Any:
    if principal.role == "portal":
        return stmt.where(s.kind == "external", s.created_by == principal.subject)
    return stmt.where((s.kind == "sibling") | s.jurisdiction_code.in_(principal.jurisdictions))


def _visible_event(o: Any, principal: Principal) -> Any:
    """Events whose deliveries to a sibling service the principal may see and replay.

    A sibling subscription is not bound to a jurisdiction: it carries every jurisdiction's
    events, so each of its deliveries belongs to its event's jurisdiction. Events of none
    (a test ping of the subscription itself) are anyone's who sees the subscription.
    """
    return o.jurisdiction_code.in_(principal.jurisdictions) | o.jurisdiction_code.is_(None)


def _of_visible_events(session: AsyncSession, row: Any, principal: Principal) -> Any:
    """A condition on deliveries of subscription `row`: those the principal may see."""
    if row.kind != "sibling":
        return true()  # an external subscription's events are all of its own jurisdiction
    t = _tables(session)
    d, o = t.deliveries, t.outbox
    return select(o.seq).where(o.seq == d.event_seq, _visible_event(o, principal)).exists()


async def get_subscription(
    session: AsyncSession, principal: Principal, subscription_id: uuid.UUID
) -> Any:
    s = _tables(session).subscriptions
    row = await session.scalar(_visible(select(s).where(s.id == subscription_id), s, principal))
    if row is None:
        raise NotFound(f"Subscription {subscription_id} not found")
    return row


async def _writable(session: AsyncSession, principal: Principal, subscription_id: uuid.UUID) -> Any:
    row = await get_subscription(session, principal, subscription_id)
    if row.kind == "sibling":
        raise SiblingSubscription(f"Subscription {row.name} comes from the settings")
    return row


async def list_subscriptions(
    session: AsyncSession, principal: Principal, page: PageParams
) -> tuple[list[Any], str | None]:
    s = _tables(session).subscriptions
    return await paginate(session, _visible(select(s), s, principal), s.id, page)


async def create_subscription(
    session: AsyncSession,
    principal: Principal,
    data: SubscriptionCreate,
    settings: ComponentSettings,
) -> tuple[Any, str]:
    """A third party's endpoint; returns the row and its secret (shown to the caller once)."""
    ensure_writable(principal, data.jurisdiction_code)
    await validate_target(
        data.url,
        allow_private=settings.webhook_allow_private_targets,
        allowed_hosts=settings.webhook_allowed_hosts,
    )
    secret = signing.generate_secret()
    s = _tables(session).subscriptions
    row = s(
        id=uuid.uuid4(),
        kind="external",
        jurisdiction_code=data.jurisdiction_code,
        url=data.url,
        event_types=data.event_types,
        name=data.name or data.url,
        description=data.description,
        status="active",
        secrets=[{"secret": secret, "expires_at": None}],
        created_by=principal.subject,
    )
    session.add(row)
    await session.flush()
    record_change(session, principal, "webhook_subscription.created", row, after=_redacted(row))
    return row, secret


def _redacted(row: Any) -> dict[str, Any]:
    data = snapshot(row)
    data["secrets"] = f"{len(row.secrets)} secret(s)"
    return data


async def update_subscription(
    session: AsyncSession,
    principal: Principal,
    subscription_id: uuid.UUID,
    data: SubscriptionUpdate,
    settings: ComponentSettings,
) -> Any:
    row = await _writable(session, principal, subscription_id)
    before = _redacted(row)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "url" in changes:
        await validate_target(
            changes["url"],
            allow_private=settings.webhook_allow_private_targets,
            allowed_hosts=settings.webhook_allowed_hosts,
        )
    if changes.get("status") == "active":
        changes.update(disabled_reason=None, failing_since=None)
    elif changes.get("status") == "disabled":
        changes["disabled_reason"] = f"disabled by {principal.subject}"
    for key, value in changes.items():
        setattr(row, key, value)
    await session.flush()
    record_change(
        session, principal, "webhook_subscription.updated", row, before=before, after=_redacted(row)
    )
    return row


async def delete_subscription(
    session: AsyncSession, principal: Principal, subscription_id: uuid.UUID
) -> None:
    row = await _writable(session, principal, subscription_id)
    before = _redacted(row)
    await session.delete(row)
    record_change(
        session, principal, "webhook_subscription.deleted", row, before=before, after=None
    )


async def rotate_secret(
    session: AsyncSession,
    principal: Principal,
    subscription_id: uuid.UUID,
    settings: ComponentSettings,
) -> tuple[str, Any]:
    """A new secret; the current one keeps signing (beside it) for the grace period."""
    row = await _writable(session, principal, subscription_id)
    now = utcnow()
    grace_until = now + timedelta(seconds=settings.webhook_secret_grace_seconds)
    kept = []
    for entry in row.secrets:
        expires = entry.get("expires_at")
        if expires is None:
            kept.append({"secret": entry["secret"], "expires_at": grace_until.isoformat()})
        elif expires > now.isoformat():
            kept.append(entry)
    secret = signing.generate_secret()
    row.secrets = [{"secret": secret, "expires_at": None}, *kept]
    await session.flush()
    record_change(session, principal, "webhook_subscription.secret_rotated", row, after=None)
    return secret, grace_until if kept else None


async def send_test(
    session: AsyncSession, principal: Principal, subscription_id: uuid.UUID
) -> uuid.UUID:
    row = await get_subscription(session, principal, subscription_id)
    return await emit(
        session,
        "webhook.test",
        aggregate=f"webhook_subscription:{row.id}",
        jurisdiction_code=row.jurisdiction_code,
        only_subscription=row.id,
        data={"subscription_id": str(row.id), "message": "test ping"},
    )


async def subscription_health(
    session: AsyncSession, principal: Principal, subscription_id: uuid.UUID
) -> dict[str, Any]:
    row = await get_subscription(session, principal, subscription_id)
    t = _tables(session)
    d, a = t.deliveries, t.attempts
    since = utcnow() - timedelta(hours=24)
    visible = _of_visible_events(session, row, principal)
    of_subscription = select(d.seq).where(d.subscription_id == row.id, visible)
    recent = (
        await session.execute(
            select(a.outcome, func.count())
            .where(a.delivery_seq.in_(of_subscription), a.started_at >= since)
            .group_by(a.outcome)
        )
    ).all()
    counts = dict(recent)
    attempts = sum(counts.values())
    latest = (
        await session.execute(
            select(a.outcome, a.error, a.started_at)
            .where(a.delivery_seq.in_(of_subscription))
            .order_by(a.started_at.desc())
            .limit(1000)
        )
    ).all()
    consecutive = 0
    for attempt in latest:
        if attempt.outcome == "succeeded":
            break
        consecutive += 1
    last_error = next((x.error for x in latest if x.outcome == "failed"), None)
    statuses = dict(
        (
            await session.execute(
                select(d.status, func.count())
                .where(d.subscription_id == row.id, visible, d.status.in_(("pending", "dead")))
                .group_by(d.status)
            )
        ).all()
    )
    return {
        "subscription_id": row.id,
        "status": row.status,
        "attempts_24h": attempts,
        "succeeded_24h": counts.get("succeeded", 0),
        "success_rate_24h": counts.get("succeeded", 0) / attempts if attempts else None,
        "consecutive_failures": consecutive,
        "last_error": last_error,
        "last_attempt_at": latest[0].started_at if latest else None,
        "pending": statuses.get("pending", 0),
        "dead": statuses.get("dead", 0),
    }


# --- deliveries -------------------------------------------------------------------------


def _deliveries_query(session: AsyncSession, principal: Principal) -> Any:
    t = _tables(session)
    d, o, s = t.deliveries, t.outbox, t.subscriptions
    stmt = (
        select(d, o.type.label("event_type"), o.id.label("event_id"))
        .join(o, o.seq == d.event_seq)
        .join(s, s.id == d.subscription_id)
    )
    stmt = _visible(stmt, s, principal).where((s.kind != "sibling") | _visible_event(o, principal))
    return stmt, d


def _delivery_dict(row: Any) -> dict[str, Any]:
    delivery = row[0]
    data = {
        k: getattr(delivery, k)
        for k in (
            "seq",
            "subscription_id",
            "aggregate",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
            "completed_at",
        )
    }
    data.update(event_type=row.event_type, event_id=row.event_id)
    return data


async def list_deliveries(
    session: AsyncSession,
    principal: Principal,
    page: PageParams,
    *,
    status: str | None,
    subscription_id: uuid.UUID | None,
) -> tuple[list[dict[str, Any]], str | None]:
    stmt, d = _deliveries_query(session, principal)
    if status is not None:
        stmt = stmt.where(d.status == status)
    if subscription_id is not None:
        stmt = stmt.where(d.subscription_id == subscription_id)
    if page.cursor:
        stmt = stmt.where(d.seq > decode_cursor(page.cursor, int))
    rows = (await session.execute(stmt.order_by(d.seq).limit(page.limit + 1))).all()
    next_cursor = encode_cursor(rows[page.limit - 1][0].seq) if len(rows) > page.limit else None
    return [_delivery_dict(r) for r in rows[: page.limit]], next_cursor


async def get_delivery(session: AsyncSession, principal: Principal, seq: int) -> dict[str, Any]:
    stmt, d = _deliveries_query(session, principal)
    row = (await session.execute(stmt.where(d.seq == seq))).first()
    if row is None:
        raise NotFound(f"Delivery {seq} not found")
    a = _tables(session).attempts
    attempts = (
        await session.scalars(select(a).where(a.delivery_seq == seq).order_by(a.attempt))
    ).all()
    return {**_delivery_dict(row), "attempt_log": attempts}


async def replay(
    session: AsyncSession,
    principal: Principal,
    *,
    delivery_seq: int | None = None,
    subscription_id: uuid.UUID | None = None,
) -> int:
    """Send dead deliveries again, from a fresh retry schedule."""
    d = _tables(session).deliveries
    if delivery_seq is not None:
        await get_delivery(session, principal, delivery_seq)
        target = d.seq == delivery_seq
    else:
        row = await get_subscription(session, principal, subscription_id)
        target = (d.subscription_id == row.id) & _of_visible_events(session, row, principal)
    result = await session.execute(
        update(d)
        .where(target, d.status == "dead")
        .values(
            status="pending",
            attempts=0,
            next_attempt_at=utcnow(),
            completed_at=None,
            lease_until=None,
        )
    )
    replayed = result.rowcount or 0
    if replayed:
        await wake_dispatchers(session)  # this process's and, on PostgreSQL, every replica's
    return replayed


# --- inbox ------------------------------------------------------------------------------

"""Emitting events: the outbox row and its deliveries are written in the caller's transaction.

Nothing is sent here. The dispatcher delivers after commit; a rolled-back change takes its
events with it, and a process that dies after commit leaves them for the next dispatcher.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.common.context import current_request_id
from services.common.db import new_id, utcnow

# Keys of session.info, set by the service app when it creates its sessionmakers.
TABLES = "govperf_tables"
COMPONENT = "govperf_component"
WAKE = "govperf_wake_dispatcher"
_HOOKED = "govperf_events_hooked"
_ACTIVE = "govperf_active_subscriptions"
_WATCHED = "govperf_subscriptions_watched"


def matches(event_type: str, patterns: list[str]) -> bool:
    """`results.*`, `*.published` and `*` style filters."""
    return any(fnmatch.fnmatchcase(event_type, p) for p in patterns)


def notify_channel(component: str) -> str:
    return f"govperf_events_{component}"


def envelope(event_type: str, data: dict[str, Any], *, version: int) -> str:
    """The body every receiver gets: `{"type", "timestamp", "data"}`, data versioned."""
    body = {
        "type": event_type,
        "timestamp": utcnow().isoformat().replace("+00:00", "Z"),
        "data": {**data, "version": version},
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=_json_value)


def _json_value(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return str(value)


async def emit(
    session: AsyncSession,
    event_type: str,
    *,
    aggregate: str,
    data: dict[str, Any],
    jurisdiction_code: str | None = None,
    version: int = 1,
    only_subscription: Any = None,
) -> Any:
    """Record an event and its deliveries in the current transaction; return the event id.

    `aggregate` orders delivery: events of one aggregate reach each subscriber in the order
    they were emitted. `only_subscription` targets one subscription (a test ping).
    """
    tables = session.info[TABLES]
    outbox = tables.outbox.__table__
    subscriptions, deliveries = tables.subscriptions.__table__, tables.deliveries.__table__
    # Core statements on the session's connection: the ORM's bulk-insert machinery would
    # cost more than the rest of emit together.
    connection = await session.connection()
    event_id = new_id()
    now = utcnow()
    seq = (
        await connection.execute(
            insert(outbox).returning(outbox.c.seq),
            {
                "id": event_id,
                "type": event_type,
                "aggregate": aggregate,
                "jurisdiction_code": jurisdiction_code,
                "body": envelope(event_type, data, version=version),
                "request_id": current_request_id(),
                "created_at": now,
            },
        )
    ).scalar_one()
    if only_subscription is not None:
        query = select(subscriptions.c.id).where(
            subscriptions.c.status == "active", subscriptions.c.id == only_subscription
        )
        targets = list((await connection.execute(query)).scalars())
    else:
        targets = [
            row.id
            for row in await _active_subscriptions(session, connection)
            if matches(event_type, row.event_types)
            and (row.kind == "sibling" or row.jurisdiction_code == jurisdiction_code)
        ]
    if targets:
        await connection.execute(
            insert(deliveries),
            [
                {
                    "event_seq": seq,
                    "subscription_id": target,
                    "aggregate": aggregate,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for target in targets
            ],
        )
        await wake_dispatchers(session)
    return event_id


async def _active_subscriptions(session: AsyncSession, connection: AsyncConnection) -> list[Any]:
    """The active subscriptions, read once per transaction however many events it emits.

    Forgotten when the transaction ends, and when the session flushes a change to a
    subscription (a subscription disabled and announced in one transaction).
    """
    cached = session.info.get(_ACTIVE)
    if cached is None:
        subscriptions = session.info[TABLES].subscriptions
        table = subscriptions.__table__
        query = select(table.c.id, table.c.kind, table.c.jurisdiction_code, table.c.event_types)
        cached = list((await connection.execute(query.where(table.c.status == "active"))).all())
        session.info[_ACTIVE] = cached
        sync = session.sync_session
        if not sync.info.get(_WATCHED):
            sync.info[_WATCHED] = True

            def forget(*_: Any) -> None:
                sync.info.pop(_ACTIVE, None)

            def flushed(flushed_session: Any, _context: Any) -> None:
                changed = (*flushed_session.new, *flushed_session.dirty, *flushed_session.deleted)
                if any(isinstance(obj, subscriptions) for obj in changed):
                    forget()

            event.listen(sync, "after_transaction_end", forget)
            event.listen(sync, "after_flush", flushed)
    return cached


async def wake_dispatchers(session: AsyncSession) -> None:
    """Wake the dispatcher of this process at commit, and on PostgreSQL every replica's.

    Once per transaction: the flag is cleared when the transaction ends either way.
    """
    if session.info.get(_HOOKED):
        return
    session.info[_HOOKED] = True
    if session.get_bind().dialect.name == "postgresql":
        # NOTIFY is transactional: listeners hear it only if the commit happens.
        await session.execute(
            text("SELECT pg_notify(:channel, '')"),
            {"channel": notify_channel(session.info[COMPONENT])},
        )
    wake: Callable[[], None] | None = session.info.get(WAKE)

    def ended(_session: Any) -> None:
        session.info.pop(_HOOKED, None)

    def committed(_session: Any) -> None:
        ended(_session)
        if wake is not None:
            wake()

    event.listen(session.sync_session, "after_commit", committed, once=True)
    event.listen(session.sync_session, "after_rollback", ended, once=True)

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
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.context import current_request_id
from services.common.db import new_id, utcnow

# Keys of session.info, set by the service app when it creates its sessionmakers.
TABLES = "govperf_tables"
COMPONENT = "govperf_component"
WAKE = "govperf_wake_dispatcher"
_HOOKED = "govperf_events_hooked"


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
    outbox, subscriptions, deliveries = tables.outbox, tables.subscriptions, tables.deliveries
    event_id = new_id()
    now = utcnow()
    seq = await session.scalar(
        insert(outbox)
        .values(
            id=event_id,
            type=event_type,
            aggregate=aggregate,
            jurisdiction_code=jurisdiction_code,
            body=envelope(event_type, data, version=version),
            request_id=current_request_id(),
            created_at=now,
        )
        .returning(outbox.seq)
    )
    query = select(
        subscriptions.id,
        subscriptions.kind,
        subscriptions.jurisdiction_code,
        subscriptions.event_types,
    ).where(subscriptions.status == "active")
    if only_subscription is not None:
        query = query.where(subscriptions.id == only_subscription)
    targets = [
        row.id
        for row in (await session.execute(query)).all()
        if only_subscription is not None
        or (
            matches(event_type, row.event_types)
            and (row.kind == "sibling" or row.jurisdiction_code == jurisdiction_code)
        )
    ]
    if targets:
        await session.execute(
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

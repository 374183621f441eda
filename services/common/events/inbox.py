"""The receiving side: one signed message carries one event, or a batch of them.

A sibling service delivering a backlog to another sibling sends up to
`webhook_sibling_batch_size` first attempts in one Standard Webhooks message of type
`events.batch` (docs/events.md); everything else, and every retry, travels one event per
message. Each event of a batch is deduplicated by its own message id (`msg_<event id>`, the
id it carries when sent alone), so a batch that reached us before its response was lost and
the single retries that follow have one effect. A batch is handled in one transaction: any
failing event rolls the whole batch back and the sender retries its events one by one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import upsert_insert, utcnow
from services.common.errors import Unprocessable
from services.common.events.outbox import TABLES
from services.common.events.subscriptions import EventHandler, ReceivedEvent

BATCH_TYPE = "events.batch"
BATCH_VERSION = 1


class InvalidEvent(Unprocessable):
    code = "invalid-event"
    title = "The body is not a {type, timestamp, data} event"


def batch_body(items: list[tuple[str, str]], timestamp: str) -> str:
    """The `events.batch` body for (message id, event body) pairs, without re-encoding the
    events: `{"type": "events.batch", "timestamp", "data": {"version", "events": [{"id",
    "event"}]}}`."""
    events = ",".join(f'{{"id":{json.dumps(mid)},"event":{body}}}' for mid, body in items)
    return (
        f'{{"type":"{BATCH_TYPE}","timestamp":"{timestamp}",'
        f'"data":{{"version":{BATCH_VERSION},"events":[{events}]}}}}'
    )


def _event(webhook_id: str, envelope: Any) -> ReceivedEvent:
    try:
        return ReceivedEvent(
            webhook_id=str(webhook_id),
            type=str(envelope["type"]),
            timestamp=str(envelope.get("timestamp", "")),
            data=dict(envelope["data"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidEvent() from exc


def parse(webhook_id: str, body: bytes) -> tuple[bool, list[ReceivedEvent]]:
    """(whether the message is a batch, the events it carries in order)."""
    try:
        envelope = json.loads(body)
    except ValueError as exc:
        raise InvalidEvent("The body is not JSON") from exc
    event = _event(webhook_id, envelope)
    if event.type != BATCH_TYPE:
        return False, [event]
    try:
        items = [(item["id"], item["event"]) for item in event.data["events"]]
    except (KeyError, TypeError) as exc:
        raise InvalidEvent("An events.batch carries data.events: [{id, event}]") from exc
    events = [_event(mid, inner) for mid, inner in items]
    if len({e.webhook_id for e in events}) != len(events):
        raise InvalidEvent("An events.batch carries each event id once")
    return True, events


async def accept_new(session: AsyncSession, events: list[ReceivedEvent]) -> set[str]:
    """Record the message ids in the inbox in one statement; return those not seen before."""
    if not events:
        return set()
    inbox = session.info[TABLES].inbox.__table__
    now = utcnow()
    connection = await session.connection()
    result = await connection.execute(
        upsert_insert(session, inbox)
        .values([{"webhook_id": e.webhook_id, "type": e.type, "received_at": now} for e in events])
        .on_conflict_do_nothing(index_elements=["webhook_id"])
        .returning(inbox.c.webhook_id)
    )
    return set(result.scalars().all())


async def receive(
    session: AsyncSession,
    handlers: Mapping[str, EventHandler],
    events: list[ReceivedEvent],
    *,
    batch: bool = False,
) -> dict[str, Any]:
    """Handle each new event once, in order, in the caller's transaction."""
    new = await accept_new(session, events)
    counts = {"processed": 0, "duplicate": 0, "ignored": 0}
    for event in events:
        if event.webhook_id not in new:
            counts["duplicate"] += 1
            continue
        handler = handlers.get(event.type)
        if handler is None:
            counts["ignored"] += 1
            continue
        await handler(session, event)
        counts["processed"] += 1
    if not batch:
        return {"status": next(k for k, v in counts.items() if v)}
    return {"status": "processed", **counts}

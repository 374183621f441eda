"""Events the feedback service handles (catalog: docs/events.md).

`publication.published` / `publication.retracted` from the disclosure service keep the
list of published items citizens may comment on.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import upsert_statement, utcnow
from services.common.events.subscriptions import ReceivedEvent
from services.feedback.models import PublishedItem

_UPDATED = (
    "jurisdiction_code",
    "kind",
    "title",
    "status",
    "published_at",
    "retracted_at",
    "updated_at",
)


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


async def on_publication_changed(session: AsyncSession, event: ReceivedEvent) -> None:
    """Insert or refresh the published item, in one statement."""
    data = event.data
    values = {
        "publication_id": uuid.UUID(data["publication_id"]),
        "jurisdiction_code": data["jurisdiction_code"],
        "kind": data["kind"],
        "title": data["title"],
        "status": data["status"],
        "published_at": _when(data.get("published_at")),
        "retracted_at": _when(data.get("retracted_at")),
        "updated_at": utcnow(),
    }
    statement = upsert_statement(session, PublishedItem, ("publication_id",), _UPDATED)
    await (await session.connection()).execute(statement, values)


HANDLERS = {
    "publication.published": on_publication_changed,
    "publication.retracted": on_publication_changed,
}

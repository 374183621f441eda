"""Events the feedback service handles (catalog: docs/events.md).

`publication.published` / `publication.retracted` from the disclosure service keep the
list of published items citizens may comment on.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.events.subscriptions import ReceivedEvent
from services.feedback.models import PublishedItem


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


async def on_publication_changed(session: AsyncSession, event: ReceivedEvent) -> None:
    data = event.data
    publication_id = uuid.UUID(data["publication_id"])
    item = await session.get(PublishedItem, publication_id)
    if item is None:
        item = PublishedItem(publication_id=publication_id)
        session.add(item)
    item.jurisdiction_code = data["jurisdiction_code"]
    item.kind = data["kind"]
    item.title = data["title"]
    item.status = data["status"]
    item.published_at = _when(data.get("published_at"))
    item.retracted_at = _when(data.get("retracted_at"))
    await session.flush()


HANDLERS = {
    "publication.published": on_publication_changed,
    "publication.retracted": on_publication_changed,
}

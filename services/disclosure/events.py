"""Events of the disclosure service (catalog: docs/events.md).

Emits `publication.published` and `publication.retracted`; the feedback service receives
them (citizens may comment on what is published), third-party portals may subscribe.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.events.outbox import emit
from services.disclosure.models import Publication

SIBLING_SUBSCRIBERS = {"feedback": ("publication.published", "publication.retracted")}


async def publication_changed(
    session: AsyncSession, publication: Publication, event_type: str
) -> None:
    await emit(
        session,
        event_type,
        aggregate=f"publication:{publication.id}",
        jurisdiction_code=publication.jurisdiction_code,
        data={
            "publication_id": str(publication.id),
            "jurisdiction_code": publication.jurisdiction_code,
            "kind": publication.kind,
            "title": publication.title,
            "publication_version": publication.version,
            "status": publication.status,
            "published_at": publication.published_at,
            "retracted_at": publication.retracted_at,
            "retraction_reason": publication.retraction_reason,
        },
    )

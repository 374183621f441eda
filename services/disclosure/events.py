"""Events of the disclosure service (catalog: docs/events.md).

Emits `publication.published` and `publication.retracted` with the real version number and
the subjects (cycle, department) of the version; the feedback service receives them
(citizens may comment on what is published), third-party portals may subscribe.

Handles what the siblings deliver (services/disclosure/drafts.py writes the drafts):
`indicator_system.published`, `cycle.opened`, `results.*`, `rectification.*`,
`appeal.decided`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.events.outbox import emit

if TYPE_CHECKING:
    from services.disclosure.models import Publication, PublicationVersion

SIBLING_SUBSCRIBERS = {"feedback": ("publication.published", "publication.retracted")}


async def publication_changed(
    session: AsyncSession,
    publication: Publication,
    version: PublicationVersion,
    event_type: str,
) -> None:
    await emit(
        session,
        event_type,
        aggregate=f"publication:{publication.id}",
        jurisdiction_code=publication.jurisdiction_code,
        data={
            "publication_id": str(publication.id),
            "jurisdiction_code": publication.jurisdiction_code,
            "kind": version.kind,
            "title": version.title,
            "title_en": version.title_en,
            "publication_version": version.version,
            "supersedes": version.supersedes,
            "status": "retracted" if version.retracted_at else "published",
            "cycle_id": str(version.cycle_id) if version.cycle_id else None,
            "department_id": str(version.department_id) if version.department_id else None,
            "department": version.department_code,
            "period": version.period,
            "category": version.category,
            "subject_key": publication.subject_key,
            "ledger_seq": version.ledger_seq,
            "published_at": version.published_at,
            "retracted_at": version.retracted_at,
            "retraction_reason": version.retraction_reason,
        },
    )

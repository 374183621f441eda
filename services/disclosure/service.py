"""Rules for publications: drafts stay inside the jurisdiction, published ones are public."""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.audit import record_change, snapshot
from services.common.auth import Principal
from services.common.db import utcnow
from services.common.errors import Conflict, NotFound, Unprocessable
from services.common.jurisdictions import ensure_writable, get_writable
from services.common.pagination import PageParams, paginate
from services.disclosure import events, schemas
from services.disclosure.models import Publication


class PublicationNotDraft(Conflict):
    code = "publication-not-draft"
    title = "Only a draft publication can change"


class PublicationNotPublished(Conflict):
    code = "publication-not-published"
    title = "Only a published publication can be retracted"


def _visible(principal: Principal):
    """Published items for everyone; drafts and retractions for the office's admins only."""
    if principal.role != "admin":
        return Publication.status == "published"
    return or_(
        Publication.status == "published",
        Publication.jurisdiction_code.in_(principal.jurisdictions),
    )


async def list_publications(
    session: AsyncSession,
    principal: Principal,
    page: PageParams,
    *,
    jurisdiction: str | None = None,
    kind: str | None = None,
    status: str | None = None,
) -> tuple[list[Publication], str | None]:
    """Published items of every jurisdiction plus drafts and retractions of one's own."""
    stmt = select(Publication).where(_visible(principal))
    if jurisdiction is not None:
        stmt = stmt.where(Publication.jurisdiction_code == jurisdiction)
    if kind is not None:
        stmt = stmt.where(Publication.kind == kind)
    if status is not None:
        stmt = stmt.where(Publication.status == status)
    return await paginate(session, stmt, Publication.id, page)


async def get_publication(
    session: AsyncSession, principal: Principal, publication_id: uuid.UUID
) -> Publication:
    publication = await session.scalar(
        select(Publication).where(Publication.id == publication_id, _visible(principal))
    )
    if publication is None:
        raise NotFound(f"Publication {publication_id} not found")
    return publication


async def create_publication(
    session: AsyncSession, principal: Principal, data: schemas.PublicationCreate
) -> Publication:
    ensure_writable(principal, data.jurisdiction_code)
    publication = Publication(**data.model_dump(), status="draft", version=0)
    session.add(publication)
    await session.flush()
    record_change(session, principal, "publication.created", publication)
    return publication


async def _change(
    session: AsyncSession, principal: Principal, publication_id: uuid.UUID
) -> tuple[Publication, dict]:
    publication = await get_writable(
        session, Publication, publication_id, principal, what="Publication"
    )
    return publication, snapshot(publication)


async def update_publication(
    session: AsyncSession,
    principal: Principal,
    publication_id: uuid.UUID,
    data: schemas.PublicationUpdate,
) -> Publication:
    """Edit a draft; what is published stays as it was published."""
    publication, before = await _change(session, principal, publication_id)
    if publication.status != "draft":
        raise PublicationNotDraft(f"Publication {publication.id} is {publication.status}")
    changes = data.model_dump(exclude_unset=True)
    if any(changes.get(f, "") is None for f in ("kind", "title", "body")):
        raise Unprocessable("kind, title and body cannot be null", code="null-not-allowed")
    for field, value in changes.items():
        setattr(publication, field, value)
    await session.flush()
    record_change(session, principal, "publication.updated", publication, before=before)
    return publication


async def publish(
    session: AsyncSession, principal: Principal, publication_id: uuid.UUID
) -> Publication:
    publication, before = await _change(session, principal, publication_id)
    if publication.status != "draft":
        raise PublicationNotDraft(f"Publication {publication.id} is {publication.status}")
    publication.status = "published"
    publication.published_at = utcnow()
    await session.flush()
    record_change(session, principal, "publication.published", publication, before=before)
    await events.publication_changed(session, publication, "publication.published")
    return publication


async def retract(
    session: AsyncSession,
    principal: Principal,
    publication_id: uuid.UUID,
    data: schemas.Retraction,
) -> Publication:
    publication, before = await _change(session, principal, publication_id)
    if publication.status != "published":
        raise PublicationNotPublished(f"Publication {publication.id} is {publication.status}")
    publication.status = "retracted"
    publication.retracted_at = utcnow()
    publication.retraction_reason = data.reason
    await session.flush()
    record_change(session, principal, "publication.retracted", publication, before=before)
    await events.publication_changed(session, publication, "publication.retracted")
    return publication

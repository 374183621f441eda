"""Rules for publications: draft → approved → scheduled/published → retracted.

The `publications` row is the working copy; publishing freezes it into a
`publication_versions` row, appends it to the ledger and emits `publication.published`, all
in the caller's transaction. Public readers see only frozen versions: the latest one of a
publication (withdrawn if retracted) and, through the version history, every earlier one.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, false, not_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from services.common.audit import record_change, snapshot
from services.common.auth import Principal
from services.common.db import utcnow
from services.common.errors import Conflict, Forbidden, NotFound, Unprocessable
from services.common.jurisdictions import ensure_writable, get_writable
from services.common.pagination import PageParams, paginate
from services.disclosure import events, ledger, schemas
from services.disclosure.models import Publication, PublicationVersion
from services.disclosure.privacy import scrub_text, scrub_value

# The working copy's fields that a version freezes.
CONTENT_FIELDS = (
    "kind",
    "title",
    "title_en",
    "summary",
    "summary_en",
    "body",
    "data",
    "attachments",
    "cycle_id",
    "department_id",
    "department_code",
    "period",
    "category",
)
# What a retraction withdraws from public reads; the record and its reason stay.
WITHDRAWN = {"summary": None, "summary_en": None, "body": "", "data": None, "attachments": []}
READY = ("approved", "scheduled")


class PublicationNotDraft(Conflict):
    code = "publication-not-draft"
    title = "Only a draft publication can be approved"


class PublicationNotPublished(Conflict):
    code = "publication-not-published"
    title = "Only a published publication can be retracted"


class NothingToPublish(Conflict):
    code = "nothing-to-publish"
    title = "The publication has no draft to publish; edit it to start its next version"


class ApprovalRequired(Conflict):
    code = "approval-required"
    title = "This kind of publication needs an approver before it is published"


class ApproverIsEditor(Forbidden):
    code = "approver-is-editor"
    title = "A draft is approved by an admin other than its editor"


class ScheduleInPast(Unprocessable):
    code = "schedule-in-past"
    title = "A publication is scheduled for a time still to come"


class VersionNotFound(NotFound):
    code = "version-not-found"
    title = "The publication has no such published version"


# --- reading ------------------------------------------------------------------------------


def _own(principal: Principal) -> Any:
    """Rows the principal sees as working copies: its own jurisdictions' (admins only)."""
    if principal.role != "admin" or not principal.jurisdictions:
        return false()
    return Publication.jurisdiction_code.in_(principal.jurisdictions)


def _public_status(status: str) -> Any:
    if status not in ("published", "retracted"):
        return false()
    retracted = PublicationVersion.retracted_at.is_not(None)
    return and_(
        Publication.version >= 1,
        exists().where(
            PublicationVersion.publication_id == Publication.id,
            PublicationVersion.version == Publication.version,
            retracted if status == "retracted" else not_(retracted),
        ),
    )


def _select(principal: Principal) -> Any:
    """Publications for `principal`: whoever sees only public views reads the versions'
    content, so the working copy's own content columns stay unloaded."""
    stmt = select(Publication)
    if principal.role != "admin":
        stmt = stmt.options(
            load_only(
                Publication.id,
                Publication.jurisdiction_code,
                Publication.kind,
                Publication.version,
                Publication.subject_key,
                Publication.created_at,
                raiseload=True,
            )
        )
    return stmt


def _visible(principal: Principal) -> Any:
    """Published (or retracted) publications for everyone; working copies for their office."""
    return or_(Publication.version >= 1, _own(principal))


def version_view(version: PublicationVersion) -> dict[str, Any]:
    """A version as the public reads it: its content, or its record only once retracted."""
    view = {
        f: getattr(version, f)
        for f in (
            *CONTENT_FIELDS,
            "publication_id",
            "jurisdiction_code",
            "version",
            "supersedes",
            "published_at",
            "retracted_at",
            "retraction_reason",
            "ledger_seq",
        )
    }
    view["status"] = "retracted" if version.retracted_at else "published"
    if version.retracted_at:
        view.update(WITHDRAWN)
    return view


def public_view(publication: Publication, version: PublicationVersion) -> dict[str, Any]:
    """The publication as the public sees it: its latest version, never the working copy."""
    view = version_view(version)
    return {
        **view,
        "id": publication.id,
        "subject_key": publication.subject_key,
        "editor": None,
        "approved_by": None,
        "approved_at": None,
        "scheduled_at": None,
        "created_at": publication.created_at,
        "updated_at": max(version.published_at, version.retracted_at or version.published_at),
    }


async def _current_versions(
    session: AsyncSession, publications: list[Publication]
) -> dict[uuid.UUID, PublicationVersion]:
    wanted = [p.id for p in publications if p.version >= 1]
    if not wanted:
        return {}
    rows = await session.scalars(
        select(PublicationVersion)
        .join(
            Publication,
            and_(
                Publication.id == PublicationVersion.publication_id,
                Publication.version == PublicationVersion.version,
            ),
        )
        .where(Publication.id.in_(wanted))
    )
    return {v.publication_id: v for v in rows}


async def render(
    session: AsyncSession, principal: Principal, publications: list[Publication]
) -> list[dict[str, Any] | Publication]:
    """Each publication as `principal` may see it."""
    versions = await _current_versions(
        session, [p for p in publications if not _sees_working_copy(principal, p)]
    )
    return [
        p if _sees_working_copy(principal, p) else public_view(p, versions[p.id])
        for p in publications
    ]


def _sees_working_copy(principal: Principal, publication: Publication) -> bool:
    return principal.role == "admin" and principal.may_access(publication.jurisdiction_code)


async def list_publications(
    session: AsyncSession,
    principal: Principal,
    page: PageParams,
    *,
    jurisdiction: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    cycle_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
) -> tuple[list[dict[str, Any] | Publication], str | None]:
    """Published publications of every jurisdiction plus the working copies of one's own."""
    stmt = _select(principal).where(_visible(principal))
    if jurisdiction is not None:
        stmt = stmt.where(Publication.jurisdiction_code == jurisdiction)
    if kind is not None:
        stmt = stmt.where(Publication.kind == kind)
    if cycle_id is not None:
        stmt = stmt.where(Publication.cycle_id == cycle_id)
    if department_id is not None:
        stmt = stmt.where(Publication.department_id == department_id)
    if status is not None:
        own = _own(principal)
        stmt = stmt.where(
            or_(and_(own, Publication.status == status), and_(not_(own), _public_status(status)))
        )
    rows, next_cursor = await paginate(session, stmt, Publication.id, page)
    return await render(session, principal, rows), next_cursor


async def get_publication(
    session: AsyncSession, principal: Principal, publication_id: uuid.UUID
) -> dict[str, Any] | Publication:
    publication = await session.scalar(
        _select(principal).where(Publication.id == publication_id, _visible(principal))
    )
    if publication is None:
        raise NotFound(f"Publication {publication_id} not found")
    [view] = await render(session, principal, [publication])
    return view


async def _published(session: AsyncSession, publication_id: uuid.UUID) -> Publication:
    publication = await session.scalar(
        select(Publication).where(Publication.id == publication_id, Publication.version >= 1)
    )
    if publication is None:
        raise NotFound(f"Publication {publication_id} has no published version")
    return publication


async def list_versions(
    session: AsyncSession, publication_id: uuid.UUID, page: PageParams
) -> tuple[list[dict[str, Any]], str | None]:
    """The version history, oldest first: public for every published publication."""
    await _published(session, publication_id)
    stmt = select(PublicationVersion).where(PublicationVersion.publication_id == publication_id)
    rows, next_cursor = await paginate(session, stmt, PublicationVersion.version, page, parse=int)
    return [version_view(v) for v in rows], next_cursor


async def get_version(
    session: AsyncSession, publication_id: uuid.UUID, number: str
) -> dict[str, Any]:
    await _published(session, publication_id)
    if not (number.isascii() and number.isdigit() and 1 <= int(number) < 2**31):
        raise VersionNotFound(f"Publication {publication_id} has no version {number!r}")
    version = await session.scalar(
        select(PublicationVersion).where(
            PublicationVersion.publication_id == publication_id,
            PublicationVersion.version == int(number),
        )
    )
    if version is None:
        raise VersionNotFound(f"Publication {publication_id} has no version {number}")
    return version_view(version)


# --- writing ------------------------------------------------------------------------------


async def create_publication(
    session: AsyncSession, principal: Principal, data: schemas.PublicationCreate
) -> Publication:
    """A draft written by `principal`, its editor; nobody outside the office sees it."""
    ensure_writable(principal, data.jurisdiction_code)
    publication = Publication(
        **data.model_dump(mode="python"),
        status="draft",
        version=0,
        editor=principal.subject,
    )
    publication.attachments = [a.model_dump() for a in data.attachments]
    session.add(publication)
    await session.flush()
    record_change(session, principal, "publication.created", publication)
    return publication


async def _change(
    session: AsyncSession, principal: Principal, publication_id: uuid.UUID
) -> tuple[Publication, dict[str, Any]]:
    publication = await get_writable(
        session, Publication, publication_id, principal, what="Publication"
    )
    return publication, snapshot(publication)


def reopen(publication: Publication, editor: str) -> None:
    """Back to a draft: a change needs approving (or publishing) again."""
    publication.status = "draft"
    publication.editor = editor
    publication.approved_by = None
    publication.approved_at = None
    publication.scheduled_at = None


async def update_publication(
    session: AsyncSession,
    principal: Principal,
    publication_id: uuid.UUID,
    data: schemas.PublicationUpdate,
) -> Publication:
    """Edit the working copy. Of a published publication this is the draft of its next
    version: the published one stays public until the new one is published."""
    publication, before = await _change(session, principal, publication_id)
    changes = data.model_dump(exclude_unset=True)
    if any(changes.get(f, "") is None for f in ("kind", "title", "body", "attachments")):
        raise Unprocessable(
            "kind, title, body and attachments cannot be null", code="null-not-allowed"
        )
    for field, value in changes.items():
        setattr(publication, field, value)
    reopen(publication, principal.subject)
    await session.flush()
    record_change(session, principal, "publication.updated", publication, before=before)
    return publication


async def approve(
    session: AsyncSession, principal: Principal, publication_id: uuid.UUID
) -> Publication:
    """A second admin's approval of a draft; its editor cannot approve it."""
    publication, before = await _change(session, principal, publication_id)
    if publication.status != "draft":
        raise PublicationNotDraft(f"Publication {publication.id} is {publication.status}")
    if publication.editor == principal.subject:
        raise ApproverIsEditor(
            f"{principal.subject} edited this draft; another admin must approve it"
        )
    publication.status = "approved"
    publication.approved_by = principal.subject
    publication.approved_at = utcnow()
    await session.flush()
    record_change(session, principal, "publication.approved", publication, before=before)
    return publication


def _ensure_ready(publication: Publication, policy: Mapping[str, str]) -> None:
    if publication.status in READY:
        return
    if publication.status != "draft":
        raise NothingToPublish(
            f"Publication {publication.id} is {publication.status} at version "
            f"{publication.version}; edit it to draft the next version"
        )
    if policy.get(publication.kind, "approval") != "auto":
        raise ApprovalRequired(
            f"A {publication.kind} publication is published once another admin approves it"
        )


async def publish(
    session: AsyncSession,
    principal: Principal,
    publication_id: uuid.UUID,
    policy: Mapping[str, str],
) -> Publication:
    """Publish now: an approved (or scheduled) draft, or a draft of a kind published at once."""
    publication, before = await _change(session, principal, publication_id)
    _ensure_ready(publication, policy)
    await freeze(session, publication)
    record_change(session, principal, "publication.published", publication, before=before)
    return publication


async def schedule(
    session: AsyncSession,
    principal: Principal,
    publication_id: uuid.UUID,
    data: schemas.Schedule,
    policy: Mapping[str, str],
) -> Publication:
    """Publish at `publish_at`, with nobody present: the scheduler's round does it."""
    publication, before = await _change(session, principal, publication_id)
    _ensure_ready(publication, policy)
    if data.publish_at <= utcnow():
        raise ScheduleInPast(f"{data.publish_at.isoformat()} has passed; publish now instead")
    publication.status = "scheduled"
    publication.scheduled_at = data.publish_at
    await session.flush()
    record_change(session, principal, "publication.scheduled", publication, before=before)
    return publication


def scrubbed_content(values: Mapping[str, Any]) -> dict[str, Any]:
    """The content fields as they may be published: free text and data scrubbed."""
    content = {f: values.get(f) for f in CONTENT_FIELDS}
    for field in ("title", "title_en", "summary", "summary_en", "body"):
        content[field] = scrub_text(content[field])
    content["data"] = scrub_value(content["data"]) if content["data"] is not None else None
    content["attachments"] = scrub_value(content["attachments"] or [])
    return content


async def freeze(
    session: AsyncSession, publication: Publication, *, now: datetime | None = None
) -> PublicationVersion:
    """Publish the working copy as the next version: scrubbed, frozen, in the ledger, with
    its event, all in the caller's transaction."""
    now = now or utcnow()
    content = scrubbed_content({f: getattr(publication, f) for f in CONTENT_FIELDS})
    for field, value in content.items():
        setattr(publication, field, value)
    number = publication.version + 1
    version = PublicationVersion(
        publication_id=publication.id,
        jurisdiction_code=publication.jurisdiction_code,
        version=number,
        supersedes=publication.version or None,
        published_at=now,
        **content,
    )
    session.add(version)
    await session.flush()
    entry = await ledger.append(session, action="published", version=version, now=now)
    version.ledger_seq = entry.seq
    publication.version = number
    publication.status = "published"
    publication.published_at = now
    publication.scheduled_at = None
    publication.retracted_at = None
    publication.retraction_reason = None
    await session.flush()
    await events.publication_changed(session, publication, version, "publication.published")
    return version


async def retract(
    session: AsyncSession,
    principal: Principal,
    publication_id: uuid.UUID,
    data: schemas.Retraction,
) -> Publication:
    """Withdraw the published version's content; its record and the reason stay public."""
    publication, before = await _change(session, principal, publication_id)
    version = None
    if publication.version >= 1:
        version = await session.scalar(
            select(PublicationVersion).where(
                PublicationVersion.publication_id == publication.id,
                PublicationVersion.version == publication.version,
            )
        )
    if version is None or version.retracted_at is not None:
        raise PublicationNotPublished(f"Publication {publication.id} has no version to retract")
    now = utcnow()
    reason = scrub_text(data.reason) or ""
    version.retracted_at = now
    version.retraction_reason = reason
    await ledger.append(
        session, action="retracted", version=version, retraction_reason=reason, now=now
    )
    if publication.status == "published":
        publication.status = "retracted"
    publication.retracted_at = now
    publication.retraction_reason = reason
    await session.flush()
    record_change(session, principal, "publication.retracted", publication, before=before)
    await events.publication_changed(session, publication, version, "publication.retracted")
    return publication


# --- the scheduler ------------------------------------------------------------------------


async def publish_due(session: AsyncSession, now: datetime) -> int:
    """Publish every scheduled publication whose time has come. Each is claimed with a
    conditional UPDATE: of several replicas running this round, one publishes it."""
    due = (
        await session.scalars(
            select(Publication.id)
            .where(Publication.status == "scheduled", Publication.scheduled_at <= now)
            .order_by(Publication.scheduled_at, Publication.id)
            .limit(100)
        )
    ).all()
    published = 0
    for publication_id in due:
        claimed = await session.execute(
            update(Publication)
            .where(
                Publication.id == publication_id,
                Publication.status == "scheduled",
                Publication.scheduled_at <= now,
            )
            .values(status="approved")
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            continue  # another replica got there first
        publication = await session.scalar(
            select(Publication)
            .where(Publication.id == publication_id)
            .execution_options(populate_existing=True)
        )
        assert publication is not None
        before = snapshot(publication)
        await freeze(session, publication, now=now)
        system = Principal(
            subject="scheduler", role="admin", jurisdictions=(publication.jurisdiction_code,)
        )
        record_change(session, system, "publication.published", publication, before=before)
        published += 1
    return published

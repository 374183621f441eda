"""Reading published versions: the latest of each publication, content withdrawn once
retracted."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.common.errors import Unprocessable
from services.common.pagination import PageParams
from services.disclosure.models import PublicationVersion
from services.disclosure.public.http import paginate_newest_first

WITHDRAWN_FIELDS = ("summary", "summary_en", "body", "data", "attachments")


def latest_versions() -> Select[Any]:
    """Each publication's newest published version (retracted ones included)."""
    newer = aliased(PublicationVersion)
    return select(PublicationVersion).where(
        ~exists().where(
            newer.publication_id == PublicationVersion.publication_id,
            newer.version > PublicationVersion.version,
        )
    )


def current_content(stmt: Select[Any]) -> Select[Any]:
    """Only versions whose content still stands (not retracted)."""
    return stmt.where(PublicationVersion.retracted_at.is_(None))


def public_view(version: PublicationVersion) -> dict[str, Any]:
    """A version as the public reads it: a retracted one keeps its title, dates and reason,
    its content is withdrawn."""
    view = {c.key: getattr(version, c.key) for c in PublicationVersion.__table__.c}
    view["withdrawn"] = version.retracted_at is not None
    view["status"] = "retracted" if view["withdrawn"] else "published"
    if view["withdrawn"]:
        for field in WITHDRAWN_FIELDS:
            view[field] = [] if field == "attachments" else None
    return view


async def search(
    session: AsyncSession,
    page: PageParams,
    *,
    jurisdiction: str | None = None,
    kind: str | None = None,
    cycle_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
    department_code: str | None = None,
    period: str | None = None,
    category: str | None = None,
    published_from: datetime | None = None,
    published_to: datetime | None = None,
    text: str | None = None,
) -> tuple[list[PublicationVersion], str | None]:
    """The latest published version of every publication matching all filters, newest first,
    as plain rows of `SUMMARY_COLUMNS`."""
    if published_from and published_to and published_from > published_to:
        raise Unprocessable("published_from is after published_to", code="invalid-date-range")
    stmt = latest_versions()
    for column, value in (
        (PublicationVersion.jurisdiction_code, jurisdiction),
        (PublicationVersion.kind, kind),
        (PublicationVersion.cycle_id, cycle_id),
        (PublicationVersion.department_id, department_id),
        (PublicationVersion.department_code, department_code),
        (PublicationVersion.period, period),
        (PublicationVersion.category, category),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if published_from is not None:
        stmt = stmt.where(PublicationVersion.published_at >= published_from)
    if published_to is not None:
        stmt = stmt.where(PublicationVersion.published_at <= published_to)
    if text:
        needle = text.strip()
        # A retracted version's summary is withdrawn: it is found by its title only.
        in_summary = PublicationVersion.retracted_at.is_(None) & or_(
            PublicationVersion.summary.contains(needle, autoescape=True),
            PublicationVersion.summary_en.ilike(f"%{_escape_like(needle)}%", escape="/"),
        )
        stmt = stmt.where(
            or_(
                PublicationVersion.title.contains(needle, autoescape=True),
                PublicationVersion.title_en.ilike(f"%{_escape_like(needle)}%", escape="/"),
                in_summary,
            )
        )
    return await paginate_newest_first(
        session, stmt, PublicationVersion.id, page, columns=SUMMARY_COLUMNS
    )


def _withheld_once_retracted(column: Any) -> Any:
    return case((PublicationVersion.retracted_at.is_(None), column), else_=None).label(column.key)


V = PublicationVersion
SUMMARY_COLUMNS = (
    V.id,
    V.publication_id,
    V.jurisdiction_code,
    V.version,
    V.supersedes,
    V.kind,
    V.title,
    V.title_en,
    _withheld_once_retracted(V.summary),
    _withheld_once_retracted(V.summary_en),
    V.cycle_id,
    V.department_id,
    V.department_code,
    V.period,
    V.category,
    V.published_at,
    V.retracted_at,
    V.retraction_reason,
    V.ledger_seq,
)


def _escape_like(text: str) -> str:
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


async def department_history(
    session: AsyncSession, department_id: uuid.UUID, page: PageParams
) -> tuple[list[PublicationVersion], str | None]:
    """A department's published results, one (the latest version) per cycle, newest first."""
    stmt = latest_versions().where(
        PublicationVersion.kind == "department_result",
        PublicationVersion.department_id == department_id,
    )
    return await paginate_newest_first(session, stmt, PublicationVersion.id, page)


async def versions_of(
    session: AsyncSession, stmt: Select[Any], *, limit: int | None = None
) -> list[PublicationVersion]:
    if limit is not None:
        stmt = stmt.limit(limit)
    return list((await session.scalars(stmt)).all())

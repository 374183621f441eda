"""Rules for questionnaires: versions of a code, edited as drafts, immutable once published
(changing questions under live responses breaks them), closed to end the responses."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.audit import record_change, snapshot
from services.common.auth import Principal
from services.common.db import read_row, utcnow
from services.common.errors import Conflict, NotFound, Unprocessable
from services.common.jurisdictions import ensure_writable
from services.common.pagination import PageParams, paginate
from services.evaluation.cycles.service import writable
from services.evaluation.models import Questionnaire
from services.evaluation.questionnaires import schemas

PUBLIC_STATUSES = ("published", "closed")
CONTENT_FIELDS = tuple(schemas.QuestionnaireContent.model_fields)


class QuestionnaireNotDraft(Conflict):
    code = "questionnaire-published"
    title = "Only a draft questionnaire can change"


class QuestionnaireDraftExists(Conflict):
    code = "questionnaire-draft-exists"
    title = "A draft version of that questionnaire exists already"


class QuestionnaireNotPublishedYet(Conflict):
    code = "questionnaire-not-published"
    title = "Only a published questionnaire can be closed"


class InvalidQuestionnaire(Unprocessable):
    code = "invalid-questionnaire"
    title = "The questionnaire is not valid"


def _sees_drafts(principal: Principal, jurisdiction_code: str) -> bool:
    """Drafts are the office's: its admins only."""
    return principal.role == "admin" and principal.may_access(jurisdiction_code)


async def list_questionnaires(
    session: AsyncSession,
    principal: Principal,
    page: PageParams,
    *,
    jurisdiction: str | None = None,
    code: str | None = None,
    status: str | None = None,
) -> tuple[list[Any], str | None]:
    """The office's admins see every version of their jurisdictions; everyone sees
    published and closed ones (citizen apps show them, portals publish them)."""
    public = Questionnaire.status.in_(PUBLIC_STATUSES)
    visible = (
        or_(Questionnaire.jurisdiction_code.in_(principal.jurisdictions), public)
        if principal.role == "admin"
        else public
    )
    stmt = select(Questionnaire).where(visible)
    for column, value in (
        (Questionnaire.jurisdiction_code, jurisdiction),
        (Questionnaire.code, code),
        (Questionnaire.status, status),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    return await paginate(session, stmt, Questionnaire.id, page, plain=True)


async def get_questionnaire(
    session: AsyncSession, principal: Principal, questionnaire_id: uuid.UUID
) -> Any:
    row: Any = await read_row(session, Questionnaire, questionnaire_id)
    if row is None or not (
        row.status in PUBLIC_STATUSES or _sees_drafts(principal, row.jurisdiction_code)
    ):
        raise NotFound(f"Questionnaire {questionnaire_id} not found")
    return row


def _ensure_draft(questionnaire: Questionnaire) -> None:
    if questionnaire.status != "draft":
        raise QuestionnaireNotDraft(
            f"Version {questionnaire.version} of '{questionnaire.code}' is "
            f"{questionnaire.status} and cannot change; create a new version instead",
            code=f"questionnaire-{questionnaire.status}",
        )


async def _writable(
    session: AsyncSession, principal: Principal, questionnaire_id: uuid.UUID
) -> Questionnaire:
    return await writable(session, Questionnaire, questionnaire_id, principal, what="Questionnaire")


async def create_questionnaire(
    session: AsyncSession, principal: Principal, data: schemas.QuestionnaireCreate
) -> Questionnaire:
    """A new draft: version 1 of a new code, or the next version of an existing one."""
    ensure_writable(principal, data.jurisdiction_code)
    key = (
        Questionnaire.jurisdiction_code == data.jurisdiction_code,
        Questionnaire.code == data.code,
    )
    draft = await session.scalar(
        select(Questionnaire.id).where(*key, Questionnaire.status == "draft")
    )
    if draft is not None:
        raise QuestionnaireDraftExists(
            f"Draft {draft} of '{data.code}' exists already; edit or publish it",
            draft_id=str(draft),
        )
    latest = await session.scalar(select(func.max(Questionnaire.version)).where(*key))
    content = data.model_dump(mode="json", include=set(CONTENT_FIELDS))
    questionnaire = Questionnaire(
        jurisdiction_code=data.jurisdiction_code,
        code=data.code,
        version=(latest or 0) + 1,
        status="draft",
        **content,
    )
    session.add(questionnaire)
    await session.flush()
    record_change(session, principal, "questionnaire.created", questionnaire)
    return questionnaire


async def update_questionnaire(
    session: AsyncSession,
    principal: Principal,
    questionnaire_id: uuid.UUID,
    data: schemas.QuestionnaireUpdate,
) -> Questionnaire:
    questionnaire = await _writable(session, principal, questionnaire_id)
    _ensure_draft(questionnaire)
    changes = data.model_dump(mode="json", exclude_unset=True)
    nulls = sorted(f for f, v in changes.items() if v is None and f != "title_en")
    if nulls:
        raise Unprocessable(f"{', '.join(nulls)} cannot be null", code="null-not-allowed")
    merged = {f: getattr(questionnaire, f) for f in CONTENT_FIELDS} | changes
    try:
        content = schemas.QuestionnaireContent.model_validate(merged)
    except ValidationError as exc:
        raise InvalidQuestionnaire(
            "; ".join(e["msg"] for e in exc.errors()[:5]),
            errors=[
                {"location": list(e["loc"]), "message": e["msg"], "type": e["type"]}
                for e in exc.errors()
            ],
        ) from exc
    before = snapshot(questionnaire)
    for field, value in content.model_dump(mode="json").items():
        if field in changes:
            setattr(questionnaire, field, value)
    await session.flush()
    record_change(session, principal, "questionnaire.updated", questionnaire, before=before)
    return questionnaire


async def publish(
    session: AsyncSession, principal: Principal, questionnaire_id: uuid.UUID
) -> Questionnaire:
    """Freeze a draft: from now on it only takes responses (and is readable by anyone)."""
    questionnaire = await _writable(session, principal, questionnaire_id)
    _ensure_draft(questionnaire)
    before = snapshot(questionnaire)
    questionnaire.status = "published"
    questionnaire.published_at = utcnow()
    await session.flush()
    record_change(session, principal, "questionnaire.published", questionnaire, before=before)
    return questionnaire


async def close(
    session: AsyncSession, principal: Principal, questionnaire_id: uuid.UUID
) -> Questionnaire:
    """No more responses to this version."""
    questionnaire = await _writable(session, principal, questionnaire_id)
    if questionnaire.status != "published":
        raise QuestionnaireNotPublishedYet(
            f"Version {questionnaire.version} of '{questionnaire.code}' is "
            f"{questionnaire.status}, not published"
        )
    before = snapshot(questionnaire)
    questionnaire.status = "closed"
    questionnaire.closed_at = utcnow()
    await session.flush()
    record_change(session, principal, "questionnaire.closed", questionnaire, before=before)
    return questionnaire

"""Rules for citizen feedback: anyone may send it, the jurisdiction's office answers it."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.audit import record_change, snapshot
from services.common.auth import Principal
from services.common.db import utcnow
from services.common.errors import Unprocessable
from services.common.jurisdictions import get_visible, get_writable, scoped
from services.common.pagination import PageParams, paginate
from services.feedback import schemas
from services.feedback.models import CitizenFeedback, PublishedItem


class UnknownPublication(Unprocessable):
    code = "unknown-publication"
    title = "No such published item"


async def submit_feedback(
    session: AsyncSession, principal: Principal, data: schemas.CitizenFeedbackCreate
) -> CitizenFeedback:
    """Record a citizen's feedback; open to the public, so no jurisdiction check applies."""
    if data.publication_id is not None:
        item = await session.get(PublishedItem, data.publication_id)
        if (
            item is None
            or item.status != "published"
            or item.jurisdiction_code != data.jurisdiction_code
        ):
            raise UnknownPublication(
                f"Publication {data.publication_id} is not published in {data.jurisdiction_code}"
            )
    feedback = CitizenFeedback(**data.model_dump(), status="received")
    session.add(feedback)
    await session.flush()
    record_change(session, principal, "citizen_feedback.received", feedback)
    return feedback


async def list_feedback(
    session: AsyncSession,
    principal: Principal,
    page: PageParams,
    *,
    jurisdiction: str | None = None,
    status: str | None = None,
    department_code: str | None = None,
) -> tuple[list[CitizenFeedback], str | None]:
    stmt = scoped(select(CitizenFeedback), CitizenFeedback, principal)
    if jurisdiction is not None:
        stmt = stmt.where(CitizenFeedback.jurisdiction_code == jurisdiction)
    if status is not None:
        stmt = stmt.where(CitizenFeedback.status == status)
    if department_code is not None:
        stmt = stmt.where(CitizenFeedback.department_code == department_code)
    return await paginate(session, stmt, CitizenFeedback.id, page)


async def get_feedback(
    session: AsyncSession, principal: Principal, feedback_id: uuid.UUID
) -> CitizenFeedback:
    return await get_visible(session, CitizenFeedback, feedback_id, principal, what="Feedback")


async def answer_feedback(
    session: AsyncSession,
    principal: Principal,
    feedback_id: uuid.UUID,
    data: schemas.CitizenFeedbackAnswer,
) -> CitizenFeedback:
    """Answer (or correct the answer to) one piece of feedback."""
    feedback = await get_writable(session, CitizenFeedback, feedback_id, principal, what="Feedback")
    before = snapshot(feedback)
    feedback.answer = data.answer
    feedback.status = "answered"
    feedback.answered_at = utcnow()
    await session.flush()
    record_change(session, principal, "citizen_feedback.answered", feedback, before=before)
    return feedback

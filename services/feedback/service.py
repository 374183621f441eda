"""Rules for citizen feedback: anyone may send it, the department concerned answers it (or
the office), and the citizen, with the token handed out at submission, says whether the
problem was resolved. "Not resolved" reopens it and may spawn a rectification task."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.audit import record_change, snapshot
from services.common.auth import DEPARTMENT_BOUND, Principal
from services.common.db import utcnow
from services.common.errors import Conflict, Forbidden, NotFound, Unprocessable
from services.common.events.outbox import emit
from services.common.jurisdictions import ensure_writable, get_writable, scoped
from services.common.pagination import PageParams, paginate
from services.common.privacy import scrub
from services.common.ratelimit import RateLimiter
from services.feedback import schemas
from services.feedback.models import CitizenFeedback, CycleResult, PublishedItem
from services.feedback.tasks import service as task_service


class UnknownPublication(Unprocessable):
    code = "unknown-publication"
    title = "No such published item"


class FeedbackNotAnswered(Conflict):
    code = "feedback-not-answered"
    title = "The feedback has no answer to judge"


class FeedbackClosed(Conflict):
    code = "feedback-resolved"
    title = "The citizen has said the problem is resolved"


class FeedbackUnrouted(Conflict):
    code = "feedback-unrouted"
    title = "The feedback names no department"


class TaskAlreadySpawned(Conflict):
    code = "feedback-task-exists"
    title = "A rectification task was already spawned from this feedback"


class InvalidPeriod(Unprocessable):
    code = "invalid-period"
    title = "Not a period"


@dataclass
class CitizenIntake:
    """Per-app state of the public intake: the token key and the rate limiter."""

    key: bytes
    limiter: RateLimiter
    limit_per_address: str
    response_days: int
    reopen_spawns_task: bool
    task_days: int


def hash_token(key: bytes, token: str) -> str:
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def _aggregate(feedback: Any) -> str:
    return f"citizen_feedback:{feedback.id}"


def event_data(feedback: Any) -> dict[str, Any]:
    """The contract of `feedback.received` / `.answered` (`.resolved` / `.reopened` add the
    citizen's `resolution` and the `reopen_count`): scrubbed text, nothing personal."""
    return {
        "feedback_id": str(feedback.id),
        "jurisdiction_code": feedback.jurisdiction_code,
        "publication_id": str(feedback.publication_id) if feedback.publication_id else None,
        "department_code": feedback.department_code,
        "kind": feedback.kind,
        "status": feedback.status,
        "text": feedback.text,
        "answer": feedback.answer,
        # Datetimes, written as ISO 8601 UTC like every other event's.
        "received_at": feedback.created_at,
        "answered_at": feedback.answered_at,
    }


class DepartmentMismatch(Unprocessable):
    code = "department-mismatch"
    title = "The department named is not the one the feedback is about"


@dataclass(frozen=True)
class Routing:
    """Who must answer a piece of feedback, and the cycle it concerns."""

    department_code: str | None
    department_id: uuid.UUID | None
    cycle_id: uuid.UUID | None = None


async def _route(
    session: AsyncSession, data: schemas.CitizenFeedbackCreate, item: PublishedItem | None
) -> Routing:
    """The department concerned: the one the published item is about (a department named
    beside it must be the same one: 422 otherwise), else as given, completed from the
    results feedback knows of."""
    code, department_id = data.department_code, data.department_id
    cycle_id = item.cycle_id if item is not None else None
    about_department = item is not None and (
        item.department_id is not None or bool(item.department_code)
    )
    if item is not None and about_department:
        if (department_id is not None and department_id != item.department_id) or (
            code is not None and code != item.department_code
        ):
            raise DepartmentMismatch(
                f"Publication {item.publication_id} is about department "
                f"{item.department_code or item.department_id}, not the one named"
            )
        code, department_id = item.department_code, item.department_id
    if code is None and department_id is None:
        return Routing(None, None, cycle_id)
    if about_department and code is not None and department_id is not None:
        return Routing(code, department_id, cycle_id)
    stmt = select(CycleResult.department_code, CycleResult.department_id).where(
        CycleResult.jurisdiction_code == data.jurisdiction_code
    )
    if department_id is not None:
        stmt = stmt.where(CycleResult.department_id == department_id)
    else:
        stmt = stmt.where(CycleResult.department_code == code)
    known = (await session.execute(stmt.order_by(CycleResult.received_at.desc()).limit(1))).first()
    if known is None:
        return Routing(code, department_id, cycle_id)
    if code is not None and department_id is not None and known.department_code != code:
        raise DepartmentMismatch(f"Department {department_id} is not {code}")
    return Routing(known.department_code, known.department_id, cycle_id)


async def submit_feedback(
    session: AsyncSession,
    principal: Principal,
    data: schemas.CitizenFeedbackCreate,
    intake: CitizenIntake,
    *,
    client_address: str | None,
) -> tuple[CitizenFeedback, str]:
    """Record a citizen's feedback and hand back its token (kept only as a keyed hash).
    Open to the public, so no jurisdiction check applies; each address is rate-limited."""
    address = hash_token(intake.key, f"address:{client_address or 'unknown'}")
    await intake.limiter.enforce(
        intake.limit_per_address, "citizen-feedback", address, what="feedback submissions"
    )
    item: PublishedItem | None = None
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
    routing = await _route(session, data, item)
    token = secrets.token_urlsafe(24)
    now = utcnow()
    feedback = CitizenFeedback(
        jurisdiction_code=data.jurisdiction_code,
        kind=data.kind,
        publication_id=data.publication_id,
        department_code=routing.department_code,
        department_id=routing.department_id,
        cycle_id=routing.cycle_id,
        text=scrub(data.text),
        status="received",
        respond_by=now + timedelta(days=intake.response_days),
        token_hash=hash_token(intake.key, token),
        reopen_count=0,
        created_at=now,
        updated_at=now,
    )
    session.add(feedback)
    await session.flush()
    record_change(
        session, principal, "citizen_feedback.received", feedback, after=_audited(feedback)
    )
    await emit(
        session,
        "feedback.received",
        aggregate=_aggregate(feedback),
        data=event_data(feedback),
        jurisdiction_code=feedback.jurisdiction_code,
    )
    return feedback, token


def _audited(feedback: CitizenFeedback) -> dict[str, Any]:
    """The audit snapshot without the token's hash."""
    values = snapshot(feedback)
    values.pop("token_hash", None)
    return values


def _is_own(principal: Principal, feedback: Any) -> bool:
    return feedback.department_id is not None and str(feedback.department_id) == str(
        principal.department_id
    )


def _department_only(principal: Principal) -> bool:
    return principal.role in DEPARTMENT_BOUND


async def list_feedback(
    session: AsyncSession,
    principal: Principal,
    page: PageParams,
    *,
    jurisdiction: str | None = None,
    status: str | None = None,
    department_code: str | None = None,
    department_id: uuid.UUID | None = None,
) -> tuple[list[CitizenFeedback], str | None]:
    """The office's jurisdictions' feedback, or a department's own, oldest first."""
    stmt = scoped(select(CitizenFeedback), CitizenFeedback, principal)
    if _department_only(principal):
        if department_id is not None and str(department_id) != str(principal.department_id):
            raise Forbidden("A department reads its own feedback only")
        stmt = stmt.where(CitizenFeedback.department_id == _uuid_or_none(principal.department_id))
    if department_id is not None:
        stmt = stmt.where(CitizenFeedback.department_id == department_id)
    if jurisdiction is not None:
        stmt = stmt.where(CitizenFeedback.jurisdiction_code == jurisdiction)
    if status is not None:
        stmt = stmt.where(CitizenFeedback.status == status)
    if department_code is not None:
        stmt = stmt.where(CitizenFeedback.department_code == department_code)
    return await paginate(session, stmt, CitizenFeedback.id, page)


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


async def get_feedback(
    session: AsyncSession, principal: Principal, feedback_id: uuid.UUID
) -> CitizenFeedback:
    feedback = await session.get(CitizenFeedback, feedback_id)
    if feedback is None or not principal.may_access(feedback.jurisdiction_code):
        raise NotFound(f"Feedback {feedback_id} not found")
    if _department_only(principal) and not _is_own(principal, feedback):
        raise NotFound(f"Feedback {feedback_id} not found")
    return feedback


async def _writable(
    session: AsyncSession, principal: Principal, feedback_id: uuid.UUID
) -> CitizenFeedback:
    feedback = await get_writable(session, CitizenFeedback, feedback_id, principal, what="Feedback")
    if _department_only(principal) and not _is_own(principal, feedback):
        raise Forbidden("Only the department concerned (or the office) answers this feedback")
    return feedback


async def answer_feedback(
    session: AsyncSession,
    principal: Principal,
    feedback_id: uuid.UUID,
    data: schemas.CitizenFeedbackAnswer,
) -> CitizenFeedback:
    """Answer (or correct the answer to) one piece of feedback; a reopened one is answered
    again. Feedback the citizen said is resolved is closed: 409."""
    feedback = await _writable(session, principal, feedback_id)
    if feedback.status == "resolved":
        raise FeedbackClosed(f"Feedback {feedback_id} is resolved")
    before = _audited(feedback)
    now = utcnow()
    feedback.answer = scrub(data.answer)
    feedback.status = "answered"
    feedback.answered_at = now
    if feedback.first_answered_at is None:
        feedback.first_answered_at = now
    await session.flush()
    record_change(
        session,
        principal,
        "citizen_feedback.answered",
        feedback,
        before=before,
        after=_audited(feedback),
    )
    await emit(
        session,
        "feedback.answered",
        aggregate=_aggregate(feedback),
        data=event_data(feedback),
        jurisdiction_code=feedback.jurisdiction_code,
    )
    return feedback


async def _by_token(
    session: AsyncSession, intake: CitizenIntake, feedback_id: uuid.UUID, token: str | None
) -> CitizenFeedback:
    feedback = await session.get(CitizenFeedback, feedback_id)
    # A wrong token answers as an unknown id: the token is the only key to the feedback.
    if (
        feedback is None
        or not token
        or feedback.token_hash is None
        or not hmac.compare_digest(feedback.token_hash, hash_token(intake.key, token))
    ):
        raise NotFound(f"Feedback {feedback_id} not found (or the token is not its own)")
    return feedback


async def citizen_status(
    session: AsyncSession, intake: CitizenIntake, feedback_id: uuid.UUID, token: str | None
) -> CitizenFeedback:
    """What the citizen who sent it sees: the answer and where it stands."""
    return await _by_token(session, intake, feedback_id, token)


async def citizen_resolution(
    session: AsyncSession,
    principal: Principal,
    intake: CitizenIntake,
    feedback_id: uuid.UUID,
    token: str | None,
    data: schemas.CitizenFeedbackResolution,
) -> CitizenFeedback:
    """The citizen says whether the answer resolved the problem. Only an answered feedback
    can be judged (409 otherwise); "not resolved" reopens it for a new answer."""
    feedback = await _by_token(session, intake, feedback_id, token)
    if feedback.status != "answered":
        raise FeedbackNotAnswered(
            f"Feedback {feedback_id} is {feedback.status}: only an answer can be judged"
        )
    before = _audited(feedback)
    feedback.resolution = "resolved" if data.resolved else "not_resolved"
    feedback.resolution_comment = scrub(data.comment) if data.comment else None
    feedback.resolution_at = utcnow()
    if data.resolved:
        feedback.status = "resolved"
    else:
        feedback.status = "reopened"
        feedback.reopen_count += 1
    await session.flush()
    action = "citizen_feedback.resolved" if data.resolved else "citizen_feedback.reopened"
    record_change(session, principal, action, feedback, before=before, after=_audited(feedback))
    await emit(
        session,
        "feedback.resolved" if data.resolved else "feedback.reopened",
        aggregate=_aggregate(feedback),
        data={
            **event_data(feedback),
            "resolution": feedback.resolution,
            "reopen_count": feedback.reopen_count,
        },
        jurisdiction_code=feedback.jurisdiction_code,
    )
    if (
        not data.resolved
        and intake.reopen_spawns_task
        and feedback.task_id is None
        and feedback.department_id is not None
    ):
        system = Principal(
            subject="citizen-feedback",
            role="admin",
            jurisdictions=(feedback.jurisdiction_code,),
        )
        await _spawn(session, system, feedback, None, None, intake.task_days)
    return feedback


async def spawn_task(
    session: AsyncSession,
    principal: Principal,
    intake: CitizenIntake,
    feedback_id: uuid.UUID,
    data: schemas.CitizenFeedbackTask,
) -> CitizenFeedback:
    """The office turns feedback into a rectification task of the department concerned
    (origin `feedback`); once per feedback."""
    feedback = await get_writable(session, CitizenFeedback, feedback_id, principal, what="Feedback")
    if feedback.department_id is None or feedback.department_code is None:
        raise FeedbackUnrouted(f"Feedback {feedback_id} names no department to give a task to")
    if feedback.task_id is not None:
        raise TaskAlreadySpawned(f"Feedback {feedback_id} already has task {feedback.task_id}")
    await _spawn(session, principal, feedback, data.title, data.deadline, intake.task_days)
    return feedback


async def _spawn(
    session: AsyncSession,
    principal: Principal,
    feedback: CitizenFeedback,
    title: str | None,
    deadline: date | None,
    task_days: int,
) -> None:
    before = _audited(feedback)
    task = await task_service.create_task(
        session,
        principal,
        jurisdiction_code=feedback.jurisdiction_code,
        department_id=feedback.department_id,
        department_code=feedback.department_code,
        cycle_id=feedback.cycle_id,
        origin="feedback",
        origin_ref=str(feedback.id),
        title=title or f"群众反馈整改：{feedback.text[:60]}",
        description=feedback.text,
        deadline=deadline or (utcnow() + timedelta(days=task_days)).date(),
    )
    feedback.task_id = task.id
    await session.flush()
    record_change(
        session,
        principal,
        "citizen_feedback.task_spawned",
        feedback,
        before=before,
        after=_audited(feedback),
    )


_PERIOD = re.compile(r"^(\d{4})(?:Q([1-4])|(0[1-9]|1[0-2]))?$")


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """`2026`, `2026Q1` or `202603` as [start, end) in UTC."""
    match = _PERIOD.match(period)
    if match is None:
        raise InvalidPeriod(f"{period!r} is not a period (2026, 2026Q1 or 202603)")
    year = int(match.group(1))
    if match.group(2):
        first = 3 * (int(match.group(2)) - 1) + 1
        start, months = datetime(year, first, 1, tzinfo=UTC), 3
    elif match.group(3):
        start, months = datetime(year, int(match.group(3)), 1, tzinfo=UTC), 1
    else:
        start, months = datetime(year, 1, 1, tzinfo=UTC), 12
    index = start.month - 1 + months
    end = datetime(year + index // 12, index % 12 + 1, 1, tzinfo=UTC)
    return start, end


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


async def summary(
    session: AsyncSession,
    principal: Principal,
    *,
    department: str,
    period: str,
    jurisdiction: str | None,
    now: datetime | None = None,
) -> schemas.CitizenFeedbackSummary:
    """Counts of one department's feedback received in a period, by kind and status, with
    its response and resolution rates. `department` is its code or its id."""
    start, end = period_bounds(period)
    if jurisdiction is None:
        if len(principal.jurisdictions) != 1:
            raise Unprocessable("Name the jurisdiction", code="jurisdiction-required")
        jurisdiction = principal.jurisdictions[0]
    ensure_writable(principal, jurisdiction)
    department_id = _uuid_or_none(department)
    if _department_only(principal) and (
        department_id is None or str(department_id) != str(principal.department_id)
    ):
        raise Forbidden("A department reads its own feedback summary (by its id)")
    stmt = select(CitizenFeedback).where(
        CitizenFeedback.jurisdiction_code == jurisdiction,
        CitizenFeedback.created_at >= start,
        CitizenFeedback.created_at < end,
    )
    if department_id is not None:
        stmt = stmt.where(CitizenFeedback.department_id == department_id)
    else:
        stmt = stmt.where(CitizenFeedback.department_code == department)
    rows = list((await session.execute(stmt)).scalars())
    now = now or utcnow()
    answered = [r for r in rows if r.first_answered_at is not None]
    on_time = [r for r in answered if r.respond_by is None or r.first_answered_at <= r.respond_by]
    due = [r for r in rows if r.first_answered_at is not None or (r.respond_by or now) <= now]
    judged = [r for r in rows if r.resolution is not None]
    resolved = [r for r in judged if r.resolution == "resolved"]
    return schemas.CitizenFeedbackSummary(
        jurisdiction_code=jurisdiction,
        department=department,
        period=period,
        total=len(rows),
        by_kind={k: sum(r.kind == k for r in rows) for k in schemas.FEEDBACK_KINDS},
        by_status={s: sum(r.status == s for r in rows) for s in schemas.FEEDBACK_STATUSES},
        answered=len(answered),
        answered_on_time=len(on_time),
        response_rate=_rate(len(on_time), len(due)),
        judged=len(judged),
        resolved=len(resolved),
        resolution_rate=_rate(len(resolved), len(judged)),
        reopened=sum(r.reopen_count > 0 for r in rows),
    )

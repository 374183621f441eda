"""Events of the feedback service (catalog: docs/events.md).

Handles `publication.published` / `publication.retracted` from the disclosure service,
which keep the list of published items citizens may comment on (the `results.*` handlers
live with the reports they write: services/feedback/reports/service.py).

Emits `feedback_report.issued` (aggregate `feedback_report:<id>`),
`rectification.created` / `.status_changed` / `.overdue` / `.reminded` (aggregate
`rectification_task:<id>`) and `appeal.filed` / `.decided` (aggregate `appeal:<id>`); each
emitting function writes its event into the caller's transaction (the outbox).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import upsert_statement, utcnow
from services.common.events.outbox import emit
from services.common.events.subscriptions import ReceivedEvent
from services.common.privacy import scrub
from services.feedback.models import PublishedItem

_UPDATED = (
    "jurisdiction_code",
    "kind",
    "title",
    "status",
    "published_at",
    "retracted_at",
    "updated_at",
    "publication_version",
    "supersedes",
    "cycle_id",
    "department_id",
    "department_code",
    "period",
    "category",
    "subject_key",
)
# Of one version, the retraction comes after the publication.
_STATUS_ORDER = {"published": 0, "retracted": 1}


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _version(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _position(version: int | None, status: str | None) -> tuple[int, int]:
    return (version or 0, _STATUS_ORDER.get(status or "", 0))


async def on_publication_changed(session: AsyncSession, event: ReceivedEvent) -> None:
    """Insert or refresh the published item with the subjects of its version. Only a later
    version, or the same version retracted, replaces what is known: a late or repeated
    event (a replay under a new id, version 1 after version 2) changes nothing."""
    data = event.data
    publication_id = uuid.UUID(data["publication_id"])
    version = _version(data.get("publication_version"))
    conn = await session.connection()
    known = (
        await conn.execute(
            select(PublishedItem.publication_version, PublishedItem.status)
            .where(PublishedItem.publication_id == publication_id)
            .with_for_update()
        )
    ).first()
    if known is not None and _position(version, data["status"]) <= _position(
        known.publication_version, known.status
    ):
        return
    values = {
        "publication_id": publication_id,
        "jurisdiction_code": data["jurisdiction_code"],
        "kind": data["kind"],
        "title": data["title"],
        "status": data["status"],
        "published_at": _when(data.get("published_at")),
        "retracted_at": _when(data.get("retracted_at")),
        "updated_at": utcnow(),
        "publication_version": version,
        "supersedes": _version(data.get("supersedes")),
        "cycle_id": _uuid(data.get("cycle_id")),
        "department_id": _uuid(data.get("department_id")),
        "department_code": data.get("department") or None,
        "period": data.get("period") or None,
        "category": data.get("category") or None,
        "subject_key": data.get("subject_key") or None,
    }
    statement = upsert_statement(session, PublishedItem, ("publication_id",), _UPDATED)
    await conn.execute(statement, values)


SCHEMA_VERSION = 1
# Who receives this service's events: evaluation re-scores on upheld appeals; disclosure
# publishes the reports' summaries, rectification progress, decided appeals, citizen
# feedback and the metrics.
SIBLING_SUBSCRIBERS = {
    "evaluation": ("appeal.decided",),
    "disclosure": (
        "feedback_report.*",
        "rectification.*",
        "appeal.*",
        "feedback.*",
        "department_metrics.*",
    ),
}


async def report_issued(session: AsyncSession, report: Any, task_count: int) -> None:
    """`feedback_report.issued`: the public summary of a report just written or revised.
    The themes are counts and samples scrubbed when the report was written."""
    await emit(
        session,
        "feedback_report.issued",
        aggregate=f"feedback_report:{report.id}",
        jurisdiction_code=report.jurisdiction_code,
        data={
            "report_id": str(report.id),
            "jurisdiction_code": report.jurisdiction_code,
            "cycle_id": str(report.cycle_id),
            "department_id": str(report.department_id),
            "department": report.department_code,
            "result_version": report.result_version,
            "total": report.total,
            "grade": report.grade,
            "rank": report.rank,
            "vetoed": report.vetoed,
            "weakest_indicators": report.weakest_indicators,
            "weakest_dimensions": report.weakest_dimensions,
            "themes": report.themes,
            "task_count": task_count,
            "issued_at": report.updated_at or utcnow(),
        },
        version=SCHEMA_VERSION,
    )


def task_data(task: Any) -> dict[str, Any]:
    return {
        "task_id": str(task.id),
        "jurisdiction_code": task.jurisdiction_code,
        "cycle_id": str(task.cycle_id) if task.cycle_id else None,
        "department_id": str(task.department_id),
        "department": task.department_code,
        "title": task.title,
        "origin": task.origin,
        "status": task.status,
        "progress": task.progress,
        "deadline": task.deadline.isoformat(),
        "escalation_level": task.escalation_level,
        "changed_at": task.updated_at or utcnow(),
    }


async def rectification_changed(session: AsyncSession, event_type: str, task: Any) -> None:
    """`rectification.created`, `.status_changed`, `.overdue` or `.reminded` of one task."""
    await emit(
        session,
        event_type,
        aggregate=f"rectification_task:{task.id}",
        jurisdiction_code=task.jurisdiction_code,
        data=task_data(task),
        version=SCHEMA_VERSION,
    )


def _appeal_data(appeal: Any) -> dict[str, Any]:
    return {
        "appeal_id": str(appeal.id),
        "jurisdiction_code": appeal.jurisdiction_code,
        "cycle_id": str(appeal.cycle_id),
        "department_id": str(appeal.department_id),
        "department": appeal.department_code,
        "target_kind": appeal.target_kind,
        "target": appeal.target,
        "reason": scrub(appeal.reason),
    }


async def appeal_filed(session: AsyncSession, appeal: Any) -> None:
    await emit(
        session,
        "appeal.filed",
        aggregate=f"appeal:{appeal.id}",
        jurisdiction_code=appeal.jurisdiction_code,
        data={**_appeal_data(appeal), "filed_at": appeal.filed_at},
        version=SCHEMA_VERSION,
    )


async def appeal_decided(session: AsyncSession, appeal: Any) -> None:
    """The decision; an upheld or partly upheld one carries the adjustment evaluation
    applies (points added to the contested indicator's or group's score)."""
    adjustment = (
        {
            "target_kind": appeal.target_kind,
            "target": appeal.target,
            "points": appeal.adjustment_points,
        }
        if appeal.status in ("upheld", "partly_upheld") and appeal.adjustment_points
        else None
    )
    await emit(
        session,
        "appeal.decided",
        aggregate=f"appeal:{appeal.id}",
        jurisdiction_code=appeal.jurisdiction_code,
        data={
            **_appeal_data(appeal),
            "decision": appeal.status,
            "adjustment": adjustment,
            "decision_text": scrub(appeal.decision_text or ""),
            "decided_at": appeal.decided_at,
        },
        version=SCHEMA_VERSION,
    )


HANDLERS = {
    "publication.published": on_publication_changed,
    "publication.retracted": on_publication_changed,
}

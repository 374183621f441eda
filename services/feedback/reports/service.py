"""What evaluation's results events become here: the cycle's results per department, one
feedback report per department of a final (or revised) result, and the rectification
tasks the report asks for.

`results.preliminary` records the results and the appeal window; `.finalized` and
`.revised` also write the report and its automatic tasks: each weakest indicator below the
achievement threshold, each weakest dimension below the satisfaction threshold, each veto.
A department's results are replaced only by a later result version (or the same version at
a later stage: preliminary → revised → finalized), so a duplicate or late delivery changes
nothing; a revision updates the report and adds the tasks it newly asks for, keeping the
existing ones (the unique key of automatic tasks makes sure none is doubled).
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.audit import record_change, snapshot
from services.common.auth import Principal
from services.common.db import upsert_statement, utcnow
from services.common.errors import NotFound
from services.common.events.subscriptions import EventHandler, ReceivedEvent
from services.common.jurisdictions import scoped
from services.common.pagination import PageParams, paginate
from services.common.privacy import scrub
from services.feedback import events
from services.feedback.models import CitizenFeedback, CycleResult, FeedbackReport, RectificationTask
from services.feedback.tasks import service as task_service

# Later stages of one result version win over earlier ones.
STAGE_ORDER = {"preliminary": 0, "revised": 1, "finalized": 2}
REPORTING_STAGES = ("finalized", "revised")
SAMPLE_KINDS = ("complaint", "suggestion", "comment")


@dataclass(frozen=True)
class ReportRules:
    """From the settings: when a result asks for a task, and what a report quotes."""

    achievement_threshold: float = 0.6
    satisfaction_threshold: float = 70.0
    deadline_days: int = 90
    sample_comments: int = 3

    @classmethod
    def of(cls, settings: Any) -> ReportRules:
        return cls(
            achievement_threshold=settings.task_achievement_threshold,
            satisfaction_threshold=settings.task_satisfaction_threshold,
            deadline_days=settings.task_deadline_days,
            sample_comments=settings.report_sample_comments,
        )


class ReportNotFound(NotFound):
    code = "report-not-found"
    title = "No such feedback report"


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


_RESULT_COLUMNS = tuple(
    c.key for c in CycleResult.__table__.c if c.key not in ("cycle_id", "department_id")
)


def _is_newer(existing: Any, version: int, stage: str) -> bool:
    if existing is None:
        return True
    return (version, STAGE_ORDER[stage]) > (existing.result_version, STAGE_ORDER[existing.stage])


async def on_results(session: AsyncSession, event: ReceivedEvent, rules: ReportRules) -> None:
    """Record each department's result when it is newer than what is known, and write the
    report and its tasks for a final or revised one."""
    stage = event.type.removeprefix("results.")
    if stage not in STAGE_ORDER:
        return
    data = event.data
    cycle_id = _uuid(data.get("cycle_id"))
    jurisdiction = data.get("jurisdiction_code")
    version = data.get("result_version")
    if cycle_id is None or not jurisdiction or not isinstance(version, int):
        return
    now = utcnow()
    conn = await session.connection()
    for result in data.get("results") or []:
        department_id = _uuid(result.get("department_id"))
        if department_id is None:
            continue
        existing = (
            await conn.execute(
                select(CycleResult.result_version, CycleResult.stage)
                .where(CycleResult.cycle_id == cycle_id, CycleResult.department_id == department_id)
                .with_for_update()
            )
        ).first()
        if not _is_newer(existing, version, stage):
            continue
        values = {
            "cycle_id": cycle_id,
            "department_id": department_id,
            "jurisdiction_code": jurisdiction,
            "cycle_code": str(data.get("cycle") or ""),
            "period": str(data.get("period") or ""),
            "category": str(data.get("category") or ""),
            "department_code": str(result.get("department") or department_id),
            "name_zh": result.get("name_zh"),
            "result_version": version,
            "stage": stage,
            "total": float(result.get("total") or 0),
            "rank": result.get("rank"),
            "grade": result.get("grade"),
            "vetoed": bool(result.get("vetoed")),
            "weakest_indicators": list(result.get("weakest_indicators") or []),
            "weakest_dimensions": list(result.get("weakest_dimensions") or []),
            "appeal_window_ends_at": _when(data.get("appeal_window_ends_at")),
            "received_at": now,
        }
        statement = upsert_statement(
            session, CycleResult, ("cycle_id", "department_id"), _RESULT_COLUMNS
        )
        await conn.execute(statement, values)
        if stage in REPORTING_STAGES:
            report = await _write_report(session, values, rules)
            await _automatic_tasks(session, values, report, rules)
            await events.report_issued(session, report, await _task_count(session, report))


async def themes(
    session: AsyncSession,
    jurisdiction: str,
    cycle_id: uuid.UUID,
    department_id: uuid.UUID,
    department_code: str,
    weakest_dimensions: list[dict[str, Any]],
    samples: int,
) -> dict[str, Any]:
    """What citizens said about the department: counts per kind and status, the weakest
    dimensions of its social evaluation beside them, and a few comments, scrubbed. Feedback
    given on another cycle's publications belongs to that cycle's report, not this one."""
    F = CitizenFeedback
    about = (
        (F.jurisdiction_code == jurisdiction)
        & or_(F.department_id == department_id, F.department_code == department_code)
        & or_(F.cycle_id.is_(None), F.cycle_id == cycle_id)
    )
    conn = await session.connection()
    rows = (
        await conn.execute(
            select(F.kind, F.status, F.text, F.created_at).where(about).order_by(F.id.desc())
        )
    ).all()
    quoted = [
        {"kind": r.kind, "text": scrub(r.text), "received_at": r.created_at.isoformat()}
        for r in rows
        if r.kind in SAMPLE_KINDS
    ][:samples]
    return {
        "feedback_count": len(rows),
        "by_kind": dict(sorted(Counter(r.kind for r in rows).items())),
        "by_status": dict(sorted(Counter(r.status for r in rows).items())),
        "dimensions": [
            {
                "group": d.get("group"),
                "code": d.get("code"),
                "name": d.get("name"),
                "score": d.get("score"),
            }
            for d in weakest_dimensions
        ],
        "samples": quoted,
    }


def _system(jurisdiction: str, cycle_id: uuid.UUID) -> Principal:
    return Principal(subject=f"results:{cycle_id}", role="admin", jurisdictions=(jurisdiction,))


async def _write_report(
    session: AsyncSession, values: dict[str, Any], rules: ReportRules
) -> FeedbackReport:
    jurisdiction = values["jurisdiction_code"]
    report = (
        await session.scalars(
            select(FeedbackReport)
            .where(
                FeedbackReport.cycle_id == values["cycle_id"],
                FeedbackReport.department_id == values["department_id"],
            )
            .with_for_update()
        )
    ).first()
    fields = {
        "department_code": values["department_code"],
        "result_version": values["result_version"],
        "total": values["total"],
        "grade": values["grade"],
        "rank": values["rank"],
        "vetoed": values["vetoed"],
        "weakest_indicators": values["weakest_indicators"],
        "weakest_dimensions": values["weakest_dimensions"],
        "themes": await themes(
            session,
            jurisdiction,
            values["cycle_id"],
            values["department_id"],
            values["department_code"],
            values["weakest_dimensions"],
            rules.sample_comments,
        ),
    }
    principal = _system(jurisdiction, values["cycle_id"])
    if report is None:
        report = FeedbackReport(
            jurisdiction_code=jurisdiction,
            cycle_id=values["cycle_id"],
            department_id=values["department_id"],
            **fields,
        )
        session.add(report)
        await session.flush()
        record_change(session, principal, "feedback_report.created", report)
        return report
    before = snapshot(report)
    for key, value in fields.items():
        setattr(report, key, value)
    await session.flush()
    record_change(session, principal, "feedback_report.revised", report, before=before)
    return report


def wanted_tasks(values: dict[str, Any], rules: ReportRules) -> list[tuple[str, str, str, str]]:
    """(origin, origin_ref, title, description) of every task the result asks for."""
    wanted: list[tuple[str, str, str, str]] = []
    for indicator in values["weakest_indicators"]:
        achievement = indicator.get("achievement")
        if isinstance(achievement, int | float) and achievement < rules.achievement_threshold:
            code, name = str(indicator.get("code")), indicator.get("name") or indicator.get("code")
            wanted.append(
                (
                    "indicator",
                    code,
                    f"Indicator {code} {name}: achievement {achievement:.0%}",
                    f"{name} reached {achievement:.0%} of its weight "
                    f"({indicator.get('points')} of {indicator.get('weight')} points), below "
                    f"the {rules.achievement_threshold:.0%} threshold.",
                )
            )
    for dimension in values["weakest_dimensions"]:
        score = dimension.get("score")
        if isinstance(score, int | float) and score < rules.satisfaction_threshold:
            ref = f"{dimension.get('group')}/{dimension.get('code')}"
            name = dimension.get("name") or dimension.get("code")
            wanted.append(
                (
                    "dimension",
                    ref,
                    f"Dimension {ref} {name}: score {score:g}",
                    f"{name} scored {score:g} of 100, below the satisfaction threshold of "
                    f"{rules.satisfaction_threshold:g}.",
                )
            )
    if values["vetoed"]:
        wanted.append(
            (
                "veto",
                "veto",
                "One-vote veto",
                "The result was capped by a one-vote veto; the department must rectify its cause.",
            )
        )
    return wanted


async def _automatic_tasks(
    session: AsyncSession, values: dict[str, Any], report: FeedbackReport, rules: ReportRules
) -> None:
    conn = await session.connection()
    T = RectificationTask
    existing = set(
        (
            await conn.execute(
                select(T.origin, T.origin_ref).where(
                    T.cycle_id == values["cycle_id"], T.department_id == values["department_id"]
                )
            )
        ).all()
    )
    deadline = (utcnow() + timedelta(days=rules.deadline_days)).date()
    principal = _system(values["jurisdiction_code"], values["cycle_id"])
    for origin, ref, title, description in wanted_tasks(values, rules):
        if (origin, ref) in existing:
            continue
        await task_service.create_task(
            session,
            principal,
            jurisdiction_code=values["jurisdiction_code"],
            department_id=values["department_id"],
            department_code=values["department_code"],
            cycle_id=values["cycle_id"],
            origin=origin,
            origin_ref=ref,
            title=title[:300],
            description=description,
            deadline=deadline,
            report_id=report.id,
        )


async def _task_count(session: AsyncSession, report: FeedbackReport) -> int:
    T = RectificationTask
    conn = await session.connection()
    return (
        await conn.execute(
            select(func.count())
            .select_from(T)
            .where(T.cycle_id == report.cycle_id, T.department_id == report.department_id)
        )
    ).scalar_one()


def handlers(rules: ReportRules) -> dict[str, EventHandler]:
    async def handle(session: AsyncSession, event: ReceivedEvent) -> None:
        await on_results(session, event, rules)

    return {f"results.{stage}": handle for stage in STAGE_ORDER}


# --- reading ------------------------------------------------------------------------------


def _own_department(principal: Principal) -> uuid.UUID | None:
    return task_service.department_of(principal)


async def list_reports(
    session: AsyncSession,
    principal: Principal,
    page: PageParams,
    *,
    jurisdiction: str | None = None,
    cycle_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
) -> tuple[list[Any], str | None]:
    R = FeedbackReport
    stmt = scoped(select(R), R, principal)
    if principal.role != "admin":
        own = _own_department(principal)
        if department_id is not None and department_id != own:
            raise task_service.NotTheDepartment("A department lists its own reports only")
        stmt = stmt.where(R.department_id == (own or uuid.UUID(int=0)))
    if jurisdiction is not None:
        stmt = stmt.where(R.jurisdiction_code == jurisdiction)
    if cycle_id is not None:
        stmt = stmt.where(R.cycle_id == cycle_id)
    if department_id is not None:
        stmt = stmt.where(R.department_id == department_id)
    return await paginate(session, stmt, R.id, page, plain=True)


async def get_report(session: AsyncSession, principal: Principal, report_id: uuid.UUID) -> Any:
    report = await session.get(FeedbackReport, report_id)
    visible = report is not None and principal.may_access(report.jurisdiction_code)
    if visible and principal.role != "admin":
        visible = _own_department(principal) == report.department_id
    if not visible:
        raise ReportNotFound(f"Feedback report {report_id} not found")
    return report


async def report_tasks(session: AsyncSession, report: Any) -> list[Any]:
    """The rectification items the report asks the department to answer."""
    T = RectificationTask
    conn = await session.connection()
    rows = await conn.execute(
        select(*T.__table__.c)
        .where(T.cycle_id == report.cycle_id, T.department_id == report.department_id)
        .order_by(T.id)
    )
    return list(rows.all())

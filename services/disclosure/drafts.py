"""From the siblings' events to publications: each event writes (or updates) the draft of
the publication it concerns, keyed by a subject key, and the per-kind policy says whether
it goes out at once (`auto`) or waits for an approver (`approval`).

- `indicator_system.published` → the `plan` of a year and category (`plan:<year>:<category>`)
- `cycle.opened` → `disclosure_cycles` (what later events and the public pages name)
- `results.preliminary` / `.finalized` / `.revised` → the cycle's `results` and one
  `department_result` per department; a later result version (or the final one after the
  preliminary) is the next version of the same publications, superseding the earlier one
- `rectification.created` / `.status_changed` / `.overdue` → the department's
  `rectification` progress in the cycle, one task at a time
- `appeal.decided` → a `notice` (decided appeals are public)

The inbox already drops a webhook id seen before. On top of that every handler is
idempotent by content and order: an event that would change nothing changes nothing, and an
older one arriving late (a lower result version, a task change older than the one stored)
is ignored.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.audit import record_change, snapshot
from services.common.auth import Principal
from services.common.db import utcnow
from services.common.events.subscriptions import EventHandler, ReceivedEvent
from services.disclosure import service as publication_service
from services.disclosure.models import DisclosureCycle, Publication

log = structlog.get_logger("govperf.disclosure.drafts")

SYSTEM = "system"
RESULT_STAGES = {"preliminary": 0, "finalized": 1, "revised": 2}
STAGE_ZH = {"preliminary": "初步结果", "finalized": "最终结果", "revised": "修订结果"}
CLOSED_TASK_STATUSES = frozenset({"closed", "verified", "completed", "done"})
DECISION_ZH = {"upheld": "申诉成立", "partly_upheld": "申诉部分成立", "dismissed": "申诉驳回"}
DEPARTMENT_RESULT_FIELDS = (
    "department_id",
    "department",
    "name_zh",
    "total",
    "rank",
    "tied",
    "grade",
    "vetoed",
    "group_scores",
    "indicators",
    "weakest_indicators",
    "weakest_dimensions",
)
TASK_FIELDS = (
    "task_id",
    "title",
    "origin",
    "status",
    "progress",
    "deadline",
    "escalation_level",
    "changed_at",
)

# The kind → auto | approval policy, read when an event arrives (settings may change).
Policy = Callable[[], Mapping[str, str]]
# Column sizes: event text longer than a column holds is cut, not refused.
LIMITS = {"title": 300, "title_en": 300, "department_code": 64, "period": 16, "category": 64}


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _system(jurisdiction_code: str) -> Principal:
    return Principal(subject=SYSTEM, role="admin", jurisdictions=(jurisdiction_code,))


async def upsert_draft(
    session: AsyncSession,
    policy: Policy,
    *,
    jurisdiction_code: str,
    subject_key: str,
    content: dict[str, Any],
    supersedes: Callable[[dict[str, Any] | None], bool] = lambda _: True,
) -> Publication | None:
    """Write the publication of `subject_key` from an event: its draft (a new publication, or
    the next version's draft of a published one), published at once if its kind's policy is
    `auto`. `supersedes(current data)` False: the event is older than what is kept."""
    content = publication_service.scrubbed_content(content)
    for field, limit in LIMITS.items():
        if isinstance(content.get(field), str):
            content[field] = content[field][:limit]
    publication = await session.scalar(
        select(Publication)
        .where(
            Publication.jurisdiction_code == jurisdiction_code,
            Publication.subject_key == subject_key,
        )
        .with_for_update()
    )
    principal = _system(jurisdiction_code)
    if publication is None:
        publication = Publication(
            jurisdiction_code=jurisdiction_code,
            subject_key=subject_key,
            status="draft",
            version=0,
            editor=SYSTEM,
            **content,
        )
        session.add(publication)
        await session.flush()
        record_change(session, principal, "publication.created", publication)
    else:
        if not supersedes(publication.data):
            log.info("older_event_ignored", subject_key=subject_key)
            return None
        current = {f: getattr(publication, f) for f in publication_service.CONTENT_FIELDS}
        if current == content:
            return None  # the same content again: nothing to write or publish
        before = snapshot(publication)
        for field, value in content.items():
            setattr(publication, field, value)
        if publication.status != "draft":
            publication_service.reopen(publication, SYSTEM)
        await session.flush()
        record_change(session, principal, "publication.updated", publication, before=before)
    if publication.status == "draft" and policy().get(publication.kind) == "auto":
        before = snapshot(publication)
        await publication_service.freeze(session, publication)
        record_change(session, principal, "publication.published", publication, before=before)
    return publication


# --- cycles -------------------------------------------------------------------------------


async def _cycle(session: AsyncSession, cycle_id: uuid.UUID | None) -> DisclosureCycle | None:
    if cycle_id is None:
        return None
    return await session.get(DisclosureCycle, cycle_id)


async def _remember_cycle(
    session: AsyncSession, data: Mapping[str, Any], **moments: datetime | None
) -> DisclosureCycle | None:
    """Create or refresh what disclosure knows of a cycle; moments already known are kept."""
    cycle_id = _uuid(data.get("cycle_id"))
    jurisdiction_code = data.get("jurisdiction_code")
    if cycle_id is None or not isinstance(jurisdiction_code, str):
        return None
    cycle = await session.get(DisclosureCycle, cycle_id, with_for_update=True)
    if cycle is None:
        cycle = DisclosureCycle(
            cycle_id=cycle_id,
            jurisdiction_code=jurisdiction_code,
            code=str(data.get("code") or data.get("cycle") or cycle_id)[:64],
            name=str(data.get("name") or data.get("code") or cycle_id)[:200],
            departments=[],
        )
        session.add(cycle)
    for field in ("period", "category"):
        if data.get(field):
            setattr(cycle, field, str(data[field]))
    if data.get("system_id"):
        cycle.system_id = _uuid(data["system_id"])
    if isinstance(data.get("departments"), list):
        cycle.departments = [
            {k: d.get(k) for k in ("department_id", "code", "name_zh", "name_en")}
            for d in data["departments"]
            if isinstance(d, dict)
        ]
    for field, moment in moments.items():
        if moment is not None and getattr(cycle, field) is None:
            setattr(cycle, field, moment)
    cycle.updated_at = utcnow()
    await session.flush()
    return cycle


async def on_cycle_opened(session: AsyncSession, event: ReceivedEvent) -> None:
    data = event.data
    await _remember_cycle(
        session, data, opened_at=_when(data.get("opened_at")) or _when(event.timestamp)
    )


# --- results ------------------------------------------------------------------------------


def _result_order(stage: str, result_version: int) -> Callable[[dict[str, Any] | None], bool]:
    """An event supersedes what is kept if it is of a later result version, or of the same
    version at a later stage (finalized after preliminary)."""
    incoming = (result_version, RESULT_STAGES.get(stage, 0))

    def supersedes(current: dict[str, Any] | None) -> bool:
        if not current:
            return True
        kept = (
            int(current.get("result_version") or 0),
            RESULT_STAGES.get(str(current.get("status")), 0),
        )
        return incoming > kept

    return supersedes


def _results_handler(policy: Policy) -> EventHandler:
    async def on_results(session: AsyncSession, event: ReceivedEvent) -> None:
        data = event.data
        stage = event.type.split(".", 1)[1]
        jurisdiction_code = data["jurisdiction_code"]
        cycle_id = _uuid(data.get("cycle_id"))
        result_version = int(data.get("result_version") or 0)
        at = _when(event.timestamp) or utcnow()
        cycle = await _remember_cycle(session, data, **{f"{stage}_at": at})
        name = str(data.get("name") or data.get("cycle") or "")
        names = {str(d.get("department_id")): d for d in (cycle.departments if cycle else []) or []}
        head = {
            "cycle_id": str(cycle_id) if cycle_id else None,
            "cycle": data.get("cycle"),
            "name": name,
            "period": data.get("period"),
            "category": data.get("category"),
            "result_version": result_version,
            "status": stage,
        }
        departments = []
        for entry in data.get("results") or []:
            department = {f: entry.get(f) for f in DEPARTMENT_RESULT_FIELDS}
            department["group_scores"] = department["group_scores"] or []
            department["indicators"] = department["indicators"] or []
            known = names.get(str(entry.get("department_id"))) or {}
            department["name_zh"] = department["name_zh"] or known.get("name_zh")
            departments.append(department)
        supersedes = _result_order(stage, result_version)
        subjects = {
            "cycle_id": cycle_id,
            "period": data.get("period"),
            "category": data.get("category"),
        }
        leader = departments[0] if departments else None
        summary = f"{len(departments)} 个部门参评"
        if leader:
            summary += (
                f"；第一名：{leader['name_zh'] or leader['department']}（{leader['total']} 分）"
            )
        await upsert_draft(
            session,
            policy,
            jurisdiction_code=jurisdiction_code,
            subject_key=f"results:{cycle_id}",
            content={
                "kind": "results",
                "title": f"{name} {STAGE_ZH.get(stage, stage)}",
                "title_en": f"{name}: {stage} results",
                "summary": summary,
                "summary_en": f"{len(departments)} departments evaluated",
                "body": "",
                "data": {**head, "results": departments},
                "attachments": [],
                **subjects,
            },
            supersedes=supersedes,
        )
        for department in departments:
            department_id = _uuid(department["department_id"])
            label = department["name_zh"] or department["department"] or str(department_id)
            await upsert_draft(
                session,
                policy,
                jurisdiction_code=jurisdiction_code,
                subject_key=f"department_result:{cycle_id}:{department_id}",
                content={
                    "kind": "department_result",
                    "title": f"{label} · {name} {STAGE_ZH.get(stage, stage)}",
                    "title_en": f"{department['department'] or label}: {name} ({stage})",
                    "summary": f"总分 {department['total']}，排名 {department['rank']}，"
                    f"等次 {department['grade']}",
                    "summary_en": f"Total {department['total']}, rank {department['rank']}, "
                    f"grade {department['grade']}",
                    "body": "",
                    "data": {**head, **department},
                    "attachments": [],
                    "department_id": department_id,
                    "department_code": department["department"],
                    **subjects,
                },
                supersedes=supersedes,
            )

    return on_results


# --- rectification ------------------------------------------------------------------------


def _task(data: Mapping[str, Any]) -> dict[str, Any]:
    task = {f: data.get(f) for f in TASK_FIELDS}
    task["task_id"] = str(task["task_id"])
    return task


def _closure_rate(tasks: list[dict[str, Any]]) -> float:
    if not tasks:
        return 0.0
    closed = sum(1 for t in tasks if str(t.get("status")) in CLOSED_TASK_STATUSES)
    return round(closed / len(tasks), 4)


async def _report(
    session: AsyncSession, jurisdiction_code: str, cycle_id: Any, department_id: Any
) -> dict[str, Any] | None:
    """The department's published result in the cycle, which its rectification answers."""
    result = await session.scalar(
        select(Publication.data).where(
            Publication.jurisdiction_code == jurisdiction_code,
            Publication.subject_key == f"department_result:{cycle_id}:{department_id}",
        )
    )
    if not result:
        return None
    return {
        "total": result.get("total"),
        "grade": result.get("grade"),
        "rank": result.get("rank"),
        "result_version": result.get("result_version"),
        "themes": [w.get("name") for w in result.get("weakest_indicators") or []],
    }


# What of a feedback report and of a department's metrics the rectification page shows.
REPORT_FIELDS = (
    "report_id",
    "result_version",
    "total",
    "grade",
    "rank",
    "vetoed",
    "weakest_indicators",
    "weakest_dimensions",
    "themes",
    "task_count",
    "issued_at",
)
METRIC_FIELDS = (
    "closure_rate",
    "on_time_rate",
    "reopen_rate",
    "mean_days_to_close",
    "feedback_response_rate",
    "computed_at",
)
# A change to the department's rectification snapshot: the new state, or None when the
# event is older than what the state already holds.
StateChange = Callable[[dict[str, Any]], "dict[str, Any] | None"]


def _newer(kept: Any, incoming: Any) -> bool:
    kept_at, incoming_at = _when(kept), _when(incoming)
    return not (kept_at and incoming_at and incoming_at < kept_at)


def _with_task(data: Mapping[str, Any]) -> StateChange:
    incoming = _task(data)

    def change(state: dict[str, Any]) -> dict[str, Any] | None:
        tasks = [dict(t) for t in state.get("tasks", [])]
        kept = next((t for t in tasks if t.get("task_id") == incoming["task_id"]), None)
        if kept is None:
            tasks.append(incoming)
        elif _newer(kept.get("changed_at"), incoming["changed_at"]):
            tasks = [incoming if t is kept else t for t in tasks]
        else:
            log.info("older_task_change_ignored", task_id=incoming["task_id"])
            return None
        return {**state, "tasks": tasks, "closure_rate": _closure_rate(tasks)}

    return change


def _with_report(data: Mapping[str, Any]) -> StateChange:
    incoming = {f: data.get(f) for f in REPORT_FIELDS}

    def change(state: dict[str, Any]) -> dict[str, Any] | None:
        kept = state.get("report") or {}
        if kept.get("report_id") and (kept.get("result_version") or 0) > (
            incoming["result_version"] or 0
        ):
            log.info("older_report_ignored", report_id=incoming["report_id"])
            return None
        return {**state, "report": incoming}

    return change


def _with_metrics(data: Mapping[str, Any]) -> StateChange:
    incoming = {f: data.get(f) for f in METRIC_FIELDS}

    def change(state: dict[str, Any]) -> dict[str, Any] | None:
        kept = state.get("metrics") or {}
        if not _newer(kept.get("computed_at"), incoming["computed_at"]):
            return None
        return {**state, "metrics": incoming}

    return change


async def _change_rectification(
    session: AsyncSession, policy: Policy, data: Mapping[str, Any], change: StateChange
) -> None:
    """Apply `change` to the department's `rectification` publication of the cycle, which
    holds its tasks, the public summary of its feedback report and its metrics."""
    jurisdiction_code = data["jurisdiction_code"]
    cycle_id = _uuid(data.get("cycle_id"))
    department_id = _uuid(data.get("department_id"))
    subject_key = f"rectification:{cycle_id}:{department_id}"
    # Locked from the read on: tasks, reports and metrics of one department arrive on
    # aggregates of their own, so two may change the same state at once.
    current = await session.scalar(
        select(Publication.data)
        .where(
            Publication.jurisdiction_code == jurisdiction_code,
            Publication.subject_key == subject_key,
        )
        .with_for_update()
    )
    state = change(dict(current or {"tasks": [], "closure_rate": 0.0}))
    if state is None:
        return
    if not (state.get("report") or {}).get("report_id"):
        # No feedback report yet: the published result it will answer.
        state["report"] = await _report(session, jurisdiction_code, cycle_id, department_id)
    tasks = state.get("tasks", [])
    rate = state.get("closure_rate", 0.0)
    cycle = await _cycle(session, cycle_id)
    department = str(data.get("department") or department_id)
    cycle_name = cycle.name if cycle else str(cycle_id)
    await upsert_draft(
        session,
        policy,
        jurisdiction_code=jurisdiction_code,
        subject_key=subject_key,
        content={
            "kind": "rectification",
            "title": f"{department} 整改进展 · {cycle_name}",
            "title_en": f"{department}: rectification progress, {cycle_name}",
            "summary": f"整改任务 {len(tasks)} 项，已完成 {round(rate * 100, 1)}%",
            "summary_en": f"{len(tasks)} tasks, {round(rate * 100, 1)}% closed",
            "body": "",
            "data": {
                **state,
                "cycle_id": str(cycle_id) if cycle_id else None,
                "department_id": str(department_id) if department_id else None,
                "department": data.get("department"),
            },
            "attachments": [],
            "cycle_id": cycle_id,
            "department_id": department_id,
            "department_code": data.get("department"),
            "period": cycle.period if cycle else None,
            "category": cycle.category if cycle else None,
        },
    )


def _rectification_handlers(policy: Policy) -> dict[str, EventHandler]:
    def handler(change_of: Callable[[Mapping[str, Any]], StateChange]) -> EventHandler:
        async def handle(session: AsyncSession, event: ReceivedEvent) -> None:
            await _change_rectification(session, policy, event.data, change_of(event.data))

        return handle

    on_task = handler(_with_task)
    return {
        "rectification.created": on_task,
        "rectification.status_changed": on_task,
        "rectification.overdue": on_task,
        "rectification.reminded": on_task,
        "feedback_report.issued": handler(_with_report),
        "department_metrics.computed": handler(_with_metrics),
    }


# --- appeals ------------------------------------------------------------------------------


def _appeal_handler(policy: Policy) -> EventHandler:
    async def on_appeal_decided(session: AsyncSession, event: ReceivedEvent) -> None:
        data = event.data
        jurisdiction_code = data["jurisdiction_code"]
        cycle_id = _uuid(data.get("cycle_id"))
        cycle = await _cycle(session, cycle_id)
        decision = str(data.get("decision"))
        department = str(data.get("department") or data.get("department_id") or "")
        target = str(data.get("target") or "")
        verdict = DECISION_ZH.get(decision, decision)
        await upsert_draft(
            session,
            policy,
            jurisdiction_code=jurisdiction_code,
            subject_key=f"appeal:{data['appeal_id']}",
            content={
                "kind": "notice",
                "title": f"申诉处理结果：{department} {target}（{verdict}）",
                "title_en": f"Appeal decision: {department} {target} ({decision})",
                "summary": str(data.get("reason") or "") or None,
                "summary_en": None,
                "body": str(data.get("decision_text") or ""),
                "data": {
                    f: data.get(f)
                    for f in (
                        "appeal_id",
                        "cycle_id",
                        "department_id",
                        "department",
                        "target_kind",
                        "target",
                        "decision",
                        "adjustment",
                        "reason",
                        "decision_text",
                        "decided_at",
                    )
                },
                "attachments": [],
                "cycle_id": cycle_id,
                "department_id": _uuid(data.get("department_id")),
                "department_code": data.get("department"),
                "period": cycle.period if cycle else None,
                "category": cycle.category if cycle else None,
            },
        )

    return on_appeal_decided


# --- plans --------------------------------------------------------------------------------


def _plan_handler(policy: Policy) -> EventHandler:
    async def on_system_published(session: AsyncSession, event: ReceivedEvent) -> None:
        system = event.data["system"]
        version = int(system.get("version") or 0)
        year, category = system.get("year"), system.get("category")
        name = str(system.get("name") or f"{year} {category}")

        def supersedes(current: dict[str, Any] | None) -> bool:
            return not current or version > int(current.get("version") or 0)

        await upsert_draft(
            session,
            policy,
            jurisdiction_code=system["jurisdiction_code"],
            subject_key=f"plan:{year}:{category}",
            content={
                "kind": "plan",
                "title": name,
                "title_en": f"Indicator plan {year}, {category} (version {version})",
                "summary": str(system.get("description") or "") or None,
                "summary_en": None,
                "body": "",
                "data": system,
                "attachments": [],
                "period": str(year) if year else None,
                "category": category,
            },
            supersedes=supersedes,
        )

    return on_system_published


def handlers(policy: Policy) -> dict[str, EventHandler]:
    """The event handlers of a service whose publish policy `policy()` returns."""
    on_results = _results_handler(policy)
    return {
        "indicator_system.published": _plan_handler(policy),
        "cycle.opened": on_cycle_opened,
        "results.preliminary": on_results,
        "results.finalized": on_results,
        "results.revised": on_results,
        **_rectification_handlers(policy),
        "appeal.decided": _appeal_handler(policy),
    }

"""Rules for evaluation cycles: the round in which one category's departments are rated and
scored, and the lifecycle it moves through.

draft → open (ratings and scorecards accepted) → scoring → preliminary (visible to the
departments, appeal window open; a re-score stays preliminary) → finalized → revised (after
an upheld appeal; again for each later one). `transition` is the one way a cycle moves on.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.audit import record_change, snapshot
from services.common.auth import Principal
from services.common.db import utcnow
from services.common.errors import Conflict, NotFound, Unprocessable
from services.common.jurisdictions import ensure_writable, get_visible, scoped
from services.common.pagination import PageParams, paginate
from services.evaluation import events
from services.evaluation.cycles import schemas
from services.evaluation.models import (
    Cycle,
    CycleDepartment,
    EvaluatorGroup,
    Questionnaire,
)
from services.evaluation.ratings import quality
from services.evaluation.systems import service as system_service
from services.evaluation.systems.indicator import IndicatorClient

T = TypeVar("T")

# Which status a cycle may move to from each status.
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"open"}),
    "open": frozenset({"scoring"}),
    "scoring": frozenset({"preliminary"}),
    "preliminary": frozenset({"preliminary", "finalized"}),  # a re-score stays preliminary
    "finalized": frozenset({"revised"}),
    "revised": frozenset({"revised"}),
}
# The column stamped when a cycle enters each status, and the audit action saying so.
ENTERED_AT = {
    "open": "opened_at",
    "scoring": "closed_at",
    "preliminary": "preliminary_at",
    "finalized": "finalized_at",
    "revised": "revised_at",
}
AUDIT_ACTIONS = {
    "open": "cycle.opened",
    "scoring": "cycle.closed",
    "preliminary": "cycle.preliminary",
    "finalized": "cycle.finalized",
    "revised": "cycle.revised",
}
SCORECARD_KINDS = ("leadership", "self", "expert", "deputy", "enterprise")
WEIGHT_TOLERANCE = 1e-6
DRAFT_FIELDS = ("period", "category", "system_id", "appeal_days", "rules")


class CycleCodeTaken(Conflict):
    code = "cycle-code-taken"
    title = "Cycle code already in use"


class InvalidTransition(Conflict):
    code = "invalid-cycle-transition"
    title = "The cycle cannot move to that status"


class AppealWindowOpen(Conflict):
    code = "appeal-window-open"
    title = "The appeal window is still open"


class CycleNotDraft(Conflict):
    code = "cycle-not-draft"
    title = "Only a draft cycle can change this"


class CycleNotOpen(Conflict):
    code = "cycle-not-open"
    title = "The cycle is not open"


class NoEvaluatorGroups(Unprocessable):
    code = "no-evaluator-groups"
    title = "The cycle has no evaluator groups"


class GroupWeightsDoNotAddUp(Unprocessable):
    code = "group-weights-do-not-add-up"
    title = "The evaluator groups' weights do not sum to 100"


class GroupWithoutDimensions(Unprocessable):
    code = "group-without-dimensions"
    title = "A scorecard group has no dimensions to score"


class QuestionnaireNotPublished(Conflict):
    code = "questionnaire-not-published"
    title = "The citizen group's questionnaire is not published"


class NoDepartments(Conflict):
    code = "no-departments"
    title = "The cycle's category has no active departments"


class GroupDepartmentsNotInCycle(Unprocessable):
    code = "group-departments-not-in-cycle"
    title = "An evaluator group rates departments the cycle does not evaluate"


# --- reading ------------------------------------------------------------------------------


async def writable(
    session: AsyncSession, model: type[T], id_: uuid.UUID, principal: Principal, *, what: str
) -> T:
    """The row, locked for the change, if it is of one of the principal's jurisdictions;
    404 otherwise (another jurisdiction's records are not revealed)."""
    row = await session.get(model, id_, with_for_update=True)
    if row is None or not principal.may_access(row.jurisdiction_code):  # type: ignore[attr-defined]
        raise NotFound(f"{what} {id_} not found")
    return row


async def writable_cycle(session: AsyncSession, principal: Principal, cycle_id: uuid.UUID) -> Cycle:
    return await writable(session, Cycle, cycle_id, principal, what="Cycle")


def ensure_draft(cycle: Any, what: str = "this") -> None:
    if cycle.status != "draft":
        raise CycleNotDraft(f"Cycle {cycle.id} is {cycle.status}: {what} is fixed once it opens")


def ensure_open(cycle: Any) -> None:
    if cycle.status != "open":
        raise CycleNotOpen(f"Cycle {cycle.id} is {cycle.status}, not open")


async def list_cycles(
    session: AsyncSession,
    principal: Principal,
    page: PageParams,
    *,
    jurisdiction: str | None = None,
    status: str | None = None,
    period: str | None = None,
    category: str | None = None,
) -> tuple[list[Cycle], str | None]:
    stmt = scoped(select(Cycle), Cycle, principal)
    for column, value in (
        (Cycle.jurisdiction_code, jurisdiction),
        (Cycle.status, status),
        (Cycle.period, period),
        (Cycle.category, category),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    return await paginate(session, stmt, Cycle.id, page)


async def get_cycle(session: AsyncSession, principal: Principal, cycle_id: uuid.UUID) -> Any:
    """A cycle of the principal's jurisdictions (a plain row)."""
    return await get_visible(session, Cycle, cycle_id, principal, what="Cycle")


async def list_departments(
    session: AsyncSession, principal: Principal, cycle_id: uuid.UUID, page: PageParams
) -> tuple[list[CycleDepartment], str | None]:
    await get_cycle(session, principal, cycle_id)
    stmt = select(CycleDepartment).where(CycleDepartment.cycle_id == cycle_id)
    return await paginate(session, stmt, CycleDepartment.department_id, page)


async def department_ids(session: AsyncSession, cycle_id: uuid.UUID) -> set[uuid.UUID]:
    """The departments the cycle evaluates (none before it opens)."""
    return set(
        (
            await session.scalars(
                select(CycleDepartment.department_id).where(CycleDepartment.cycle_id == cycle_id)
            )
        ).all()
    )


# --- writing ------------------------------------------------------------------------------


async def _check_system(
    session: AsyncSession, principal: Principal, cycle: Cycle, indicator: IndicatorClient
) -> None:
    """A named system must be a published version of the cycle's jurisdiction and category
    (fetched from the indicator service now if its event never arrived)."""
    if cycle.system_id is None:
        return
    system = await system_service.snapshot_of(session, principal, cycle.system_id, indicator)
    system_service.ensure_matches(cycle, system)


async def create_cycle(
    session: AsyncSession,
    principal: Principal,
    data: schemas.CycleCreate,
    indicator: IndicatorClient,
) -> Cycle:
    """A new cycle starts as a draft in one of the caller's jurisdictions."""
    ensure_writable(principal, data.jurisdiction_code)
    taken = await session.scalar(
        select(Cycle.id).where(
            Cycle.jurisdiction_code == data.jurisdiction_code, Cycle.code == data.code
        )
    )
    if taken is not None:
        raise CycleCodeTaken(f"Code '{data.code}' is already used in {data.jurisdiction_code}")
    cycle = Cycle(
        jurisdiction_code=data.jurisdiction_code,
        code=data.code,
        name=data.name,
        period=data.period,
        category=data.category,
        system_id=data.system_id,
        appeal_days=data.appeal_days,
        rules=data.rules.model_dump(mode="json"),
        status="draft",
    )
    await _check_system(session, principal, cycle, indicator)
    session.add(cycle)
    await session.flush()
    record_change(session, principal, "cycle.created", cycle)
    return cycle


async def update_cycle(
    session: AsyncSession,
    principal: Principal,
    cycle_id: uuid.UUID,
    data: schemas.CycleUpdate,
    indicator: IndicatorClient,
) -> Cycle:
    """Rename a cycle at any time; change a draft's period, category, system, appeal days
    or rules."""
    cycle = await writable_cycle(session, principal, cycle_id)
    changes = data.model_dump(exclude_unset=True, mode="json")
    nulls = sorted(f for f, v in changes.items() if v is None and f != "system_id")
    if nulls:
        raise Unprocessable(f"{', '.join(nulls)} cannot be null", code="null-not-allowed")
    if "system_id" in changes:
        changes["system_id"] = data.system_id
    changed = {f: v for f, v in changes.items() if getattr(cycle, f) != v}
    fixed = sorted(f for f in changed if f in DRAFT_FIELDS)
    if fixed:
        ensure_draft(cycle, ", ".join(fixed))
    if not changed:
        return cycle
    before = snapshot(cycle)
    for field, value in changed.items():
        setattr(cycle, field, value)
    await _check_system(session, principal, cycle, indicator)
    await session.flush()
    record_change(session, principal, "cycle.updated", cycle, before=before)
    return cycle


async def transition(
    session: AsyncSession, principal: Principal, cycle: Cycle, to_status: str
) -> Cycle:
    """Move `cycle` (loaded for update) to `to_status` if TRANSITIONS allows it, stamping the
    status's time and auditing the change; nothing is emitted (the caller announces it).

    Entering `preliminary` (a re-score too) opens the appeal window for `appeal_days`;
    `finalized` is refused (409 appeal-window-open) until that window has ended."""
    ensure_writable(principal, cycle.jurisdiction_code)
    if to_status not in TRANSITIONS.get(cycle.status, frozenset()):
        raise InvalidTransition(
            f"A {cycle.status} cycle cannot become {to_status}",
            cycle_status=cycle.status,
            allowed=sorted(TRANSITIONS.get(cycle.status, ())),
        )
    now = utcnow()
    if (
        to_status == "finalized"
        and cycle.appeal_window_ends_at
        and now < cycle.appeal_window_ends_at
    ):
        raise AppealWindowOpen(
            f"Appeals may be filed until {cycle.appeal_window_ends_at.isoformat()}",
            appeal_window_ends_at=cycle.appeal_window_ends_at.isoformat(),
        )
    before = snapshot(cycle)
    cycle.status = to_status
    setattr(cycle, ENTERED_AT[to_status], now)
    if to_status == "preliminary":
        cycle.appeal_window_ends_at = now + timedelta(days=cycle.appeal_days)
    await session.flush()
    record_change(session, principal, AUDIT_ACTIONS[to_status], cycle, before=before)
    return cycle


def _check_groups(groups: list[EvaluatorGroup], questionnaires: dict[uuid.UUID, str]) -> None:
    if not groups:
        raise NoEvaluatorGroups("Add evaluator groups (their weights summing to 100) first")
    total = sum(g.weight for g in groups)
    if abs(total - 100) > WEIGHT_TOLERANCE:
        raise GroupWeightsDoNotAddUp(
            f"The evaluator groups' weights sum to {total:g}, not 100",
            weight_sum=total,
            weights={g.code: g.weight for g in groups},
        )
    for group in groups:
        if group.kind in SCORECARD_KINDS and not group.dimensions:
            raise GroupWithoutDimensions(
                f"Group '{group.code}' ({group.kind}) has no dimensions", group=group.code
            )
        if group.kind == "citizen":
            status = questionnaires.get(group.questionnaire_id) if group.questionnaire_id else None
            if status != "published":
                raise QuestionnaireNotPublished(
                    f"Group '{group.code}' answers questionnaire {group.questionnaire_id}, "
                    f"which is {status or 'missing'}; publish it first",
                    group=group.code,
                )


async def open_cycle(
    session: AsyncSession, principal: Principal, cycle_id: uuid.UUID, indicator: IndicatorClient
) -> Cycle:
    """draft → open: checks the groups, binds the published indicator system, takes the
    category's departments from the indicator service and announces `cycle.opened`."""
    cycle = await writable_cycle(session, principal, cycle_id)
    if "open" not in TRANSITIONS[cycle.status]:
        raise InvalidTransition(f"A {cycle.status} cycle cannot open", cycle_status=cycle.status)
    groups = list(
        (
            await session.scalars(
                select(EvaluatorGroup)
                .where(EvaluatorGroup.cycle_id == cycle.id)
                .order_by(EvaluatorGroup.id)
            )
        ).all()
    )
    wanted = [g.questionnaire_id for g in groups if g.questionnaire_id is not None]
    questionnaires = {
        row.id: row.status
        for row in (
            await session.execute(
                select(Questionnaire.id, Questionnaire.status).where(Questionnaire.id.in_(wanted))
            )
        ).all()
    }
    _check_groups(groups, questionnaires)
    system = await system_service.bind_system(session, principal, cycle, indicator)
    departments = await indicator.departments(cycle.jurisdiction_code, cycle.category)
    rows = _department_rows(cycle.id, departments)
    if not rows:
        raise NoDepartments(
            f"No active {cycle.category} department in {cycle.jurisdiction_code} to evaluate"
        )
    evaluated = {str(r["department_id"]) for r in rows}
    for group in groups:
        outside = sorted(set(group.department_ids or ()) - evaluated)
        if outside:
            raise GroupDepartmentsNotInCycle(
                f"Group '{group.code}' rates {len(outside)} department(s) that are not active "
                f"{cycle.category} departments: {', '.join(outside[:5])}",
                group=group.code,
                departments=outside,
            )
    connection = await session.connection()
    await connection.execute(delete(CycleDepartment).where(CycleDepartment.cycle_id == cycle.id))
    await connection.execute(insert(CycleDepartment), rows)
    cycle.system_id = system.id
    await transition(session, principal, cycle, "open")
    await events.cycle_opened(session, cycle, system, groups, rows)
    return cycle


def _department_rows(cycle_id: uuid.UUID, departments: list[dict[str, Any]]) -> list[dict]:
    rows: dict[uuid.UUID, dict[str, Any]] = {}
    for department in departments:
        try:
            department_id = uuid.UUID(str(department["id"]))
            row = {
                "cycle_id": cycle_id,
                "department_id": department_id,
                "code": str(department["code"])[:64],
                "name_zh": str(department["name_zh"])[:200],
                "name_en": (
                    str(department["name_en"])[:200] if department.get("name_en") else None
                ),
            }
        except (KeyError, ValueError, TypeError):
            continue  # not a department the indicator service would list; nothing to rate
        rows[department_id] = row
    return sorted(rows.values(), key=lambda r: r["code"])


async def close_cycle(session: AsyncSession, principal: Principal, cycle_id: uuid.UUID) -> Cycle:
    """open → scoring: no more ratings or scorecards; announces `cycle.closed`."""
    cycle = await writable_cycle(session, principal, cycle_id)
    await transition(session, principal, cycle, "scoring")
    # No rating arrives after this: the quality checks run once, now, not at every scoring.
    await quality.assess(session, principal, cycle.id, cycle.jurisdiction_code, cycle.rules or {})
    await session.refresh(cycle)
    await events.cycle_closed(session, cycle)
    return cycle

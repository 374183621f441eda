"""Rules for assignments and scorecards: the office names who rates which department for a
scorecard group; each evaluator fills (and may refill) a scorecard while the cycle is open.

Assignments may be made while the cycle is a draft or open. Once it is open the department
must be one of the cycle's (a draft has no department list yet: the office may assign ahead,
and the department is checked against the group's own list only). An evaluator never rates
its own department (409 conflict-of-interest).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.audit import record_audit, record_change, snapshot
from services.common.auth import Principal
from services.common.db import new_id, utcnow
from services.common.errors import Conflict, Forbidden, NotFound, Unprocessable
from services.common.jurisdictions import scoped
from services.common.pagination import PageParams, paginate
from services.common.privacy import scrub
from services.evaluation.cycles import service as cycle_service
from services.evaluation.groups.schemas import SCORECARD_KINDS
from services.evaluation.models import Assignment, Cycle, EvaluatorGroup, Scorecard
from services.evaluation.scorecards import schemas

ASSIGNABLE_STATUSES = ("draft", "open")


class AssignmentsClosed(Conflict):
    code = "assignments-closed"
    title = "Assignments are made while the cycle is a draft or open"


class InvalidAssignments(Unprocessable):
    code = "invalid-assignments"
    title = "An assignment names a group or department the cycle does not have"


class ConflictOfInterest(Conflict):
    code = "conflict-of-interest"
    title = "An evaluator may not rate its own department"


class AssignmentExists(Conflict):
    code = "assignment-exists"
    title = "The evaluator is assigned that department in that group already"


class AssignmentHasScorecard(Conflict):
    code = "assignment-has-scorecard"
    title = "The evaluator has submitted a scorecard for this assignment"


class NotYourAssignment(Forbidden):
    code = "not-your-assignment"
    title = "Only the assigned evaluator may do this"


class InvalidScorecard(Unprocessable):
    code = "invalid-scorecard"
    title = "The scores do not fit the group's dimensions"


class ScorecardNotSubmitted(NotFound):
    code = "scorecard-not-submitted"
    title = "No scorecard has been submitted for this assignment"


@dataclass(frozen=True)
class _Problem:
    index: int
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "code": self.code, "message": self.message}


# --- assignments ----------------------------------------------------------------------------


def _problems_of(
    items: list[schemas.AssignmentCreate],
    groups: dict[uuid.UUID, EvaluatorGroup],
    departments: set[uuid.UUID],
) -> list[_Problem]:
    problems = []
    seen: set[tuple[uuid.UUID, str, uuid.UUID]] = set()
    for index, item in enumerate(items):
        group = groups.get(item.group_id)
        key = (item.group_id, item.evaluator_subject, item.department_id)
        if group is None:
            problems.append(
                _Problem(index, "unknown-group", f"The cycle has no group {item.group_id}")
            )
        elif group.kind not in SCORECARD_KINDS:
            problems.append(
                _Problem(
                    index,
                    "not-a-scorecard-group",
                    f"Group '{group.code}' is {group.kind}: only scorecard groups "
                    f"({', '.join(SCORECARD_KINDS)}) have named evaluators",
                )
            )
        elif departments and item.department_id not in departments:
            problems.append(
                _Problem(
                    index,
                    "department-not-in-cycle",
                    f"Department {item.department_id} is not evaluated in this cycle",
                )
            )
        elif group.department_ids is not None and str(item.department_id) not in set(
            group.department_ids
        ):
            problems.append(
                _Problem(
                    index,
                    "department-not-in-group",
                    f"Group '{group.code}' does not rate department {item.department_id}",
                )
            )
        elif key in seen:
            problems.append(
                _Problem(index, "duplicate-assignment", "The same assignment is sent twice")
            )
        seen.add(key)
    return problems


def _raise(error: type[Any], problems: list[_Problem]) -> None:
    first = problems[0]
    detail = (
        first.message if len(problems) == 1 else f"{len(problems)} assignments: {first.message}"
    )
    raise error(detail, code=first.code, problems=[p.as_dict() for p in problems])


async def create_assignments(
    session: AsyncSession,
    principal: Principal,
    cycle_id: uuid.UUID,
    items: list[schemas.AssignmentCreate],
) -> list[Any]:
    """Assign evaluators (all or none): each to a department, for a scorecard group."""
    cycle = await cycle_service.writable_cycle(session, principal, cycle_id)
    if cycle.status not in ASSIGNABLE_STATUSES:
        raise AssignmentsClosed(f"Cycle {cycle.id} is {cycle.status}")
    groups = {
        g.id: g
        for g in (
            await session.scalars(select(EvaluatorGroup).where(EvaluatorGroup.cycle_id == cycle.id))
        ).all()
    }
    departments = await cycle_service.department_ids(session, cycle.id)
    problems = _problems_of(items, groups, departments)
    if problems:
        _raise(InvalidAssignments, problems)
    conflicts = [
        _Problem(
            index,
            "conflict-of-interest",
            f"{item.evaluator_name} belongs to department {item.department_id} and may not rate it",
        )
        for index, item in enumerate(items)
        if item.evaluator_department_id is not None
        and item.evaluator_department_id == item.department_id
    ]
    if conflicts:
        _raise(ConflictOfInterest, conflicts)
    existing = {
        (row.group_id, row.evaluator_subject, row.department_id)
        for row in (
            await session.execute(
                select(
                    Assignment.group_id, Assignment.evaluator_subject, Assignment.department_id
                ).where(
                    Assignment.cycle_id == cycle.id,
                    Assignment.evaluator_subject.in_({i.evaluator_subject for i in items}),
                )
            )
        ).all()
    }
    taken = [
        _Problem(
            index,
            "assignment-exists",
            f"{item.evaluator_subject} already rates department {item.department_id} in this group",
        )
        for index, item in enumerate(items)
        if (item.group_id, item.evaluator_subject, item.department_id) in existing
    ]
    if taken:
        _raise(AssignmentExists, taken)
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "jurisdiction_code": cycle.jurisdiction_code,
            "cycle_id": cycle.id,
            "group_id": item.group_id,
            "evaluator_subject": item.evaluator_subject,
            "evaluator_name": item.evaluator_name,
            "evaluator_department_id": item.evaluator_department_id,
            "department_id": item.department_id,
            "created_at": now,
            "updated_at": now,
        }
        for item in items
    ]
    await (await session.connection()).execute(insert(Assignment), rows)
    for row in rows:
        record_audit(
            session,
            principal,
            action="assignment.created",
            resource_type="assignment",
            resource_id=row["id"],
            jurisdiction_code=cycle.jurisdiction_code,
            after=schemas.Assignment.model_validate(row).model_dump(mode="json"),
        )
    return rows


async def list_assignments(
    session: AsyncSession,
    principal: Principal,
    cycle_id: uuid.UUID,
    page: PageParams,
    *,
    group_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
    evaluator_subject: str | None = None,
) -> tuple[list[Any], str | None]:
    await cycle_service.get_cycle(session, principal, cycle_id)
    stmt = select(Assignment).where(Assignment.cycle_id == cycle_id)
    for column, value in (
        (Assignment.group_id, group_id),
        (Assignment.department_id, department_id),
        (Assignment.evaluator_subject, evaluator_subject),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    return await paginate(session, stmt, Assignment.id, page, plain=True)


async def my_assignments(
    session: AsyncSession,
    principal: Principal,
    page: PageParams,
    *,
    cycle_id: uuid.UUID | None = None,
) -> tuple[list[schemas.MyAssignment], str | None]:
    """The caller's own assignments (by token subject), with whether each is done."""
    stmt = scoped(select(Assignment), Assignment, principal).where(
        Assignment.evaluator_subject == principal.subject
    )
    if cycle_id is not None:
        stmt = stmt.where(Assignment.cycle_id == cycle_id)
    rows, next_cursor = await paginate(session, stmt, Assignment.id, page, plain=True)
    done = set()
    if rows:
        done = set(
            (
                await session.scalars(
                    select(Scorecard.assignment_id).where(
                        Scorecard.assignment_id.in_([r.id for r in rows])
                    )
                )
            ).all()
        )
    items = [
        schemas.MyAssignment(
            **schemas.Assignment.model_validate(r).model_dump(), scorecard_submitted=r.id in done
        )
        for r in rows
    ]
    return items, next_cursor


def _ensure_assigned(principal: Principal, assignment: Any) -> None:
    if principal.subject != assignment.evaluator_subject:
        raise NotYourAssignment(f"Assignment {assignment.id} is not yours")


async def get_assignment(
    session: AsyncSession, principal: Principal, assignment_id: uuid.UUID
) -> Any:
    """The office's admins and the assigned evaluator read it."""
    assignment = await session.get(Assignment, assignment_id)
    if assignment is None or not principal.may_access(assignment.jurisdiction_code):
        raise NotFound(f"Assignment {assignment_id} not found")
    if principal.role != "admin":
        _ensure_assigned(principal, assignment)
    return assignment


async def delete_assignment(
    session: AsyncSession, principal: Principal, assignment_id: uuid.UUID
) -> None:
    assignment = await cycle_service.writable(
        session, Assignment, assignment_id, principal, what="Assignment"
    )
    cycle = await cycle_service.writable_cycle(session, principal, assignment.cycle_id)
    if cycle.status not in ASSIGNABLE_STATUSES:
        raise AssignmentsClosed(f"Cycle {cycle.id} is {cycle.status}")
    submitted = await session.scalar(
        select(Scorecard.id).where(Scorecard.assignment_id == assignment.id)
    )
    if submitted is not None:
        raise AssignmentHasScorecard(
            f"Scorecard {submitted} was submitted for assignment {assignment.id}; it stays"
        )
    record_change(
        session,
        principal,
        "assignment.deleted",
        assignment,
        before=snapshot(assignment),
        after=None,
    )
    await session.delete(assignment)
    await session.flush()


# --- scorecards -----------------------------------------------------------------------------


def _check_scores(group: EvaluatorGroup, scores: dict[str, float | None]) -> None:
    limits = {d["code"]: float(d.get("max_score", 100)) for d in group.dimensions}
    unknown = sorted(set(scores) - set(limits))
    if unknown:
        raise InvalidScorecard(
            f"Group '{group.code}' has no dimension {', '.join(unknown)}",
            code="unknown-dimensions",
            dimensions=unknown,
        )
    missing = [code for code in limits if code not in scores]
    if missing:
        raise InvalidScorecard(
            f"Score every dimension (null for 'don't know'); missing: {', '.join(missing)}",
            code="missing-dimensions",
            dimensions=missing,
        )
    beyond = [c for c, v in scores.items() if v is not None and v > limits[c]]
    if beyond:
        raise InvalidScorecard(
            "; ".join(f"'{c}' is scored out of {limits[c]:g}" for c in beyond),
            code="score-out-of-range",
            dimensions=beyond,
        )


async def submit_scorecard(
    session: AsyncSession,
    principal: Principal,
    assignment_id: uuid.UUID,
    data: schemas.ScorecardSubmit,
) -> Scorecard:
    """The assigned evaluator's scores while the cycle is open; a second submission replaces
    the first (audited with both)."""
    assignment = await session.get(Assignment, assignment_id, with_for_update=True)
    if assignment is None or not principal.may_access(assignment.jurisdiction_code):
        raise NotFound(f"Assignment {assignment_id} not found")
    _ensure_assigned(principal, assignment)
    cycle = await session.get(Cycle, assignment.cycle_id)
    assert cycle is not None
    cycle_service.ensure_open(cycle)
    group = await session.get(EvaluatorGroup, assignment.group_id)
    assert group is not None
    _check_scores(group, data.scores)
    comment = scrub(data.comment) if data.comment else None
    scorecard = await session.scalar(
        select(Scorecard).where(Scorecard.assignment_id == assignment.id)
    )
    if scorecard is None:
        scorecard = Scorecard(
            jurisdiction_code=assignment.jurisdiction_code,
            assignment_id=assignment.id,
            cycle_id=assignment.cycle_id,
            group_id=assignment.group_id,
            department_id=assignment.department_id,
            scores=dict(data.scores),
            comment=comment,
            submitted_by=principal.subject,
        )
        session.add(scorecard)
        await session.flush()
        record_change(session, principal, "scorecard.submitted", scorecard)
        return scorecard
    before = snapshot(scorecard)
    scorecard.scores = dict(data.scores)
    scorecard.comment = comment
    scorecard.submitted_by = principal.subject
    scorecard.updated_at = utcnow()
    await session.flush()
    record_change(session, principal, "scorecard.replaced", scorecard, before=before)
    return scorecard


async def get_scorecard(
    session: AsyncSession, principal: Principal, assignment_id: uuid.UUID
) -> Scorecard:
    await get_assignment(session, principal, assignment_id)
    scorecard = await session.scalar(
        select(Scorecard).where(Scorecard.assignment_id == assignment_id)
    )
    if scorecard is None:
        raise ScorecardNotSubmitted(f"No scorecard for assignment {assignment_id} yet")
    return scorecard


async def list_scorecards(
    session: AsyncSession,
    principal: Principal,
    cycle_id: uuid.UUID,
    page: PageParams,
    *,
    group_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
) -> tuple[list[Any], str | None]:
    await cycle_service.get_cycle(session, principal, cycle_id)
    stmt = select(Scorecard).where(Scorecard.cycle_id == cycle_id)
    for column, value in ((Scorecard.group_id, group_id), (Scorecard.department_id, department_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    return await paginate(session, stmt, Scorecard.id, page, plain=True)


async def progress(
    session: AsyncSession, principal: Principal, cycle_id: uuid.UUID
) -> schemas.Progress:
    """Per scorecard group: how many assignments, how many of them submitted."""
    await cycle_service.get_cycle(session, principal, cycle_id)
    groups = (
        await session.execute(
            select(EvaluatorGroup.id, EvaluatorGroup.code, EvaluatorGroup.kind, EvaluatorGroup.name)
            .where(EvaluatorGroup.cycle_id == cycle_id, EvaluatorGroup.kind.in_(SCORECARD_KINDS))
            .order_by(EvaluatorGroup.id)
        )
    ).all()
    assigned = dict(
        (
            await session.execute(
                select(Assignment.group_id, func.count())
                .where(Assignment.cycle_id == cycle_id)
                .group_by(Assignment.group_id)
            )
        ).all()
    )
    submitted = dict(
        (
            await session.execute(
                select(Scorecard.group_id, func.count())
                .where(Scorecard.cycle_id == cycle_id)
                .group_by(Scorecard.group_id)
            )
        ).all()
    )
    rows = [
        schemas.GroupProgress(
            group_id=g.id,
            code=g.code,
            kind=g.kind,
            name=g.name,
            assigned=assigned.get(g.id, 0),
            submitted=submitted.get(g.id, 0),
        )
        for g in groups
    ]
    return schemas.Progress(
        cycle_id=cycle_id,
        assigned=sum(r.assigned for r in rows),
        submitted=sum(r.submitted for r in rows),
        groups=rows,
    )

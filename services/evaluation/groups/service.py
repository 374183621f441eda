"""Rules for evaluator groups: set up while the cycle is a draft, fixed once it opens."""

from __future__ import annotations

import uuid

from pydantic import TypeAdapter
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.audit import record_change, snapshot
from services.common.auth import Principal
from services.common.errors import Conflict, NotFound, Unprocessable
from services.evaluation.cycles import service as cycle_service
from services.evaluation.groups import schemas
from services.evaluation.models import Cycle, EvaluatorGroup, Questionnaire

MAX_GROUPS = 50
_DIMENSIONS = TypeAdapter(list[schemas.ScorecardDimension])


class GroupCodeTaken(Conflict):
    code = "group-code-taken"
    title = "The cycle has a group with that code already"


class CitizenGroupExists(Conflict):
    code = "citizen-group-exists"
    title = "The cycle has its citizen group already"


class TooManyGroups(Conflict):
    code = "too-many-groups"
    title = "The cycle has as many groups as it may"


class UnknownQuestionnaire(Unprocessable):
    code = "unknown-questionnaire"
    title = "The questionnaire does not exist"


class InvalidGroup(Unprocessable):
    code = "invalid-group"
    title = "The evaluator group does not fit its kind"


async def _groups(session: AsyncSession, cycle_id: uuid.UUID) -> list[EvaluatorGroup]:
    return list(
        (
            await session.scalars(
                select(EvaluatorGroup)
                .where(EvaluatorGroup.cycle_id == cycle_id)
                .order_by(EvaluatorGroup.id)
            )
        ).all()
    )


async def list_groups(
    session: AsyncSession, principal: Principal, cycle_id: uuid.UUID
) -> schemas.GroupList:
    """The cycle's groups and whether their weights add up to 100."""
    await cycle_service.get_cycle(session, principal, cycle_id)
    groups = [schemas.EvaluatorGroup.model_validate(g) for g in await _groups(session, cycle_id)]
    total = sum(g.weight for g in groups)
    return schemas.GroupList(
        items=groups,
        weight_sum=total,
        weights_add_up=abs(total - 100) <= cycle_service.WEIGHT_TOLERANCE,
    )


async def get_group(
    session: AsyncSession, principal: Principal, group_id: uuid.UUID
) -> EvaluatorGroup:
    # Through the ORM: the kit's plain-row read cannot type a float column on asyncpg.
    group = await session.get(EvaluatorGroup, group_id)
    if group is None or not principal.may_access(group.jurisdiction_code):
        raise NotFound(f"Group {group_id} not found")
    return group


async def _check_questionnaire(
    session: AsyncSession, cycle: Cycle, questionnaire_id: uuid.UUID | None
) -> None:
    if questionnaire_id is None:
        return
    jurisdiction = await session.scalar(
        select(Questionnaire.jurisdiction_code).where(Questionnaire.id == questionnaire_id)
    )
    if jurisdiction != cycle.jurisdiction_code:
        raise UnknownQuestionnaire(
            f"No questionnaire {questionnaire_id} in {cycle.jurisdiction_code}",
            questionnaire_id=str(questionnaire_id),
        )


async def _check_code(
    session: AsyncSession, cycle: Cycle, code: str, group_id: uuid.UUID | None = None
) -> None:
    stmt = select(EvaluatorGroup.id).where(
        EvaluatorGroup.cycle_id == cycle.id, EvaluatorGroup.code == code
    )
    if group_id is not None:
        stmt = stmt.where(EvaluatorGroup.id != group_id)
    if await session.scalar(stmt) is not None:
        raise GroupCodeTaken(f"Cycle {cycle.id} has a group '{code}' already")


def _ids(values: list[uuid.UUID] | None) -> list[str] | None:
    return None if values is None else [str(v) for v in values]


async def create_group(
    session: AsyncSession, principal: Principal, cycle_id: uuid.UUID, data: schemas.GroupCreate
) -> EvaluatorGroup:
    """A new group of a draft cycle (its weight is checked with the others' when it opens)."""
    cycle = await cycle_service.writable_cycle(session, principal, cycle_id)
    cycle_service.ensure_draft(cycle, "its evaluator groups")
    count = await session.scalar(
        select(func.count()).select_from(EvaluatorGroup).where(EvaluatorGroup.cycle_id == cycle.id)
    )
    if (count or 0) >= MAX_GROUPS:
        raise TooManyGroups(f"A cycle has at most {MAX_GROUPS} evaluator groups")
    await _check_code(session, cycle, data.code)
    if data.kind == "citizen":
        existing = await session.scalar(
            select(EvaluatorGroup.code).where(
                EvaluatorGroup.cycle_id == cycle.id, EvaluatorGroup.kind == "citizen"
            )
        )
        if existing is not None:
            raise CitizenGroupExists(
                f"Group '{existing}' is the cycle's citizen group; change it instead"
            )
    await _check_questionnaire(session, cycle, data.questionnaire_id)
    group = EvaluatorGroup(
        cycle_id=cycle.id,
        jurisdiction_code=cycle.jurisdiction_code,
        kind=data.kind,
        code=data.code,
        name=data.name,
        weight=data.weight,
        min_sample=data.min_sample,
        department_ids=_ids(data.department_ids),
        dimensions=[d.model_dump(mode="json") for d in data.dimensions],
        questionnaire_id=data.questionnaire_id,
    )
    session.add(group)
    await session.flush()
    record_change(session, principal, "evaluator_group.created", group)
    return group


async def _writable_group(
    session: AsyncSession, principal: Principal, group_id: uuid.UUID
) -> tuple[EvaluatorGroup, Cycle]:
    group = await cycle_service.writable(session, EvaluatorGroup, group_id, principal, what="Group")
    cycle = await cycle_service.writable_cycle(session, principal, group.cycle_id)
    cycle_service.ensure_draft(cycle, "its evaluator groups")
    return group, cycle


async def update_group(
    session: AsyncSession, principal: Principal, group_id: uuid.UUID, data: schemas.GroupUpdate
) -> EvaluatorGroup:
    group, cycle = await _writable_group(session, principal, group_id)
    changes = data.model_dump(exclude_unset=True)
    nulls = sorted(
        f
        for f, v in changes.items()
        if v is None and f not in ("department_ids", "questionnaire_id")
    )
    if nulls:
        raise Unprocessable(f"{', '.join(nulls)} cannot be null", code="null-not-allowed")
    dimensions = (
        data.dimensions
        if "dimensions" in changes
        else _DIMENSIONS.validate_python(group.dimensions)
    ) or []
    questionnaire_id = changes.get("questionnaire_id", group.questionnaire_id)
    department_ids = (
        data.department_ids
        if "department_ids" in changes
        else (
            None if group.department_ids is None else [uuid.UUID(d) for d in group.department_ids]
        )
    )
    problems = schemas.shape_problems(group.kind, dimensions, questionnaire_id, department_ids)
    if problems:
        raise InvalidGroup("; ".join(problems), problems=problems)
    if "code" in changes and changes["code"] != group.code:
        await _check_code(session, cycle, changes["code"], group.id)
    if questionnaire_id != group.questionnaire_id:
        await _check_questionnaire(session, cycle, questionnaire_id)
    before = snapshot(group)
    for field in ("code", "name", "weight", "min_sample"):
        if field in changes:
            setattr(group, field, changes[field])
    if "dimensions" in changes:
        group.dimensions = [d.model_dump(mode="json") for d in dimensions]
    if "department_ids" in changes:
        group.department_ids = _ids(department_ids)
    group.questionnaire_id = questionnaire_id
    await session.flush()
    record_change(session, principal, "evaluator_group.updated", group, before=before)
    return group


async def delete_group(session: AsyncSession, principal: Principal, group_id: uuid.UUID) -> None:
    group, _ = await _writable_group(session, principal, group_id)
    record_change(
        session, principal, "evaluator_group.deleted", group, before=snapshot(group), after=None
    )
    await session.delete(group)
    await session.flush()

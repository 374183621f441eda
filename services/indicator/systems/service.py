"""Rules for indicator systems: the tree, its weights, and the draft → published lifecycle."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.audit import record_change, snapshot
from services.common.auth import Principal
from services.common.db import new_id, utcnow
from services.common.errors import Conflict, NotFound, Unprocessable
from services.common.jurisdictions import ensure_writable, get_writable
from services.common.pagination import PageParams, paginate
from services.indicator import events
from services.indicator.models import Department, IndicatorNode, IndicatorSystem
from services.indicator.systems import schemas
from services.indicator.weighting import service as weighting_service
from services.scoring import rules as scoring

MAX_LEVEL = 3
WEIGHT_TOLERANCE = 1e-6
PUBLIC_STATUSES = ("published", "superseded")


class InvalidTree(Unprocessable):
    code = "invalid-tree"
    title = "The indicator tree is not valid"


class WeightsDoNotAddUp(Unprocessable):
    code = "weights-do-not-add-up"
    title = "The weights of the indicator tree do not add up"


class SystemNotDraft(Conflict):
    code = "system-not-draft"
    title = "Only a draft indicator system can be changed"


class SystemExists(Conflict):
    code = "system-exists"
    title = "An indicator system for that year and category exists already"


class DraftExists(Conflict):
    code = "draft-exists"
    title = "A draft of that indicator system exists already"


@dataclass
class Problem:
    node: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"node": self.node, "message": self.message}


def _label(node: IndicatorNode | schemas.NodeIn) -> str:
    return f"'{node.code}' ({node.name_zh})"


# --- reading ------------------------------------------------------------------------------


def _sees_drafts(principal: Principal, jurisdiction_code: str) -> bool:
    """Drafts (unpublished targets included) are the office's: its admins only."""
    return principal.role == "admin" and principal.may_access(jurisdiction_code)


def _visible(principal: Principal) -> Any:
    """The office's admins see every version; everyone sees published ones (to compare)."""
    published = IndicatorSystem.status.in_(PUBLIC_STATUSES)
    if principal.role != "admin":
        return published
    return or_(IndicatorSystem.jurisdiction_code.in_(principal.jurisdictions), published)


async def list_systems(
    session: AsyncSession,
    principal: Principal,
    page: PageParams,
    *,
    jurisdiction: str | None = None,
    year: int | None = None,
    category: str | None = None,
    status: str | None = None,
) -> tuple[list[IndicatorSystem], str | None]:
    stmt = select(IndicatorSystem).where(_visible(principal))
    for column, value in (
        (IndicatorSystem.jurisdiction_code, jurisdiction),
        (IndicatorSystem.year, year),
        (IndicatorSystem.category, category),
        (IndicatorSystem.status, status),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    return await paginate(session, stmt, IndicatorSystem.id, page)


async def get_system(
    session: AsyncSession, principal: Principal, system_id: uuid.UUID
) -> IndicatorSystem:
    system = await session.get(IndicatorSystem, system_id)
    if system is None or not (
        system.status in PUBLIC_STATUSES or _sees_drafts(principal, system.jurisdiction_code)
    ):
        raise NotFound(f"Indicator system {system_id} not found")
    return system


async def load_nodes(session: AsyncSession, system_id: uuid.UUID) -> list[IndicatorNode]:
    """The system's nodes, parents before children, siblings in order."""
    return list(
        (
            await session.scalars(
                select(IndicatorNode)
                .where(IndicatorNode.system_id == system_id)
                .order_by(IndicatorNode.level, IndicatorNode.position)
            )
        ).all()
    )


def nest(nodes: Iterable[IndicatorNode]) -> list[schemas.Node]:
    """The flat rows as the nested tree the API shows."""
    built: dict[uuid.UUID, schemas.Node] = {}
    roots: list[schemas.Node] = []
    for row in nodes:
        node = schemas.Node(
            id=row.id,
            level=row.level,
            code=row.code,
            name_zh=row.name_zh,
            name_en=row.name_en,
            description=row.description,
            unit=row.unit,
            polarity=row.polarity,  # type: ignore[arg-type]
            weight=row.weight,
            frequency=row.frequency,  # type: ignore[arg-type]
            data_source_department_id=row.data_source_department_id,
            target=row.target,
            baseline=row.baseline,
            target_overrides={uuid.UUID(k): v for k, v in row.target_overrides.items()},
            rule=scoring.parse_rule(row.rule) if row.rule is not None else None,
            children=[],
        )
        built[row.id] = node
        if row.parent_id is None:
            roots.append(node)
        else:
            built[row.parent_id].children.append(node)
    return roots


def as_input(node: schemas.Node) -> schemas.NodeIn:
    """A node as it would be sent (to copy a tree into a new version)."""
    fields = node.model_dump(exclude={"id", "level", "children", "rule"})
    return schemas.NodeIn(
        **fields, rule=node.rule, children=[as_input(child) for child in node.children]
    )


async def system_view(session: AsyncSession, system: IndicatorSystem) -> schemas.System:
    return schemas.System(
        **schemas.SystemSummary.model_validate(system).model_dump(),
        nodes=nest(await load_nodes(session, system.id)),
    )


# --- checking -----------------------------------------------------------------------------


def _walk(nodes: list[schemas.NodeIn], level: int = 1) -> Iterable[tuple[int, schemas.NodeIn]]:
    for node in nodes:
        yield level, node
        yield from _walk(node.children, level + 1)


async def structure_problems(
    session: AsyncSession, jurisdiction_code: str, nodes: list[schemas.NodeIn]
) -> list[Problem]:
    """What makes a tree unusable even as a draft: depth, codes, rules, references."""
    problems: list[Problem] = []
    walked = list(_walk(nodes))
    seen: set[str] = set()
    leaves: dict[str, schemas.NodeIn] = {}
    departments: set[uuid.UUID] = set()
    for level, node in walked:
        if level > MAX_LEVEL:
            problems.append(
                Problem(node.code, f"{_label(node)} is at level {level}; the tree has 3 levels")
            )
        if node.code in seen:
            problems.append(Problem(node.code, f"Code '{node.code}' is used more than once"))
        seen.add(node.code)
        if node.data_source_department_id is not None:
            departments.add(node.data_source_department_id)
        departments.update(node.target_overrides)
        if node.children:
            if node.rule is not None:
                problems.append(
                    Problem(
                        node.code,
                        f"{_label(node)} has sub-indicators, so its score is theirs: "
                        "it takes no scoring rule",
                    )
                )
            continue
        leaves[node.code] = node
        if node.rule is None:
            problems.append(Problem(node.code, f"{_label(node)} needs a scoring rule"))
            continue
        if node.frequency is None:
            problems.append(Problem(node.code, f"{_label(node)} needs a reporting frequency"))
        try:
            scoring.validate_weight(node.rule, node.weight)
        except ValueError as exc:
            problems.append(Problem(node.code, f"{_label(node)}: {exc}"))
    for code, node in leaves.items():
        if node.rule is None:
            continue
        for reference in sorted(scoring.references(node.rule)):
            target = leaves.get(reference)
            if reference == code:
                problems.append(Problem(code, f"{_label(node)}'s formula refers to itself"))
            elif target is None:
                problems.append(
                    Problem(code, f"{_label(node)}'s formula refers to unknown '{reference}'")
                )
            elif target.rule is not None and target.rule.method == "formula":
                problems.append(
                    Problem(
                        code,
                        f"{_label(node)}'s formula refers to '{reference}', itself a formula",
                    )
                )
    if departments:
        found = set(
            (
                await session.scalars(
                    select(Department.id).where(
                        Department.id.in_(departments),
                        Department.jurisdiction_code == jurisdiction_code,
                    )
                )
            ).all()
        )
        for missing in sorted(departments - found, key=str):
            problems.append(
                Problem(None, f"Department {missing} does not exist in {jurisdiction_code}")
            )
    return problems


def weight_problems(nodes: list[IndicatorNode]) -> list[Problem]:
    """Siblings sum to their parent's weight and the dimensions to 100."""
    problems: list[Problem] = []
    children: dict[uuid.UUID | None, list[IndicatorNode]] = {}
    for node in nodes:
        children.setdefault(node.parent_id, []).append(node)
    roots = children.get(None, [])
    if not roots:
        return [Problem(None, "The tree is empty")]
    total = sum(n.weight for n in roots)
    if abs(total - 100) > WEIGHT_TOLERANCE:
        problems.append(Problem(None, f"The dimensions' weights sum to {total:g}, not 100"))
    for node in nodes:
        kids = children.get(node.id)
        if not kids:
            continue
        total = sum(k.weight for k in kids)
        if abs(total - node.weight) > WEIGHT_TOLERANCE:
            problems.append(
                Problem(
                    node.code,
                    f"The weights under {_label(node)} sum to {total:g}, "
                    f"not its weight {node.weight:g}",
                )
            )
    return problems


async def check(session: AsyncSession, system: IndicatorSystem) -> schemas.TreeCheck:
    problems = weight_problems(await load_nodes(session, system.id))
    return schemas.TreeCheck(
        ready_to_publish=not problems,
        problems=[schemas.TreeProblem(**p.as_dict()) for p in problems],
    )


# --- writing ------------------------------------------------------------------------------


async def _write_tree(
    session: AsyncSession, system: IndicatorSystem, nodes: list[schemas.NodeIn]
) -> None:
    problems = await structure_problems(session, system.jurisdiction_code, nodes)
    if problems:
        raise InvalidTree(
            "; ".join(p.message for p in problems[:5]),
            problems=[p.as_dict() for p in problems],
        )
    await session.execute(delete(IndicatorNode).where(IndicatorNode.system_id == system.id))

    def add(items: list[schemas.NodeIn], parent: uuid.UUID | None, level: int) -> None:
        for position, item in enumerate(items):
            row = IndicatorNode(
                id=new_id(),  # known before the flush: the children point at it
                system_id=system.id,
                parent_id=parent,
                level=level,
                position=position,
                code=item.code,
                name_zh=item.name_zh,
                name_en=item.name_en,
                description=item.description,
                unit=item.unit,
                polarity=item.polarity,
                weight=item.weight,
                frequency=item.frequency,
                data_source_department_id=item.data_source_department_id,
                target=item.target,
                baseline=item.baseline,
                target_overrides={str(k): v for k, v in item.target_overrides.items()},
                rule=item.rule.model_dump(mode="json") if item.rule is not None else None,
                reportable=not item.children
                and item.rule is not None
                and item.rule.method != "formula",
            )
            session.add(row)
            add(item.children, row.id, level + 1)

    add(nodes, None, 1)
    await session.flush()


def _ensure_draft(system: IndicatorSystem) -> None:
    if system.status != "draft":
        raise SystemNotDraft(
            f"Version {system.version} is {system.status} and cannot change; "
            "revise it to get a new draft"
        )


async def _writable(
    session: AsyncSession, principal: Principal, system_id: uuid.UUID
) -> IndicatorSystem:
    return await get_writable(
        session, IndicatorSystem, system_id, principal, what="Indicator system"
    )


async def create_system(
    session: AsyncSession, principal: Principal, data: schemas.SystemCreate
) -> IndicatorSystem:
    """Version 1 of a year's system for a category, as a draft."""
    ensure_writable(principal, data.jurisdiction_code)
    existing = await session.scalar(
        select(IndicatorSystem.id).where(
            IndicatorSystem.jurisdiction_code == data.jurisdiction_code,
            IndicatorSystem.year == data.year,
            IndicatorSystem.category == data.category,
        )
    )
    if existing is not None:
        raise SystemExists(
            f"{data.category} {data.year} exists already ({existing}); revise it instead",
            existing_id=str(existing),
        )
    system = IndicatorSystem(
        jurisdiction_code=data.jurisdiction_code,
        year=data.year,
        category=data.category,
        version=1,
        name=data.name,
        description=data.description,
        status="draft",
    )
    session.add(system)
    await session.flush()
    await _write_tree(session, system, data.nodes)
    record_change(session, principal, "indicator_system.created", system)
    return system


async def update_system(
    session: AsyncSession, principal: Principal, system_id: uuid.UUID, data: schemas.SystemUpdate
) -> IndicatorSystem:
    system = await _writable(session, principal, system_id)
    _ensure_draft(system)
    before = snapshot(system)
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is None:
            raise Unprocessable(f"'{field}' cannot be null", code="null-not-allowed")
        setattr(system, field, value)
    system.updated_at = utcnow()
    await session.flush()
    record_change(session, principal, "indicator_system.updated", system, before=before)
    return system


async def replace_tree(
    session: AsyncSession, principal: Principal, system_id: uuid.UUID, nodes: list[schemas.NodeIn]
) -> IndicatorSystem:
    """Replace a draft's whole tree (what an editor saves), checked as a whole."""
    system = await _writable(session, principal, system_id)
    _ensure_draft(system)
    before = [n.model_dump(mode="json") for n in nest(await load_nodes(session, system.id))]
    await _write_tree(session, system, nodes)
    system.updated_at = utcnow()
    await session.flush()
    record_change(
        session,
        principal,
        "indicator_system.tree_replaced",
        system,
        before={"nodes": before},
        after={"nodes": [n.model_dump(mode="json") for n in nodes]},
    )
    return system


async def delete_system(session: AsyncSession, principal: Principal, system_id: uuid.UUID) -> None:
    system = await _writable(session, principal, system_id)
    _ensure_draft(system)
    record_change(session, principal, "indicator_system.deleted", system, after=None)
    await session.delete(system)
    await session.flush()


async def publish(
    session: AsyncSession, principal: Principal, system_id: uuid.UUID
) -> IndicatorSystem:
    """Freeze a draft whose weights add up; the version it replaces becomes superseded."""
    system = await _writable(session, principal, system_id)
    _ensure_draft(system)
    nodes = await load_nodes(session, system.id)
    problems = weight_problems(nodes)
    if problems:
        raise WeightsDoNotAddUp(
            "; ".join(p.message for p in problems[:5]),
            problems=[p.as_dict() for p in problems],
        )
    now = utcnow()
    await session.execute(
        update(IndicatorSystem)
        .where(
            IndicatorSystem.jurisdiction_code == system.jurisdiction_code,
            IndicatorSystem.year == system.year,
            IndicatorSystem.category == system.category,
            IndicatorSystem.status == "published",
        )
        .values(status="superseded", superseded_at=now, updated_at=now)
    )
    before = snapshot(system)
    system.status = "published"
    system.published_at = now
    system.published_by = principal.subject
    system.updated_at = now
    await session.flush()
    record_change(session, principal, "indicator_system.published", system, before=before)
    view = schemas.System(
        **schemas.SystemSummary.model_validate(system).model_dump(), nodes=nest(nodes)
    )
    await events.system_published(session, system, view)
    return system


async def revise(
    session: AsyncSession, principal: Principal, system_id: uuid.UUID
) -> IndicatorSystem:
    """A new draft version holding a copy of this version's tree."""
    source = await _writable(session, principal, system_id)
    key = (
        IndicatorSystem.jurisdiction_code == source.jurisdiction_code,
        IndicatorSystem.year == source.year,
        IndicatorSystem.category == source.category,
    )
    draft = await session.scalar(
        select(IndicatorSystem.id).where(*key, IndicatorSystem.status == "draft")
    )
    if draft is not None:
        raise DraftExists(f"Draft {draft} exists already; edit it", draft_id=str(draft))
    latest = await session.scalar(select(func.max(IndicatorSystem.version)).where(*key))
    system = IndicatorSystem(
        jurisdiction_code=source.jurisdiction_code,
        year=source.year,
        category=source.category,
        version=(latest or 0) + 1,
        name=source.name,
        description=source.description,
        status="draft",
    )
    session.add(system)
    await session.flush()
    tree = nest(await load_nodes(session, source.id))
    await _write_tree(session, system, [as_input(n) for n in tree])
    record_change(session, principal, "indicator_system.created", system)
    return system


async def apply_weights(
    session: AsyncSession, principal: Principal, system_id: uuid.UUID, data: schemas.WeightingApply
) -> IndicatorSystem:
    """Set a parent's children's weights from shares (AHP or entropy results)."""
    system = await _writable(session, principal, system_id)
    _ensure_draft(system)
    nodes = await load_nodes(session, system.id)
    by_code = {n.code: n for n in nodes}
    if data.parent is None:
        parent_id, total = None, 100.0
    else:
        parent = by_code.get(data.parent)
        if parent is None:
            raise NotFound(f"No node '{data.parent}' in this system")
        parent_id, total = parent.id, parent.weight
    children = [n for n in nodes if n.parent_id == parent_id]
    expected = {n.code for n in children}
    if set(data.weights) != expected:
        raise Unprocessable(
            f"Weights must name exactly the children of {data.parent or 'the root'}: "
            f"{', '.join(sorted(expected))}",
            code="weights-for-other-nodes",
        )
    shares = [data.weights[n.code] for n in children]
    if any(s < 0 for s in shares) or abs(sum(shares) - 1) > 1e-6:
        raise Unprocessable("Shares must be ≥ 0 and sum to 1", code="invalid-shares")
    weights = weighting_service.scale(shares, total)
    for node, weight in zip(children, weights, strict=True):
        if node.rule is not None:
            try:
                scoring.validate_weight(scoring.parse_rule(node.rule), weight)
            except ValueError as exc:
                raise Unprocessable(f"{_label(node)}: {exc}", code="invalid-shares") from exc
    before = {n.code: n.weight for n in children}
    for node, weight in zip(children, weights, strict=True):
        node.weight = weight
    system.updated_at = utcnow()
    await session.flush()
    record_change(
        session,
        principal,
        "indicator_system.weights_applied",
        system,
        before={"weights": before},
        after={"weights": {n.code: n.weight for n in children}},
    )
    return system

"""Rules for results uses: the office records them against a result feedback knows of."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.audit import record_change, snapshot
from services.common.auth import DEPARTMENT_BOUND, Principal
from services.common.errors import Forbidden, NotFound, Unprocessable
from services.common.jurisdictions import ensure_writable, get_writable, scoped
from services.common.pagination import PageParams, paginate
from services.feedback.models import RESULTS_USE_KINDS, CycleResult, ResultsUse
from services.feedback.uses import schemas


class UnknownResult(Unprocessable):
    code = "unknown-result"
    title = "No such result"


async def record_use(
    session: AsyncSession, principal: Principal, data: schemas.ResultsUseCreate
) -> ResultsUse:
    """Record one use of a department's result (audited). The result must be one the
    feedback service has received, and the version one it has had."""
    ensure_writable(principal, data.jurisdiction_code)
    result = await session.get(CycleResult, (data.cycle_id, data.department_id))
    if result is None or result.jurisdiction_code != data.jurisdiction_code:
        raise UnknownResult(
            f"No result of department {data.department_id} in cycle {data.cycle_id}"
        )
    version = data.result_version or result.result_version
    if version > result.result_version:
        raise UnknownResult(
            f"The result is at version {result.result_version}, not {version}",
            code="unknown-result-version",
        )
    use = ResultsUse(
        jurisdiction_code=result.jurisdiction_code,
        cycle_id=result.cycle_id,
        result_version=version,
        department_id=result.department_id,
        department_code=result.department_code,
        kind=data.kind,
        decided_on=data.decided_on,
        description=data.description,
        reference=data.reference,
        recorded_by=principal.subject,
    )
    session.add(use)
    await session.flush()
    record_change(session, principal, "results_use.recorded", use)
    return use


async def update_use(
    session: AsyncSession, principal: Principal, use_id: uuid.UUID, data: schemas.ResultsUseUpdate
) -> ResultsUse:
    use = await get_writable(session, ResultsUse, use_id, principal, what="Results use")
    before = snapshot(use)
    changes = data.model_dump(exclude_unset=True)
    for field in ("kind", "decided_on", "description"):
        if field in changes and changes[field] is None:
            raise Unprocessable(f"{field} cannot be emptied", code="required-field")
    for field, value in changes.items():
        setattr(use, field, value)
    await session.flush()
    record_change(session, principal, "results_use.updated", use, before=before)
    return use


def _own_department(principal: Principal, department_id: uuid.UUID | None) -> uuid.UUID | None:
    """A department sees its own uses only; naming another's is refused."""
    if principal.role not in DEPARTMENT_BOUND:
        return department_id
    if department_id is not None and str(department_id) != str(principal.department_id):
        raise Forbidden("A department reads its own results uses only")
    try:
        return uuid.UUID(str(principal.department_id))
    except ValueError:
        raise Forbidden("The token's department is not one results name") from None


async def list_uses(
    session: AsyncSession,
    principal: Principal,
    page: PageParams,
    *,
    cycle_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
    kind: str | None = None,
) -> tuple[list[ResultsUse], str | None]:
    stmt = scoped(select(ResultsUse), ResultsUse, principal)
    department_id = _own_department(principal, department_id)
    if cycle_id is not None:
        stmt = stmt.where(ResultsUse.cycle_id == cycle_id)
    if department_id is not None:
        stmt = stmt.where(ResultsUse.department_id == department_id)
    if kind is not None:
        stmt = stmt.where(ResultsUse.kind == kind)
    return await paginate(session, stmt, ResultsUse.id, page)


async def get_use(session: AsyncSession, principal: Principal, use_id: uuid.UUID) -> ResultsUse:
    use = await session.get(ResultsUse, use_id)
    if use is None or not principal.may_access(use.jurisdiction_code):
        raise NotFound(f"Results use {use_id} not found")
    if principal.role in DEPARTMENT_BOUND and str(use.department_id) != str(
        principal.department_id
    ):
        raise NotFound(f"Results use {use_id} not found")
    return use


async def summary(
    session: AsyncSession, principal: Principal, cycle_id: uuid.UUID
) -> schemas.ResultsUseSummary:
    """The share of a cycle's departments whose result was used at least once."""
    results = list(
        (
            await session.execute(
                scoped(select(CycleResult), CycleResult, principal).where(
                    CycleResult.cycle_id == cycle_id
                )
            )
        ).scalars()
    )
    if not results:
        raise NotFound(f"No results of cycle {cycle_id} are known here")
    counts = (
        await session.execute(
            select(ResultsUse.department_id, ResultsUse.kind, func.count())
            .where(ResultsUse.cycle_id == cycle_id)
            .group_by(ResultsUse.department_id, ResultsUse.kind)
        )
    ).all()
    used = {department_id for department_id, _, _ in counts}
    by_kind = {kind: 0 for kind in RESULTS_USE_KINDS}
    for _, kind, count in counts:
        by_kind[kind] += count
    with_use = sum(r.department_id in used for r in results)
    return schemas.ResultsUseSummary(
        cycle_id=cycle_id,
        jurisdiction_code=results[0].jurisdiction_code,
        departments=len(results),
        departments_with_use=with_use,
        share_with_use=round(with_use / len(results), 4),
        by_kind=by_kind,
        without_use=sorted(r.department_code for r in results if r.department_id not in used),
    )

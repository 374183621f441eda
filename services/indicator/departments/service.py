"""Rules for departments (the org units every indicator and score hangs on)."""

from __future__ import annotations

import functools
import uuid
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.audit import insert_audited, record_change, snapshot
from services.common.auth import Principal
from services.common.constraints import violates_unique
from services.common.errors import Conflict, Unprocessable
from services.common.jurisdictions import (
    ensure_writable,
    get_visible,
    get_writable,
    in_jurisdictions,
)
from services.common.pagination import PageParams, kept, paginate
from services.indicator.departments import schemas
from services.indicator.models import Department, Measurement


class DepartmentCodeTaken(Conflict):
    code = "department-code-taken"
    title = "Department code already in use"


class DepartmentInUse(Conflict):
    code = "department-in-use"
    title = "The department is referred to; deactivate it instead"


class InvalidParent(Unprocessable):
    code = "invalid-parent"
    title = "Invalid parent department"


async def list_departments(
    session: AsyncSession,
    principal: Principal,
    page: PageParams,
    *,
    jurisdiction: str | None = None,
    category: str | None = None,
    active: bool | None = None,
    search: str | None = None,
    parent_id: uuid.UUID | None = None,
    ids: list[uuid.UUID] | None = None,
) -> tuple[list[Department], str | None]:
    """Departments of the caller's jurisdictions, in creation order."""
    stmt = _department_query(
        principal.jurisdictions,
        parent_id,
        tuple(ids) if ids else None,
        jurisdiction,
        category,
        active,
        search.strip() if search else None,
    )
    return await paginate(session, stmt, Department.id, page, plain=True)


@functools.lru_cache(maxsize=512)
def _department_query(
    jurisdictions: tuple[str, ...],
    parent_id: uuid.UUID | None,
    ids: tuple[uuid.UUID, ...] | None,
    jurisdiction: str | None,
    category: str | None,
    active: bool | None,
    search: str | None,
) -> Select[Any]:
    """The list's statement for these filters, kept: the same filters again (a portal's or
    an app's usual list) are neither rebuilt nor re-keyed for the compiled cache."""
    stmt = in_jurisdictions(select(Department), Department, jurisdictions)
    if parent_id is not None:
        stmt = stmt.where(Department.parent_id == parent_id)
    if ids:
        stmt = stmt.where(Department.id.in_(ids))
    if jurisdiction is not None:
        stmt = stmt.where(Department.jurisdiction_code == jurisdiction)
    if category is not None:
        stmt = stmt.where(Department.category == category)
    if active is not None:
        stmt = stmt.where(Department.active == active)
    if search:
        pattern = f"%{search}%"
        stmt = stmt.where(
            or_(
                Department.code.ilike(pattern),
                Department.name_zh.like(pattern),
                Department.name_en.ilike(pattern),
            )
        )
    return kept(stmt)


async def get_department(
    session: AsyncSession, principal: Principal, department_id: uuid.UUID
) -> Department:
    return await get_visible(session, Department, department_id, principal, what="Department")


DEPARTMENT_CODE = ("jurisdiction_code", "code")


async def _flush(session: AsyncSession, jurisdiction_code: str, code: str) -> None:
    """Write the change; a code in use in the jurisdiction is `DepartmentCodeTaken` (the
    unique constraint decides, in the same round trip as the write)."""
    try:
        await session.flush()
    except IntegrityError as exc:
        _raise_if_code_taken(exc, jurisdiction_code, code)
        raise


def _raise_if_code_taken(exc: IntegrityError, jurisdiction_code: str, code: str) -> None:
    if violates_unique(exc, Department.__table__, DEPARTMENT_CODE):
        raise DepartmentCodeTaken(f"Code '{code}' is already used in {jurisdiction_code}") from None


async def _check_parent(
    session: AsyncSession,
    jurisdiction_code: str,
    parent_id: uuid.UUID,
    child_id: uuid.UUID | None = None,
) -> None:
    seen: set[uuid.UUID] = set()
    current: uuid.UUID | None = parent_id
    while current is not None:
        if current == child_id or current in seen:
            raise InvalidParent("A department cannot be its own ancestor")
        seen.add(current)
        parent = await session.get(Department, current)
        if parent is None or parent.jurisdiction_code != jurisdiction_code:
            raise InvalidParent(f"Parent department {parent_id} not found in {jurisdiction_code}")
        current = parent.parent_id


async def create_department(
    session: AsyncSession, principal: Principal, data: schemas.DepartmentCreate
) -> Department:
    """Create a department in one of the caller's jurisdictions."""
    ensure_writable(principal, data.jurisdiction_code)
    if data.parent_id is not None:
        await _check_parent(session, data.jurisdiction_code, data.parent_id)
    try:
        return await insert_audited(
            session, principal, "department.created", Department, **data.model_dump()
        )
    except IntegrityError as exc:
        _raise_if_code_taken(exc, data.jurisdiction_code, data.code)
        raise


async def update_department(
    session: AsyncSession,
    principal: Principal,
    department_id: uuid.UUID,
    data: schemas.DepartmentUpdate,
) -> Department:
    """Apply the fields that were sent; code stays unique, the hierarchy stays a tree."""
    department = await get_writable(
        session, Department, department_id, principal, what="Department"
    )
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    for required in ("code", "name_zh", "category", "active"):
        if required in changes and changes[required] is None:
            raise Unprocessable(f"'{required}' cannot be null", code="null-not-allowed")
    if changes.get("parent_id") is not None:
        await _check_parent(
            session, department.jurisdiction_code, changes["parent_id"], child_id=department.id
        )
    before = snapshot(department)
    for field, value in changes.items():
        setattr(department, field, value)
    await _flush(session, department.jurisdiction_code, department.code)
    record_change(session, principal, "department.updated", department, before=before)
    return department


async def delete_department(
    session: AsyncSession, principal: Principal, department_id: uuid.UUID
) -> None:
    """Only a department nothing refers to: no sub-departments, no measurements."""
    department = await get_writable(
        session, Department, department_id, principal, what="Department"
    )
    child = await session.scalar(select(Department.id).where(Department.parent_id == department_id))
    if child is not None:
        raise DepartmentInUse("It has sub-departments; move or delete them first")
    value = await session.scalar(
        select(Measurement.id).where(Measurement.department_id == department_id).limit(1)
    )
    if value is not None:
        raise DepartmentInUse("It has measurements; set active to false instead")
    record_change(session, principal, "department.deleted", department, after=None)
    await session.delete(department)
    await session.flush()

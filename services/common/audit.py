"""The audit trail: one row per mutation, written in the mutation's own transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder
from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import AdminOnly, Principal
from services.common.context import current_request_id
from services.common.errors import responses
from services.common.jurisdictions import scoped
from services.common.pagination import Page, PageParamsDep, paginate
from services.common.routing import SessionDep, TransactionalRoute

AUDIT_MODEL = "govperf_audit_model"


def snapshot(row: Any) -> dict[str, Any]:
    """The row's column values as JSON-ready data, for `before`/`after`."""
    mapper = inspect(row).mapper
    return jsonable_encoder({attr.key: getattr(row, attr.key) for attr in mapper.column_attrs})


def record_audit(
    session: AsyncSession,
    principal: Principal,
    *,
    action: str,
    resource_type: str,
    resource_id: Any,
    jurisdiction_code: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Add the audit row to the session; it commits (or not) with the change it describes."""
    model = session.info[AUDIT_MODEL]
    session.add(
        model(
            actor=principal.subject,
            role=principal.role,
            jurisdiction_code=jurisdiction_code,
            action=action,
            resource_type=resource_type,
            resource_id=str(resource_id),
            before=before,
            after=after,
            request_id=current_request_id(),
        )
    )


def record_change(
    session: AsyncSession,
    principal: Principal,
    action: str,
    row: Any,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | Literal["snapshot"] | None = "snapshot",
) -> None:
    """Audit a change to a jurisdiction's row. Actions are `<resource type>.<verb>`, so the
    resource type, id and jurisdiction all come from the action and the row."""
    record_audit(
        session,
        principal,
        action=action,
        resource_type=action.split(".", 1)[0],
        resource_id=row.id,
        jurisdiction_code=row.jurisdiction_code,
        before=before,
        after=snapshot(row) if after == "snapshot" else after,
    )


class AuditEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    occurred_at: datetime
    actor: str
    role: str
    jurisdiction_code: str
    action: str
    resource_type: str
    resource_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None


def audit_router(model: Any) -> APIRouter:
    router = APIRouter(prefix="/v1/audit", tags=["audit"], route_class=TransactionalRoute)

    @router.get("", response_model=Page[AuditEntry], responses=responses())
    async def list_audit(
        session: SessionDep,
        principal: AdminOnly,
        page: PageParamsDep,
        action: str | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
        actor: str | None = None,
        jurisdiction: Annotated[str | None, Query(description="One of your jurisdictions")] = None,
        since: AwareDatetime | None = None,
        until: AwareDatetime | None = None,
    ) -> Page[AuditEntry]:
        """The audit trail of your jurisdictions, oldest first, filtered as asked."""
        stmt = scoped(select(model), model, principal)
        filters = {
            "action": action,
            "resource_type": resource_type,
            "resource_id": resource_id,
            "actor": actor,
            "jurisdiction_code": jurisdiction,
        }
        for column, value in filters.items():
            if value is not None:
                stmt = stmt.where(getattr(model, column) == value)
        if since is not None:
            stmt = stmt.where(model.occurred_at >= since)
        if until is not None:
            stmt = stmt.where(model.occurred_at < until)
        rows, next_cursor = await paginate(session, stmt, model.id, page)
        return Page[AuditEntry](
            items=[AuditEntry.model_validate(r) for r in rows], next_cursor=next_cursor
        )

    return router

"""The audit trail: one row per mutation, written in the mutation's own transaction."""

from __future__ import annotations

import functools
import uuid
from datetime import datetime
from types import SimpleNamespace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict
from pydantic_core import to_jsonable_python
from sqlalchemy import event, insert, inspect, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.util import await_

from services.common.auth import AdminOnly, Principal
from services.common.context import current_request_id
from services.common.db import (
    driver_execute,
    insert_on_driver,
    insert_together,
    new_id,
    on_driver,
    utcnow,
    with_defaults,
)
from services.common.errors import responses
from services.common.jurisdictions import scoped
from services.common.pagination import Page, PageParamsDep, page_of, paginate
from services.common.routing import SessionDep, TransactionalRoute

AUDIT_MODEL = "govperf_audit_model"


_PENDING = "govperf_pending_audit"


def snapshot(row: Any) -> dict[str, Any]:
    """The row's column values as JSON-ready data, for `before`/`after` (an ORM instance, or
    the plain row `insert_row` returns)."""
    if not hasattr(row, "_sa_instance_state"):
        return to_jsonable_python(vars(row))
    mapper = inspect(row).mapper
    return to_jsonable_python({attr.key: getattr(row, attr.key) for attr in mapper.column_attrs})


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
    """Queue the audit row on the session; it is written by the commit of the change it
    describes (one Core INSERT for all of a transaction's rows) or vanishes with its rollback."""
    session.info.setdefault(_PENDING, []).append(
        _audit_row(principal, action, resource_type, resource_id, jurisdiction_code, before, after)
    )


def _audit_row(
    principal: Principal,
    action: str,
    resource_type: str,
    resource_id: Any,
    jurisdiction_code: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "occurred_at": utcnow(),
        "actor": principal.subject,
        "role": principal.role,
        "jurisdiction_code": jurisdiction_code,
        "action": action,
        "resource_type": resource_type,
        "resource_id": str(resource_id),
        "before": before,
        "after": after,
        "request_id": current_request_id(),
    }


async def insert_audited(
    session: AsyncSession, principal: Principal, action: str, model: Any, **values: Any
) -> SimpleNamespace:
    """`insert_row`, then `record_change` of the new row, written together: the audit row
    goes with the INSERT (on SQLite in the same trip to the driver's thread) instead of with
    the commit. If the INSERT is refused, neither is written."""
    table = model.__table__
    row = SimpleNamespace(**with_defaults(table, values))
    audit = _change_row(principal, action, row, None, snapshot(row))
    await insert_together(session, [(table, values), (session.info[AUDIT_MODEL].__table__, audit)])
    return row


@event.listens_for(Session, "before_commit")
def _write_pending_audit(session: Session) -> None:
    # Runs inside the async session's greenlet, so a synchronous execute is allowed here.
    pending = session.info.get(_PENDING)
    if pending:
        # On the connection: the session's own execute would take the ORM's bulk path,
        # which costs more than the statement.
        connection = session.connection()
        table = session.info[AUDIT_MODEL].__table__
        if on_driver(connection):
            sql, rows = insert_on_driver(table, pending, connection.dialect)
            adapter = connection.connection.dbapi_connection
            try:
                await_(driver_execute(adapter, connection.dialect, sql, rows))
                pending.clear()
                return
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
                # Gone: the engine's own path finds it so too (see `driver_execute`).
        connection.execute(insert(table), pending[0] if len(pending) == 1 else pending)
        pending.clear()


@event.listens_for(Session, "after_rollback")
def _drop_pending_audit(session: Session) -> None:
    pending = session.info.get(_PENDING)
    if pending:
        pending.clear()


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
    session.info.setdefault(_PENDING, []).append(
        _change_row(principal, action, row, before, snapshot(row) if after == "snapshot" else after)
    )


def _change_row(
    principal: Principal,
    action: str,
    row: Any,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> dict[str, Any]:
    return _audit_row(
        principal, action, action.split(".", 1)[0], row.id, row.jurisdiction_code, before, after
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


@functools.cache
def audit_router(model: Any) -> APIRouter:
    """The audit trail's routes over `model`, built once per model: apps include copies."""
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
        rows, next_cursor = await paginate(session, stmt, model.id, page, plain=True)
        return page_of(AuditEntry, rows, next_cursor)

    return router

"""Indicator-system snapshots: published versions as evaluation keeps them, and binding one
to a cycle (received through `indicator_system.published`, or fetched once if missed)."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from services.common.audit import record_change
from services.common.auth import Principal
from services.common.db import upsert_insert, utcnow
from services.common.errors import Conflict, Unprocessable
from services.common.jurisdictions import get_visible, scoped
from services.common.pagination import PageParams, paginate
from services.evaluation.models import Cycle, IndicatorSystemSnapshot
from services.evaluation.systems import schemas
from services.evaluation.systems.indicator import IndicatorClient, UpstreamUnavailable

BINDABLE_STATUSES = ("published", "superseded")


class NoPublishedSystem(Conflict):
    code = "no-published-system"
    title = "No indicator system is published for the cycle's year and category"


class UnknownSystem(Unprocessable):
    code = "unknown-indicator-system"
    title = "The indicator system does not exist"


class SystemNotPublished(Unprocessable):
    code = "indicator-system-not-published"
    title = "The indicator system is not published"


class SystemMismatch(Unprocessable):
    code = "system-mismatch"
    title = "The indicator system is not of the cycle's jurisdiction and category"


def _row_values(view: schemas.PublishedSystem, snapshot: dict[str, Any], via: str) -> dict:
    return {
        "id": view.id,
        "jurisdiction_code": view.jurisdiction_code,
        "year": view.year,
        "category": view.category,
        "version": view.version,
        "name": view.name,
        "snapshot": snapshot,
        "received_via": via,
        "received_at": utcnow(),
    }


async def store_snapshot(session: AsyncSession, system: dict[str, Any], *, via: str) -> bool:
    """Keep a published version (the System view); False if it was kept already (a snapshot
    never changes: a re-sent event or a fetch after the event is a no-op)."""
    view = schemas.PublishedSystem.model_validate(system)
    table = IndicatorSystemSnapshot.__table__
    statement = (
        upsert_insert(session, IndicatorSystemSnapshot)
        .values(**_row_values(view, system, via))
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(table.c.id)
    )
    inserted = (await (await session.connection()).execute(statement)).scalar_one_or_none()
    return inserted is not None


async def list_snapshots(
    session: AsyncSession,
    principal: Principal,
    page: PageParams,
    *,
    jurisdiction: str | None = None,
    year: int | None = None,
    category: str | None = None,
) -> tuple[list[Any], str | None]:
    model = IndicatorSystemSnapshot
    # The trees stay in the database: a list shows the heads only.
    stmt = scoped(select(model).options(defer(model.snapshot, raiseload=True)), model, principal)
    for column, value in (
        (model.jurisdiction_code, jurisdiction),
        (model.year, year),
        (model.category, category),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    return await paginate(session, stmt, model.id, page)


async def get_snapshot(session: AsyncSession, principal: Principal, system_id: uuid.UUID) -> Any:
    """A snapshot of the principal's jurisdictions, tree included (a plain row)."""
    return await get_visible(
        session, IndicatorSystemSnapshot, system_id, principal, what="Indicator system"
    )


def ensure_matches(cycle: Cycle, system: IndicatorSystemSnapshot) -> None:
    """A cycle scores its own jurisdiction's departments of one category by that category's
    system."""
    if (system.jurisdiction_code, system.category) != (cycle.jurisdiction_code, cycle.category):
        raise SystemMismatch(
            f"Indicator system {system.id} is {system.category} of {system.jurisdiction_code}; "
            f"the cycle is {cycle.category} of {cycle.jurisdiction_code}",
            system_id=str(system.id),
        )


async def _fetched(
    session: AsyncSession, principal: Principal, indicator: IndicatorClient, system_id: uuid.UUID
) -> IndicatorSystemSnapshot:
    view = await indicator.system(system_id)
    if view is None:
        raise UnknownSystem(f"The indicator service knows no system {system_id}")
    if view.get("status") not in BINDABLE_STATUSES:
        raise SystemNotPublished(
            f"Indicator system {system_id} is {view.get('status')}; publish it first"
        )
    try:
        await store_snapshot(session, view, via="fetch")
    except ValidationError as exc:
        raise UpstreamUnavailable(
            f"The indicator service answered an indicator system evaluation cannot read: {exc}"
        ) from exc
    row = await session.get(IndicatorSystemSnapshot, system_id)
    assert row is not None
    record_change(
        session,
        principal,
        "indicator_system.fetched",
        row,
        after=schemas.SnapshotSummary.model_validate(row).model_dump(mode="json"),
    )
    return row


async def snapshot_of(
    session: AsyncSession, principal: Principal, system_id: uuid.UUID, indicator: IndicatorClient
) -> IndicatorSystemSnapshot:
    """The received snapshot of a version, or fetched now (once) if its event was missed."""
    system = await session.get(IndicatorSystemSnapshot, system_id)
    if system is None:
        system = await _fetched(session, principal, indicator, system_id)
    return system


async def bind_system(
    session: AsyncSession, principal: Principal, cycle: Cycle, indicator: IndicatorClient
) -> IndicatorSystemSnapshot:
    """The snapshot the cycle opens with: its `system_id`'s, else the latest published
    version of its jurisdiction, year and category; fetched from the indicator service
    (once) when its event never arrived."""
    if cycle.system_id is not None:
        system = await snapshot_of(session, principal, cycle.system_id, indicator)
    else:
        year = int(cycle.period[:4])
        model = IndicatorSystemSnapshot
        system = await session.scalar(
            select(model)
            .where(
                model.jurisdiction_code == cycle.jurisdiction_code,
                model.year == year,
                model.category == cycle.category,
            )
            .order_by(model.version.desc())
            .limit(1)
        )
        if system is None:
            summaries = await indicator.published_systems(
                cycle.jurisdiction_code, year, cycle.category
            )
            if not summaries:
                raise NoPublishedSystem(
                    f"No {cycle.category} indicator system of {year} is published in "
                    f"{cycle.jurisdiction_code}"
                )
            latest = max(summaries, key=lambda s: s.get("version", 0))
            try:
                latest_id = uuid.UUID(str(latest.get("id")))
            except ValueError as exc:
                raise UpstreamUnavailable(
                    "The indicator service listed a system without id"
                ) from exc
            system = await _fetched(session, principal, indicator, latest_id)
    ensure_matches(cycle, system)
    return system

"""What each page shows, gathered from published versions (no HTTP here)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.errors import NotFound
from services.disclosure.charts import Bar, Point, bar_chart, line_chart
from services.disclosure.models import LedgerEntry, PublicationVersion
from services.disclosure.public.queries import (
    current_content,
    latest_versions,
    public_view,
    versions_of,
)

HOME_CYCLES = 3
HOME_PUBLICATIONS = 10
LEDGER_PAGE = 50


def ranking_groups(
    snapshot: dict[str, Any], t: Any, *, ident: str, highlight: str | None = None
) -> list[dict[str, Any]]:
    """A results snapshot's departments by category, each ranked with its bar chart."""
    by_category: dict[str, list[dict[str, Any]]] = defaultdict(list)
    default = snapshot.get("category") or "—"
    for result in snapshot.get("results") or []:
        by_category[result.get("category") or default].append(result)
    groups = []
    for index, (category, results) in enumerate(sorted(by_category.items())):
        rows = sorted(
            results,
            key=lambda r: (r.get("rank") is None, r.get("rank") or 0, -(r.get("total") or 0)),
        )
        title = t("ranking_of", name=snapshot.get("name") or "", category=category)
        rows = [
            {
                "department_id": r.get("department_id"),
                "department": r.get("department"),
                "name": r.get("name_zh") or r.get("department") or "—",
                "rank": r.get("rank"),
                "total": r.get("total"),
                "grade": r.get("grade"),
                "vetoed": r.get("vetoed"),
            }
            for r in rows
        ]
        bars = [
            Bar(
                row["name"],
                float(row["total"] or 0),
                highlight=highlight is not None and str(row["department_id"]) == highlight,
            )
            for row in rows
        ]
        groups.append(
            {
                "category": category,
                "title": title,
                "rows": rows,
                "chart": bar_chart(bars, title=title, ident=f"{ident}-{index}", max_value=100),
            }
        )
    return groups


async def home(session: AsyncSession, t: Any) -> dict[str, Any]:
    results = await versions_of(
        session,
        current_content(latest_versions())
        .where(PublicationVersion.kind == "results")
        .order_by(PublicationVersion.id.desc()),
        limit=HOME_CYCLES,
    )
    cycles = []
    for index, version in enumerate(results):
        snapshot = version.data or {}
        cycles.append(
            {
                "cycle_id": version.cycle_id,
                "name": snapshot.get("name") or version.title,
                "period": version.period,
                "published_at": version.published_at,
                "version": version.version,
                "groups": ranking_groups(snapshot, t, ident=f"home-{index}"),
            }
        )
    latest = await versions_of(
        session, latest_versions().order_by(PublicationVersion.id.desc()), limit=HOME_PUBLICATIONS
    )
    return {"cycles": cycles, "publications": [public_view(v) for v in latest]}


async def cycle(session: AsyncSession, t: Any, cycle_id: uuid.UUID) -> dict[str, Any]:
    """The cycle's results at their latest version, ranked per category, and its versions."""
    versions = await versions_of(
        session,
        select(PublicationVersion)
        .where(PublicationVersion.kind == "results", PublicationVersion.cycle_id == cycle_id)
        .order_by(PublicationVersion.id),
    )
    if not versions:
        raise NotFound(f"No results of cycle {cycle_id} have been published")
    latest = max(
        (v for v in versions if v.publication_id == versions[-1].publication_id),
        key=lambda v: v.version,
    )
    history = [v for v in versions if v.publication_id == latest.publication_id]
    view = public_view(latest)
    snapshot = view["data"] or {}
    return {
        "cycle": {
            **view,
            "name": snapshot.get("name") or latest.title,
            "status": snapshot.get("status"),
            "groups": ranking_groups(snapshot, t, ident="cycle-ranking"),
        },
        "versions": [public_view(v) for v in sorted(history, key=lambda v: v.version)],
    }


async def department(session: AsyncSession, t: Any, department_id: uuid.UUID) -> dict[str, Any]:
    """Score history (one point per cycle, by period), the latest breakdown, rectification."""
    results = await versions_of(
        session,
        latest_versions()
        .where(
            PublicationVersion.kind == "department_result",
            PublicationVersion.department_id == department_id,
        )
        .order_by(PublicationVersion.id),
    )
    rectifications = await versions_of(
        session,
        current_content(latest_versions())
        .where(
            PublicationVersion.kind == "rectification",
            PublicationVersion.department_id == department_id,
        )
        .order_by(PublicationVersion.id.desc()),
        limit=1,
    )
    if not results and not rectifications:
        raise NotFound(f"Nothing about department {department_id} has been published")
    history = []
    for version in results:
        view = public_view(version)
        snapshot = view["data"] or {}
        history.append(
            {
                **snapshot,
                "period": version.period or snapshot.get("period"),
                "cycle_id": version.cycle_id or snapshot.get("cycle_id"),
                "cycle_name": snapshot.get("name") or snapshot.get("cycle"),
                "version": version.version,
                "withdrawn": view["withdrawn"],
                "published_at": version.published_at,
            }
        )
    history.sort(key=lambda h: (h["period"] or "", h["published_at"]))
    standing = [h for h in history if not h["withdrawn"]]
    latest = standing[-1] if standing else None
    rectification = None
    if rectifications:
        version = rectifications[0]
        rectification = {**(version.data or {}), "published_at": version.published_at}
    name = (
        (latest or {}).get("name_zh")
        or (rectification or {}).get("department")
        or (history[-1].get("name_zh") if history else None)
        or str(department_id)
    )
    points = [
        Point(h["period"] or "—", None if h["withdrawn"] else _float(h.get("total")))
        for h in history
    ]
    return {
        "department": {"id": department_id, "name": name},
        "history": history,
        "history_chart": line_chart(
            points, title=t("history_of", name=name), ident="score-history", max_value=100
        ),
        "latest": latest,
        "rectification": rectification,
    }


def comparison_chart(comparison: Any, t: Any) -> str:
    bars = [
        Bar(f"{r.jurisdiction_code} · {r.name_zh or r.department or '—'}", r.points or 0.0)
        for r in comparison.rows
    ]
    return bar_chart(
        bars, title=t("points_of", code=comparison.indicator), ident="comparison-points"
    )


async def ledger(session: AsyncSession, after: int | None) -> dict[str, Any]:
    """Entries newest first from `after` (a seq), and the next page's start."""
    stmt = select(LedgerEntry).order_by(LedgerEntry.seq.desc()).limit(LEDGER_PAGE + 1)
    if after is not None:
        stmt = stmt.where(LedgerEntry.seq < after)
    entries = list((await session.scalars(stmt)).all())
    more = len(entries) > LEDGER_PAGE
    entries = entries[:LEDGER_PAGE]
    return {"entries": entries, "next_before": entries[-1].seq if more else None}


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

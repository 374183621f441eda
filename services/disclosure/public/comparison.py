"""Comparison across jurisdictions: one indicator code, from published results only."""

from __future__ import annotations

import uuid
from collections import defaultdict
from statistics import fmean
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.disclosure.models import PublicationVersion
from services.disclosure.public import schemas
from services.disclosure.public.queries import current_content, latest_versions, versions_of


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _ranks(scores: list[float | None]) -> list[int]:
    """Competition ranks (1, 2, 2, 4) by score, highest first; unscored rows rank last."""
    order = sorted(range(len(scores)), key=lambda i: (scores[i] is None, -(scores[i] or 0.0)))
    ranks = [0] * len(scores)
    for position, index in enumerate(order):
        previous = order[position - 1] if position else None
        if previous is not None and scores[previous] == scores[index]:
            ranks[index] = ranks[previous]
        else:
            ranks[index] = position + 1
    return ranks


async def compare(
    session: AsyncSession,
    *,
    indicator: str,
    period: str | None = None,
    category: str | None = None,
    jurisdictions: list[str] | None = None,
) -> schemas.Comparison:
    """Every department's published value and points for the indicator code, ranked across
    jurisdictions, and each jurisdiction's means. A cycle's department result published
    on its own counts once, with the newer of it and the cycle's results."""
    stmt = current_content(latest_versions()).where(
        PublicationVersion.kind.in_(("results", "department_result"))
    )
    if period is not None:
        stmt = stmt.where(PublicationVersion.period == period)
    if category is not None:
        stmt = stmt.where(PublicationVersion.category == category)
    if jurisdictions:
        stmt = stmt.where(PublicationVersion.jurisdiction_code.in_(jurisdictions))
    stmt = stmt.order_by(PublicationVersion.id)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for version in await versions_of(session, stmt):
        snapshot = version.data or {}
        results = snapshot.get("results") if version.kind == "results" else [snapshot]
        for result in results or []:
            match = next(
                (i for i in result.get("indicators") or [] if i.get("code") == indicator), None
            )
            if match is None or not version.cycle_id:
                continue
            key = (str(version.cycle_id), str(result.get("department_id")))
            # Later ids are later publications: the newer snapshot wins.
            found[key] = {
                "jurisdiction_code": version.jurisdiction_code,
                "cycle_id": version.cycle_id,
                "cycle": snapshot.get("cycle"),
                "period": snapshot.get("period", version.period),
                "category": snapshot.get("category", version.category),
                "department_id": _uuid(result.get("department_id")),
                "department": result.get("department"),
                "name_zh": result.get("name_zh"),
                "indicator_name": match.get("name"),
                "weight": _number(match.get("weight")),
                "value": _number(match.get("value")),
                "achievement": _number(match.get("achievement")),
                "points": _number(match.get("points")),
                "publication_id": version.publication_id,
                "publication_version": version.version,
            }
    rows = sorted(
        found.values(),
        key=lambda r: (r["points"] is None, -(r["points"] or 0.0), r["jurisdiction_code"]),
    )
    ranked = [
        schemas.ComparisonRow(rank=rank, **row)
        for rank, row in zip(_ranks([r["points"] for r in rows]), rows, strict=True)
    ]
    by_jurisdiction: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_jurisdiction[row["jurisdiction_code"]].append(row)
    summaries = []
    for code, members in by_jurisdiction.items():
        values = [r["value"] for r in members if r["value"] is not None]
        points = [r["points"] for r in members if r["points"] is not None]
        summaries.append(
            {
                "jurisdiction_code": code,
                "departments": len(members),
                "mean_value": round(fmean(values), 4) if values else None,
                "mean_points": round(fmean(points), 4) if points else None,
                "best_points": max(points) if points else None,
            }
        )
    summaries.sort(
        key=lambda s: (s["mean_points"] is None, -(s["mean_points"] or 0.0), s["jurisdiction_code"])
    )
    ranks = _ranks([s["mean_points"] for s in summaries])
    first = next((r for r in ranked if r.indicator_name), None)
    return schemas.Comparison(
        indicator=indicator,
        indicator_name=first.indicator_name if first else None,
        period=period,
        category=category,
        jurisdictions=[
            schemas.JurisdictionComparison(rank=rank, **s)
            for rank, s in zip(ranks, summaries, strict=True)
        ],
        rows=ranked,
    )


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError):
        return None

"""Published results as open data: one row per department × cycle, or per indicator too."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.disclosure.models import PublicationVersion
from services.disclosure.public.queries import current_content, latest_versions, versions_of

RESULT_COLUMNS = (
    "jurisdiction_code",
    "cycle_id",
    "cycle",
    "cycle_name",
    "period",
    "category",
    "result_version",
    "status",
    "publication_id",
    "publication_version",
    "published_at",
    "department_id",
    "department",
    "department_name",
    "total",
    "rank",
    "tied",
    "grade",
    "vetoed",
)
INDICATOR_COLUMNS = (
    "indicator_code",
    "indicator_name",
    "indicator_weight",
    "value",
    "achievement",
    "points",
)


async def result_rows(
    session: AsyncSession,
    *,
    jurisdiction: str | None = None,
    cycle_id: uuid.UUID | None = None,
    period: str | None = None,
    category: str | None = None,
    department_id: uuid.UUID | None = None,
    detail: bool = False,
) -> list[dict[str, Any]]:
    """Rows of every cycle's current published results (retracted ones left out), in
    publication order, departments in rank order as published."""
    stmt = current_content(latest_versions()).where(PublicationVersion.kind == "results")
    for column, value in (
        (PublicationVersion.jurisdiction_code, jurisdiction),
        (PublicationVersion.cycle_id, cycle_id),
        (PublicationVersion.period, period),
        (PublicationVersion.category, category),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    stmt = stmt.order_by(PublicationVersion.id)
    rows: list[dict[str, Any]] = []
    for version in await versions_of(session, stmt):
        snapshot = version.data or {}
        for result in snapshot.get("results") or []:
            if department_id is not None and str(result.get("department_id")) != str(department_id):
                continue
            row = {
                "jurisdiction_code": version.jurisdiction_code,
                "cycle_id": str(version.cycle_id or snapshot.get("cycle_id") or ""),
                "cycle": snapshot.get("cycle"),
                "cycle_name": snapshot.get("name"),
                "period": snapshot.get("period", version.period),
                "category": snapshot.get("category", version.category),
                "result_version": snapshot.get("result_version"),
                "status": snapshot.get("status"),
                "publication_id": str(version.publication_id),
                "publication_version": version.version,
                "published_at": version.published_at.isoformat(),
                "department_id": result.get("department_id"),
                "department": result.get("department"),
                "department_name": result.get("name_zh"),
                "total": result.get("total"),
                "rank": result.get("rank"),
                "tied": result.get("tied"),
                "grade": result.get("grade"),
                "vetoed": result.get("vetoed"),
            }
            if not detail:
                rows.append(row)
                continue
            for indicator in result.get("indicators") or []:
                rows.append(
                    row
                    | {
                        "indicator_code": indicator.get("code"),
                        "indicator_name": indicator.get("name"),
                        "indicator_weight": indicator.get("weight"),
                        "value": indicator.get("value"),
                        "achievement": indicator.get("achievement"),
                        "points": indicator.get("points"),
                    }
                )
    return rows


def columns(detail: bool) -> tuple[str, ...]:
    return RESULT_COLUMNS + (INDICATOR_COLUMNS if detail else ())


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        # A spreadsheet would run it as a formula: keep it text.
        return "'" + value
    return value


def to_csv(rows: list[dict[str, Any]], detail: bool) -> bytes:
    """UTF-8 with a byte-order mark, so spreadsheets read the Chinese names right."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns(detail), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in columns(detail)})
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def filename(stem: str, extension: str, *, detail: bool, **parts: Any) -> str:
    words = [stem] + [str(v) for v in parts.values() if v is not None]
    if detail:
        words.append("indicators")
    safe = "-".join("".join(ch for ch in w if ch.isalnum() or ch in "-_") for w in words)
    return f"{safe}.{extension}"

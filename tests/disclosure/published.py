"""Published versions and known cycles written straight into the disclosure database, for
tests of what the public reads (the workflow that produces them is tested on its own)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from services.common.db import new_id, utcnow
from services.disclosure.models import DisclosureCycle, Publication, PublicationVersion
from tests.harness import HEIHE, Stack


def indicator(code: str, value: float, points: float, *, weight: float = 10.0) -> dict[str, Any]:
    return {
        "code": code,
        "name": f"指标{code}",
        "weight": weight,
        "value": value,
        "achievement": round(value / 100, 4),
        "points": points,
    }


def department(
    name: str,
    total: float,
    rank: int,
    *,
    department_id: uuid.UUID | None = None,
    code: str | None = None,
    grade: str = "良好",
    indicators: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "department_id": str(department_id or uuid.uuid4()),
        "department": code or name.upper()[:8],
        "name_zh": name,
        "total": total,
        "rank": rank,
        "tied": False,
        "grade": grade,
        "vetoed": False,
        "group_scores": [],
        "indicators": indicators or [],
        "weakest_indicators": [],
        "weakest_dimensions": [],
    }


def results_data(
    cycle_id: uuid.UUID,
    results: list[dict[str, Any]],
    *,
    cycle: str = "2026-ECO",
    name: str = "2026年度经济类考评",
    period: str = "2026",
    category: str = "economic",
    status: str = "finalized",
    result_version: int = 1,
) -> dict[str, Any]:
    return {
        "cycle_id": str(cycle_id),
        "cycle": cycle,
        "name": name,
        "period": period,
        "category": category,
        "result_version": result_version,
        "status": status,
        "results": results,
    }


async def publish_version(
    stack: Stack,
    *,
    kind: str = "results",
    title: str = "考评结果",
    jurisdiction: str = HEIHE,
    publication_id: uuid.UUID | None = None,
    data: dict[str, Any] | None = None,
    published_at: datetime | None = None,
    retracted: str | None = None,
    subject_key: str | None = None,
    **fields: Any,
) -> PublicationVersion:
    """A new published version of `publication_id` (a new publication when None)."""
    db = stack.apps["disclosure"].state.db
    published_at = published_at or utcnow()
    content = {
        "kind": kind,
        "title": title,
        "data": data,
        "cycle_id": (uuid.UUID(data["cycle_id"]) if data and "cycle_id" in data else None),
        "period": data.get("period") if data else None,
        "category": data.get("category") if data else None,
        **fields,
    }
    async with db.session() as session, session.begin():
        publication = await session.get(Publication, publication_id) if publication_id else None
        if publication is None:
            publication = Publication(
                id=publication_id or new_id(),
                jurisdiction_code=jurisdiction,
                status="published",
                version=0,
                editor="system",
                subject_key=subject_key,
                attachments=[],
                **{k: v for k, v in content.items() if k in Publication.__table__.c},
            )
            session.add(publication)
            await session.flush()
        number = publication.version + 1
        version = PublicationVersion(
            publication_id=publication.id,
            jurisdiction_code=publication.jurisdiction_code,
            version=number,
            supersedes=number - 1 or None,
            published_at=published_at,
            attachments=[],
            retracted_at=published_at + timedelta(hours=1) if retracted else None,
            retraction_reason=retracted,
            **content,
        )
        publication.version = number
        publication.published_at = published_at
        publication.status = "retracted" if retracted else "published"
        session.add(version)
        await session.flush()
        session.expunge(version)
        return version


async def known_cycle(
    stack: Stack,
    *,
    cycle_id: uuid.UUID | None = None,
    jurisdiction: str = HEIHE,
    departments: list[dict[str, Any]] | None = None,
    **moments: Any,
) -> uuid.UUID:
    """A cycle as disclosure learns it from evaluation's events."""
    db = stack.apps["disclosure"].state.db
    cycle_id = cycle_id or uuid.uuid4()
    async with db.session() as session, session.begin():
        session.add(
            DisclosureCycle(
                cycle_id=cycle_id,
                jurisdiction_code=jurisdiction,
                code=moments.pop("code", "2026-ECO"),
                name=moments.pop("name", "2026年度经济类考评"),
                period=moments.pop("period", "2026"),
                category=moments.pop("category", "economic"),
                departments=departments or [],
                **moments,
            )
        )
    return cycle_id

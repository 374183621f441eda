"""Evaluation's results events, as evaluation would deliver them to the feedback service."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from standardwebhooks import Webhook

from services.common.events.subscriptions import inbox_secret
from tests.harness import HEIHE, Stack


async def deliver(
    stack: Stack, event_type: str, data: dict[str, Any], webhook_id: str | None = None
) -> None:
    """A sibling's signed webhook to the feedback service's inbox, handled before it answers."""
    app = stack.apps["feedback"]
    secret = inbox_secret(app.state.settings, "feedback")
    webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    body = json.dumps({"type": event_type, "timestamp": now.isoformat(), "data": data})
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, now, body),
        "content-type": "application/json",
    }
    response = await stack.client("feedback").post(
        "/v1/webhooks/inbox", content=body, headers=headers
    )
    assert response.status_code == 200, response.text


def department_result(
    department_id: str,
    code: str,
    *,
    total: float = 80.0,
    rank: int = 1,
    grade: str = "good",
    vetoed: bool = False,
    indicators: tuple[tuple[str, float], ...] = (),
    dimensions: tuple[tuple[str, float], ...] = (),
) -> dict[str, Any]:
    """One department's entry of a results event; indicators as (code, achievement 0–1),
    dimensions as (code, score 0–100) of the citizens group."""
    return {
        "department_id": department_id,
        "department": code,
        "name_zh": f"{code} 局",
        "total": total,
        "rank": rank,
        "tied": False,
        "grade": grade,
        "vetoed": vetoed,
        "weakest_indicators": [
            {
                "code": c,
                "name": f"指标 {c}",
                "weight": 10.0,
                "points": 10.0 * a,
                "achievement": a,
            }
            for c, a in indicators
        ],
        "weakest_dimensions": [
            {"group": "citizens", "code": c, "name": f"维度 {c}", "score": s} for c, s in dimensions
        ],
    }


def results_data(
    cycle_id: str,
    results: list[dict[str, Any]],
    *,
    version: int = 1,
    status: str = "finalized",
    period: str = "2026",
    category: str = "social_services",
    jurisdiction: str = HEIHE,
    appeal_window_ends_at: datetime | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """The data of a `results.*` event (docs/events.md)."""
    ends = appeal_window_ends_at
    if ends is None and status == "preliminary":
        ends = datetime.now(UTC) + timedelta(days=7)
    return {
        "version": 1,
        "cycle_id": cycle_id,
        "jurisdiction_code": jurisdiction,
        "cycle": code or f"{period}-{category}",
        "name": f"{period} 年度考评",
        "period": period,
        "category": category,
        "status": status,
        "result_version": version,
        "appeal_window_ends_at": ends.isoformat().replace("+00:00", "Z") if ends else None,
        "results": results,
    }

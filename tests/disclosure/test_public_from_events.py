"""From evaluation's events to what the public reads: the drafts the events publish show in
the department history, the exports, the comparison, the transparency index and the pages."""

from __future__ import annotations

import csv
import io
import json
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook

from services.common.events.subscriptions import inbox_secret
from tests.harness import HEIHE, Stack

SVG = "{http://www.w3.org/2000/svg}"


async def deliver(stack: Stack, event_type: str, data: dict[str, Any]) -> None:
    webhook_id = f"msg_{uuid.uuid4().hex}"
    secret = inbox_secret(stack.apps["disclosure"].state.settings, "disclosure")
    now = datetime.now(UTC)
    body = json.dumps({"type": event_type, "timestamp": now.isoformat(), "data": data})
    response = await stack.client("disclosure").post(
        "/v1/webhooks/inbox",
        content=body,
        headers={
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(secret).sign(webhook_id, now, body),
            "content-type": "application/json",
        },
    )
    assert response.status_code == 200, response.text


def result(dept: str, code: str, name: str, total: float, rank: int) -> dict[str, Any]:
    return {
        "department_id": dept,
        "department": code,
        "name_zh": name,
        "total": total,
        "rank": rank,
        "tied": False,
        "grade": "优秀" if rank == 1 else "良好",
        "vetoed": False,
        "weakest_indicators": [],
        "weakest_dimensions": [],
        "group_scores": [
            {"code": "objective", "kind": "objective", "name": "目标考核", "weight": 100,
             "score": total, "points": total},
        ],
        "indicators": [
            {"code": "S1", "name": "办件时效", "weight": 100, "value": total,
             "achievement": total / 100, "points": total},
        ],
    }  # fmt: skip


async def test_a_finalized_cycle_reaches_every_public_read(stack: Stack) -> None:
    cycle, edu, hea = (str(uuid.uuid4()) for _ in range(3))
    await deliver(
        stack,
        "cycle.opened",
        {
            "cycle_id": cycle,
            "jurisdiction_code": HEIHE,
            "code": "2026-social",
            "name": "2026年度社会事业类考评",
            "period": "2026",
            "category": "social_services",
            "status": "open",
            "system_id": str(uuid.uuid4()),
            "opened_at": datetime.now(UTC).isoformat(),
            "departments": [
                {"department_id": edu, "code": "EDU", "name_zh": "教育局", "name_en": "Edu"},
                {"department_id": hea, "code": "HEA", "name_zh": "卫健委", "name_en": "Health"},
            ],
        },
    )
    results = {
        "version": 1,
        "cycle_id": cycle,
        "jurisdiction_code": HEIHE,
        "cycle": "2026-social",
        "name": "2026年度社会事业类考评",
        "period": "2026",
        "category": "social_services",
        "result_version": 1,
        "appeal_window_ends_at": None,
        "results": [result(edu, "EDU", "教育局", 91.5, 1), result(hea, "HEA", "卫健委", 84.0, 2)],
    }
    await deliver(stack, "results.preliminary", {**results, "status": "preliminary"})
    await deliver(stack, "results.finalized", {**results, "status": "finalized"})
    client = stack.client("disclosure")

    history = (await client.get(f"/v1/departments/{edu}/results")).json()["items"]
    assert [(h["cycle_id"], h["total"], h["status"]) for h in history] == [
        (cycle, 91.5, "finalized")
    ]

    exported = await client.get("/v1/results/export.csv", params={"cycle_id": cycle})
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [(r["department"], r["total"], r["status"]) for r in rows] == [
        ("EDU", "91.5", "finalized"),
        ("HEA", "84.0", "finalized"),
    ]

    compared = (await client.get("/v1/comparison", params={"indicator": "S1"})).json()
    assert [(r["department"], r["points"]) for r in compared["rows"]] == [
        ("EDU", 91.5),
        ("HEA", 84.0),
    ]

    (index,) = (await client.get("/v1/transparency", params={"cycle_id": cycle})).json()["items"]
    states = {(i["item"], i["department"]): i["state"] for i in index["items"]}
    assert states[("preliminary_results", None)] == "on_time"
    assert states[("final_results", None)] == "on_time"
    assert states[("rectification", "EDU")] == "not_due"

    page = await client.get(f"/pages/cycles/{cycle}")
    assert page.status_code == 200
    start = page.text.index("<svg")
    chart = ET.fromstring(page.text[start : page.text.index("</svg>", start) + 6])
    bars = chart.findall(f"{SVG}g[@class='bar']")
    assert [(b.get("data-label"), b.get("data-value")) for b in bars] == [
        ("教育局", "91.5"),
        ("卫健委", "84"),
    ]
    department = await client.get(f"/pages/departments/{edu}")
    assert department.status_code == 200 and 'data-value="91.5"' in department.text

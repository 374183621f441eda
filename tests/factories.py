"""Keyword-only helpers that create test data through the real APIs."""

from __future__ import annotations

from typing import Any

import httpx

from tests.harness import HEIHE, auth


async def create_department(
    client: httpx.AsyncClient,
    *,
    jurisdiction: str = HEIHE,
    code: str = "EDU",
    category: str = "social_services",
    **fields: Any,
) -> dict[str, Any]:
    body = {
        "jurisdiction_code": jurisdiction,
        "code": code,
        "name_zh": f"{code} 局",
        "category": category,
        **fields,
    }
    response = await client.post(
        "/v1/departments", json=body, headers=auth(jurisdictions=(jurisdiction,))
    )
    assert response.status_code == 201, response.text
    return response.json()


async def create_cycle(
    client: httpx.AsyncClient,
    *,
    jurisdiction: str = HEIHE,
    code: str = "2026",
    period: str = "2026",
    category: str = "economic",
    **fields: Any,
) -> dict[str, Any]:
    """A draft cycle (evaluation service)."""
    body = {
        "jurisdiction_code": jurisdiction,
        "code": code,
        "name": f"{period} 年度考评",
        "period": period,
        "category": category,
        **fields,
    }
    response = await client.post(
        "/v1/cycles", json=body, headers=auth(jurisdictions=(jurisdiction,))
    )
    assert response.status_code == 201, response.text
    return response.json()


def questionnaire_body(
    *, jurisdiction: str = HEIHE, code: str = "satisfaction", **fields: Any
) -> dict[str, Any]:
    """Two dimensions, four items on a 1..5 scale."""
    return {
        "jurisdiction_code": jurisdiction,
        "code": code,
        "title_zh": "群众满意度调查",
        "dimensions": [
            {"code": "service", "name_zh": "服务态度"},
            {"code": "efficiency", "name_zh": "办事效率"},
        ],
        "items": [
            {"code": "Q1", "dimension": "service", "text_zh": "工作人员态度是否热情？"},
            {"code": "Q2", "dimension": "service", "text_zh": "解答是否耐心？"},
            {"code": "Q3", "dimension": "efficiency", "text_zh": "办理是否及时？"},
            {"code": "Q4", "dimension": "efficiency", "text_zh": "是否一次办好？"},
        ],
        **fields,
    }


async def create_questionnaire(
    client: httpx.AsyncClient,
    *,
    jurisdiction: str = HEIHE,
    code: str = "satisfaction",
    publish: bool = False,
    **fields: Any,
) -> dict[str, Any]:
    """A questionnaire version (evaluation service), a draft unless `publish`."""
    headers = auth(jurisdictions=(jurisdiction,))
    response = await client.post(
        "/v1/questionnaires",
        json=questionnaire_body(jurisdiction=jurisdiction, code=code, **fields),
        headers=headers,
    )
    assert response.status_code == 201, response.text
    if publish:
        response = await client.post(
            f"/v1/questionnaires/{response.json()['id']}/publish", headers=headers
        )
        assert response.status_code == 200, response.text
    return response.json()


def scorecard_dimensions(*codes: str, max_score: float = 100) -> list[dict[str, Any]]:
    return [{"code": c, "name_zh": f"维度 {c}", "max_score": max_score} for c in codes]


async def create_group(
    client: httpx.AsyncClient,
    cycle_id: str,
    *,
    jurisdiction: str = HEIHE,
    kind: str = "objective",
    code: str | None = None,
    weight: float = 100,
    **fields: Any,
) -> dict[str, Any]:
    """An evaluator group of a draft cycle; scorecard kinds get two dimensions by default."""
    body: dict[str, Any] = {
        "kind": kind,
        "code": code or kind,
        "name": f"{kind} 组",
        "weight": weight,
    }
    if kind in ("leadership", "self", "expert", "deputy", "enterprise"):
        body["dimensions"] = scorecard_dimensions("efficiency", "integrity")
    body.update(fields)
    response = await client.post(
        f"/v1/cycles/{cycle_id}/groups", json=body, headers=auth(jurisdictions=(jurisdiction,))
    )
    assert response.status_code == 201, response.text
    return response.json()


async def open_cycle(
    client: httpx.AsyncClient, cycle_id: str, *, jurisdiction: str = HEIHE
) -> dict[str, Any]:
    """Open a draft cycle (it needs its groups, a published system and departments)."""
    response = await client.post(
        f"/v1/cycles/{cycle_id}/open", headers=auth(jurisdictions=(jurisdiction,))
    )
    assert response.status_code == 200, response.text
    return response.json()


async def create_open_cycle(
    stack: Any,
    *,
    jurisdiction: str = HEIHE,
    code: str = "2026-open",
    category: str = "economic",
    departments: tuple[str, ...] = ("DRC", "BEB"),
    **fields: Any,
) -> dict[str, Any]:
    """An open cycle with every kind of work to do: departments of `category` and a
    published system for it in the indicator service (created unless present), then an
    objective (50), a citizen (30, on a published questionnaire) and an expert group (20).
    Returns {"cycle", "departments", "system", "questionnaire", "groups": {kind: group}}."""
    indicator, evaluation = stack.client("indicator"), stack.client("evaluation")
    headers = auth(jurisdictions=(jurisdiction,))
    listed = await indicator.get(
        "/v1/departments",
        params={"jurisdiction": jurisdiction, "category": category, "limit": 200},
        headers=headers,
    )
    known = {d["code"]: d for d in listed.json()["items"]}
    made = [
        known.get(c)
        or await create_department(indicator, jurisdiction=jurisdiction, code=c, category=category)
        for c in departments
    ]
    period = str(fields.get("period", "2026"))
    systems = await indicator.get(
        "/v1/indicator-systems",
        params={
            "jurisdiction": jurisdiction,
            "year": period[:4],
            "category": category,
            "status": "published",
        },
        headers=headers,
    )
    system = (systems.json()["items"] or [None])[0] or await create_indicator_system(
        indicator,
        jurisdiction=jurisdiction,
        year=int(period[:4]),
        category=category,
        nodes=[
            {
                "code": "E",
                "name_zh": "经济发展",
                "weight": 100,
                "children": [indicator_leaf("E.1", 60), indicator_leaf("E.2", 40)],
            }
        ],
        publish=True,
    )
    questionnaire = await create_questionnaire(
        evaluation, jurisdiction=jurisdiction, code=f"{code}-q", publish=True
    )
    cycle = await create_cycle(
        evaluation, jurisdiction=jurisdiction, code=code, category=category, **fields
    )
    groups = {
        "objective": await create_group(
            evaluation, cycle["id"], jurisdiction=jurisdiction, kind="objective", weight=50
        ),
        "citizen": await create_group(
            evaluation,
            cycle["id"],
            jurisdiction=jurisdiction,
            kind="citizen",
            weight=30,
            questionnaire_id=questionnaire["id"],
        ),
        "expert": await create_group(
            evaluation, cycle["id"], jurisdiction=jurisdiction, kind="expert", weight=20
        ),
    }
    cycle = await open_cycle(evaluation, cycle["id"], jurisdiction=jurisdiction)
    return {
        "cycle": cycle,
        "departments": made,
        "system": system,
        "questionnaire": questionnaire,
        "groups": groups,
    }


async def create_assignment(
    client: httpx.AsyncClient,
    cycle_id: str,
    *,
    group_id: str,
    department_id: str,
    evaluator: str = "evaluator:dev",
    jurisdiction: str = HEIHE,
    **fields: Any,
) -> dict[str, Any]:
    """An evaluator (by token subject) assigned a department (evaluation service)."""
    response = await client.post(
        f"/v1/cycles/{cycle_id}/assignments",
        json={
            "group_id": group_id,
            "evaluator_subject": evaluator,
            "evaluator_name": f"评价人 {evaluator}",
            "department_id": department_id,
            **fields,
        },
        headers=auth(jurisdictions=(jurisdiction,)),
    )
    assert response.status_code == 201, response.text
    return response.json()


async def create_publication(
    client: httpx.AsyncClient,
    *,
    jurisdiction: str = HEIHE,
    title: str = "考评方案",
    publish: bool = False,
) -> dict[str, Any]:
    headers = auth(jurisdictions=(jurisdiction,))
    response = await client.post(
        "/v1/publications",
        headers=headers,
        json={"jurisdiction_code": jurisdiction, "kind": "plan", "title": title, "body": "正文"},
    )
    assert response.status_code == 201, response.text
    if publish:
        response = await client.post(
            f"/v1/publications/{response.json()['id']}/publish", headers=headers
        )
        assert response.status_code == 200, response.text
    return response.json()


async def submit_feedback(
    client: httpx.AsyncClient,
    *,
    jurisdiction: str = HEIHE,
    text: str = "窗口排队太久",
    **headers: str,
) -> dict[str, Any]:
    response = await client.post(
        "/v1/citizen-feedback",
        headers=headers,
        json={"jurisdiction_code": jurisdiction, "kind": "complaint", "text": text},
    )
    assert response.status_code == 201, response.text
    return response.json()


def indicator_leaf(
    code: str, weight: float, *, frequency: str = "quarterly", target: float = 100
) -> dict[str, Any]:
    """A leaf indicator scored as the ratio of its value to the target."""
    return {
        "code": code,
        "name_zh": f"指标 {code}",
        "weight": weight,
        "frequency": frequency,
        "target": target,
        "rule": {"method": "ratio", "ceiling": 1.2},
    }


async def create_indicator_system(
    client: httpx.AsyncClient,
    *,
    jurisdiction: str = HEIHE,
    year: int = 2026,
    category: str = "economic",
    nodes: list[dict[str, Any]],
    publish: bool = False,
) -> dict[str, Any]:
    headers = auth(jurisdictions=(jurisdiction,))
    response = await client.post(
        "/v1/indicator-systems",
        headers=headers,
        json={
            "jurisdiction_code": jurisdiction,
            "year": year,
            "category": category,
            "name": f"{year} {category}",
            "nodes": nodes,
        },
    )
    assert response.status_code == 201, response.text
    if publish:
        response = await client.post(
            f"/v1/indicator-systems/{response.json()['id']}/publish", headers=headers
        )
        assert response.status_code == 200, response.text
    return response.json()


async def create_measurement(
    client: httpx.AsyncClient,
    *,
    jurisdiction: str = HEIHE,
    indicator: str,
    department: str,
    period: str,
    value: float = 80,
) -> dict[str, Any]:
    """One value, reported by the office (needs a published system with the indicator)."""
    response = await client.post(
        "/v1/measurements",
        headers=auth(jurisdictions=(jurisdiction,)),
        json={
            "jurisdiction_code": jurisdiction,
            "indicator": indicator,
            "department": department,
            "period": period,
            "value": value,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


async def create_subscription(
    client: httpx.AsyncClient,
    *,
    jurisdiction: str = HEIHE,
    url: str = "https://portal.test/hooks",
    event_types: tuple[str, ...] = ("webhook.test",),
    name: str = "",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A third party's webhook subscription (by the jurisdiction's admin unless `headers`);
    names are unique per service (the URL when none is given)."""
    response = await client.post(
        "/v1/webhooks/subscriptions",
        headers=headers or auth(jurisdictions=(jurisdiction,)),
        json={
            "jurisdiction_code": jurisdiction,
            "url": url,
            "event_types": list(event_types),
            "name": name,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


async def create_api_client(
    gateway: httpx.AsyncClient,
    *,
    jurisdiction: str = HEIHE,
    role: str = "portal",
    department_id: str | None = None,
) -> dict[str, Any]:
    """An API key issued at the gateway (integration keys name their department)."""
    body: dict[str, Any] = {"name": f"{role} key", "role": role, "jurisdiction_code": jurisdiction}
    if department_id is not None:
        body["department_id"] = department_id
    response = await gateway.post(
        "/v1/api-clients", headers=auth(jurisdictions=(jurisdiction,)), json=body
    )
    assert response.status_code == 201, response.text
    return response.json()


async def submit_department_feedback(
    client: httpx.AsyncClient,
    *,
    jurisdiction: str = HEIHE,
    department: dict[str, Any],
    text: str = "窗口排队太久",
) -> dict[str, Any]:
    """Citizen feedback about one department (a record of `create_department`), as the
    office reads it: the receipt without the sender's token."""
    response = await client.post(
        "/v1/citizen-feedback",
        json={
            "jurisdiction_code": jurisdiction,
            "kind": "complaint",
            "text": text,
            "department_id": department["id"],
            "department_code": department["code"],
        },
    )
    assert response.status_code == 201, response.text
    return {k: v for k, v in response.json().items() if k != "token"}


async def deliver_to_inbox(
    stack: Any, component: str, event_type: str, data: dict[str, Any]
) -> None:
    """A sibling's signed webhook to `component`'s inbox, handled before it answers."""
    import json
    import uuid
    from datetime import UTC, datetime

    from standardwebhooks import Webhook

    from services.common.events.subscriptions import inbox_secret

    secret = inbox_secret(stack.apps[component].state.settings, component)
    webhook_id = f"msg_{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    body = json.dumps({"type": event_type, "timestamp": now.isoformat(), "data": data})
    response = await stack.client(component).post(
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


async def deliver_finalized_results(
    stack: Any, *, jurisdiction: str, departments: list[dict[str, Any]], period: str = "2026"
) -> dict[str, Any]:
    """A `results.finalized` of a new cycle for `departments` (records of
    `create_department`), as evaluation delivers it to the feedback service; the cycle."""
    import uuid

    cycle_id = str(uuid.uuid4())
    results = [
        {
            "department_id": d["id"],
            "department": d["code"],
            "name_zh": d.get("name_zh"),
            "total": 90.0 - 10 * rank,
            "rank": rank + 1,
            "tied": False,
            "grade": "good",
            "vetoed": False,
            "weakest_indicators": [],
            "weakest_dimensions": [],
        }
        for rank, d in enumerate(departments)
    ]
    data = {
        "version": 1,
        "cycle_id": cycle_id,
        "jurisdiction_code": jurisdiction,
        "cycle": f"{period}-economic",
        "name": f"{period} 年度考评",
        "period": period,
        "category": "economic",
        "status": "finalized",
        "result_version": 1,
        "appeal_window_ends_at": None,
        "results": results,
    }
    await deliver_to_inbox(stack, "feedback", "results.finalized", data)
    return {"id": cycle_id, "period": period, "departments": [d["id"] for d in departments]}


async def record_results_use(
    client: httpx.AsyncClient,
    *,
    jurisdiction: str = HEIHE,
    cycle_id: str,
    department_id: str,
    kind: str = "commendation",
) -> dict[str, Any]:
    response = await client.post(
        "/v1/results-uses",
        json={
            "jurisdiction_code": jurisdiction,
            "cycle_id": cycle_id,
            "department_id": department_id,
            "kind": kind,
            "decided_on": "2026-12-20",
            "description": "年度考评优秀，通报表扬",
        },
        headers=auth(jurisdictions=(jurisdiction,)),
    )
    assert response.status_code == 201, response.text
    return response.json()


async def draft_publication(
    client: httpx.AsyncClient,
    *,
    jurisdiction: str = HEIHE,
    kind: str = "notice",
    title: str = "公告",
    editor: str = "editor-a",
    **fields: Any,
) -> dict[str, Any]:
    """A draft written by `editor` (its kind decides whether it needs an approver)."""
    response = await client.post(
        "/v1/publications",
        headers=auth(jurisdictions=(jurisdiction,), subject=editor),
        json={"jurisdiction_code": jurisdiction, "kind": kind, "title": title, **fields},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def approved_publication(
    client: httpx.AsyncClient,
    *,
    jurisdiction: str = HEIHE,
    approver: str = "approver-b",
    publish: bool = False,
    **fields: Any,
) -> dict[str, Any]:
    """A draft approved by an admin other than its editor, published if asked."""
    draft = await draft_publication(client, jurisdiction=jurisdiction, **fields)
    headers = auth(jurisdictions=(jurisdiction,), subject=approver)
    response = await client.post(f"/v1/publications/{draft['id']}/approve", headers=headers)
    assert response.status_code == 200, response.text
    if publish:
        response = await client.post(f"/v1/publications/{draft['id']}/publish", headers=headers)
        assert response.status_code == 200, response.text
    return response.json()

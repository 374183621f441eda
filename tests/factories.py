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
) -> dict[str, Any]:
    body = {
        "jurisdiction_code": jurisdiction,
        "code": code,
        "name": f"{period} 年度考评",
        "period": period,
    }
    response = await client.post(
        "/v1/cycles", json=body, headers=auth(jurisdictions=(jurisdiction,))
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

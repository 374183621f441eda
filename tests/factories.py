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

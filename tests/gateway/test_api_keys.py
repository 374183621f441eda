"""API keys at the gateway: issued once, exchanged for a department-bound principal."""

from __future__ import annotations

import json

from tests.harness import HARBIN, HEIHE, Stack, auth
from tests.indicator.builders import city


async def issue(stack: Stack, **fields: object) -> dict[str, object]:
    response = await stack.gateway.post(
        "/v1/api-clients",
        headers=auth(),
        json={"name": "业务系统", "kind": "internal_system", "jurisdiction_code": HEIHE, **fields},
    )
    assert response.status_code == 201, response.text
    return response.json()


def measurements(department: str) -> bytes:
    return json.dumps(
        {
            "measurements": [
                {"indicator": "ECO.2", "department": department, "period": "2026", "value": 90}
            ]
        }
    ).encode()


async def import_with(stack: Stack, key: str, department: str) -> int:
    response = await stack.gateway.post(
        "/api/indicator/v1/measurements/import",
        params={"jurisdiction": HEIHE},
        content=measurements(department),
        headers={"x-api-key": key, "content-type": "application/json"},
    )
    return response.status_code


class TestApiKeys:
    async def test_an_internal_systems_key_reaches_only_its_department(self, stack: Stack) -> None:
        departments = await city(stack.client("indicator"), "FGW", "SWJ")
        client = await issue(stack, department_id=departments["FGW"]["id"])
        key = str(client["api_key"])
        assert key.startswith("gpk_")

        assert await import_with(stack, key, "FGW") == 200
        assert await import_with(stack, key, "SWJ") == 403
        as_header = await stack.gateway.get(
            "/api/indicator/v1/measurements", headers={"authorization": f"ApiKey {key}"}
        )
        assert [m["department_id"] for m in as_header.json()["items"]] == [departments["FGW"]["id"]]

        listed = await stack.gateway.get("/v1/api-clients", headers=auth())
        [shown] = listed.json()["items"]
        assert "api_key" not in shown and shown["last_used_at"] is not None

    async def test_a_revoked_or_wrong_key_is_401(self, stack: Stack) -> None:
        departments = await city(stack.client("indicator"), "FGW")
        client = await issue(stack, department_id=departments["FGW"]["id"])
        key = str(client["api_key"])
        wrong = key[:-4] + ("aaaa" if not key.endswith("aaaa") else "bbbb")
        assert await import_with(stack, wrong, "FGW") == 401
        revoked = await stack.gateway.delete(f"/v1/api-clients/{client['id']}", headers=auth())
        assert revoked.status_code == 204
        assert await import_with(stack, key, "FGW") == 401

    async def test_only_admins_issue_keys_and_only_for_their_departments(
        self, stack: Stack
    ) -> None:
        departments = await city(stack.client("indicator"), "FGW")
        body = {
            "name": "x",
            "kind": "internal_system",
            "jurisdiction_code": HEIHE,
            "department_id": departments["FGW"]["id"],
        }
        officer = await stack.gateway.post("/v1/api-clients", headers=auth("department"), json=body)
        assert officer.status_code == 403
        other = await stack.gateway.post(
            "/v1/api-clients", headers=auth(jurisdictions=(HARBIN,)), json=body
        )
        assert other.status_code == 403
        unknown = await stack.gateway.post(
            "/v1/api-clients",
            headers=auth(),
            json={**body, "department_id": "01a21381-bfd9-7a8f-acab-e09681085245"},
        )
        assert unknown.status_code == 422
        no_department = await stack.gateway.post(
            "/v1/api-clients", headers=auth(), json={**body, "department_id": None}
        )
        assert no_department.status_code == 422

    async def test_the_list_pages_only_through_your_jurisdictions_keys(self, stack: Stack) -> None:
        for n in range(3):
            response = await stack.gateway.post(
                "/v1/api-clients",
                headers=auth(jurisdictions=(HARBIN,)),
                json={"name": f"门户{n}", "kind": "portal", "jurisdiction_code": HARBIN},
            )
            assert response.status_code == 201
        mine = []
        for n in range(3):
            response = await stack.gateway.post(
                "/v1/api-clients",
                headers=auth(),
                json={"name": f"应用{n}", "kind": "mobile_app", "jurisdiction_code": HEIHE},
            )
            mine.append(response.json()["id"])
        first = await stack.gateway.get("/v1/api-clients", params={"limit": 2}, headers=auth())
        second = await stack.gateway.get(
            "/v1/api-clients",
            params={"limit": 2, "cursor": first.json()["next_cursor"]},
            headers=auth(),
        )
        seen = [c["id"] for c in first.json()["items"] + second.json()["items"]]
        assert seen == mine and second.json()["next_cursor"] is None

from __future__ import annotations

import asyncio
from typing import Any

from tests import factories
from tests.harness import HEIHE, Stack, auth


class TestDepartments:
    async def test_create_then_read_and_filter(self, stack: Stack) -> None:
        client = stack.client("indicator")
        city = await factories.create_department(
            client, code="HH-GOV", category="districts", name_en="Heihe City"
        )
        edu = await factories.create_department(client, code="HH-EDU", parent_id=city["id"])
        assert edu["parent_id"] == city["id"] and edu["active"] is True

        got = await client.get(f"/v1/departments/{edu['id']}", headers=auth("department"))
        assert got.json() == edu
        social = await client.get(
            "/v1/departments", params={"category": "social_services"}, headers=auth()
        )
        assert [d["code"] for d in social.json()["items"]] == ["HH-EDU"]
        search = await client.get("/v1/departments", params={"q": "heihe"}, headers=auth())
        assert [d["code"] for d in search.json()["items"]] == ["HH-GOV"]

    async def test_codes_are_unique_within_a_jurisdiction(self, stack: Stack) -> None:
        client = stack.client("indicator")
        first = await factories.create_department(client, code="EDU")
        again = await client.post(
            "/v1/departments",
            headers=auth(),
            json={
                "jurisdiction_code": HEIHE,
                "code": "EDU",
                "name_zh": "又一个",
                "category": "economic",
            },
        )
        assert again.status_code == 409
        assert again.json()["code"] == "department-code-taken"
        other = await factories.create_department(client, code="FIN")
        rename = await client.patch(
            f"/v1/departments/{other['id']}", json={"code": "EDU"}, headers=auth()
        )
        assert rename.status_code == 409
        assert rename.json()["code"] == "department-code-taken"
        assert (await client.get(f"/v1/departments/{first['id']}", headers=auth())).json() == first
        assert (await client.get(f"/v1/departments/{other['id']}", headers=auth())).json() == other

    async def test_the_same_code_in_another_jurisdiction_is_free(self, stack: Stack) -> None:
        client = stack.client("indicator")
        await factories.create_department(client, code="EDU")
        harbin = await client.post(
            "/v1/departments",
            headers=auth(jurisdictions=("230100",)),
            json={
                "jurisdiction_code": "230100",
                "code": "EDU",
                "name_zh": "哈尔滨市教育局",
                "category": "social_services",
            },
        )
        assert harbin.status_code == 201, harbin.text

    async def test_two_creates_of_one_code_at_once_give_one_department(self, stack: Stack) -> None:
        client = stack.client("indicator")
        body: dict[str, Any] = {
            "jurisdiction_code": HEIHE,
            "code": "TWIN",
            "name_zh": "同时提交",
            "category": "economic",
        }
        answers = await asyncio.gather(
            *(client.post("/v1/departments", headers=auth(), json=body) for _ in range(4))
        )
        assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
        assert {a.json()["code"] for a in answers if a.status_code == 409} == {
            "department-code-taken"
        }
        listed = await client.get("/v1/departments", params={"q": "TWIN"}, headers=auth())
        assert len(listed.json()["items"]) == 1

    async def test_a_refused_create_leaves_no_audit_row(self, stack: Stack) -> None:
        client = stack.client("indicator")
        created = await factories.create_department(client, code="EDU")
        again = await client.post(
            "/v1/departments",
            headers=auth(),
            json={
                "jurisdiction_code": HEIHE,
                "code": "EDU",
                "name_zh": "x",
                "category": "economic",
            },
        )
        assert again.status_code == 409
        audit = await client.get(
            "/v1/audit", params={"action": "department.created"}, headers=auth()
        )
        assert [a["resource_id"] for a in audit.json()["items"]] == [created["id"]]
        assert audit.json()["items"][0]["after"]["code"] == "EDU"

    async def test_the_hierarchy_stays_a_tree(self, stack: Stack) -> None:
        client = stack.client("indicator")
        city = await factories.create_department(client, code="CITY")
        bureau = await factories.create_department(client, code="BUR", parent_id=city["id"])
        loop = await client.patch(
            f"/v1/departments/{city['id']}", json={"parent_id": bureau["id"]}, headers=auth()
        )
        assert loop.status_code == 422
        assert loop.json()["code"] == "invalid-parent"
        missing = await client.post(
            "/v1/departments",
            headers=auth(),
            json={
                "jurisdiction_code": HEIHE,
                "code": "X",
                "name_zh": "x",
                "category": "economic",
                "parent_id": "01890000-0000-7000-8000-000000000000",
            },
        )
        assert missing.status_code == 422

    async def test_null_for_a_required_field_is_refused(self, stack: Stack) -> None:
        client = stack.client("indicator")
        department = await factories.create_department(client, code="EDU")
        response = await client.patch(
            f"/v1/departments/{department['id']}", json={"name_zh": None}, headers=auth()
        )
        assert response.status_code == 422

    async def test_unknown_fields_are_refused(self, stack: Stack) -> None:
        response = await stack.client("indicator").post(
            "/v1/departments",
            headers=auth(),
            json={
                "jurisdiction_code": HEIHE,
                "code": "X",
                "name_zh": "x",
                "category": "economic",
                "budget": 5,
            },
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["location"] == ["body", "budget"]


class TestBatchAndDelete:
    async def test_batch_get_by_ids_and_children_of_a_parent(self, stack: Stack) -> None:
        client = stack.client("indicator")
        city = await factories.create_department(client, code="HH-GOV", category="districts")
        edu = await factories.create_department(client, code="HH-EDU", parent_id=city["id"])
        fin = await factories.create_department(client, code="HH-FIN", parent_id=city["id"])
        await factories.create_department(client, code="HH-AIH", category="districts")
        batch = await client.get(
            "/v1/departments", params=[("ids", edu["id"]), ("ids", fin["id"])], headers=auth()
        )
        assert {d["code"] for d in batch.json()["items"]} == {"HH-EDU", "HH-FIN"}
        children = await client.get(
            "/v1/departments", params={"parent_id": city["id"]}, headers=auth()
        )
        assert {d["code"] for d in children.json()["items"]} == {"HH-EDU", "HH-FIN"}

    async def test_delete_only_what_nothing_refers_to(self, stack: Stack) -> None:
        client = stack.client("indicator")
        city = await factories.create_department(client, code="HH-GOV", category="districts")
        edu = await factories.create_department(client, code="HH-EDU", parent_id=city["id"])
        refused = await client.delete(f"/v1/departments/{city['id']}", headers=auth())
        assert refused.status_code == 409 and refused.json()["code"] == "department-in-use"
        assert (
            await client.delete(f"/v1/departments/{edu['id']}", headers=auth())
        ).status_code == 204
        gone = await client.get(f"/v1/departments/{edu['id']}", headers=auth())
        assert gone.status_code == 404

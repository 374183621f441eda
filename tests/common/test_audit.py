from __future__ import annotations

from tests import factories
from tests.harness import HARBIN, HEIHE, Stack, auth


class TestAuditTrail:
    async def test_a_change_records_who_what_before_after_and_request_id(
        self, stack: Stack
    ) -> None:
        client = stack.client("indicator")
        department = await factories.create_department(client, code="EDU")
        headers = {**auth(subject="office-clerk-7"), "x-request-id": "req-audit-1"}
        response = await client.patch(
            f"/v1/departments/{department['id']}",
            json={"name_en": "Education Bureau"},
            headers=headers,
        )
        assert response.status_code == 200

        trail = await client.get(
            "/v1/audit", params={"resource_id": department["id"]}, headers=auth()
        )
        entries = trail.json()["items"]
        assert [e["action"] for e in entries] == ["department.created", "department.updated"]
        update = entries[1]
        assert update["actor"] == "office-clerk-7"
        assert update["role"] == "admin"
        assert update["jurisdiction_code"] == HEIHE
        assert update["request_id"] == "req-audit-1"
        assert update["before"]["name_en"] is None
        assert update["after"]["name_en"] == "Education Bureau"

    async def test_a_rejected_change_leaves_no_audit_row(self, stack: Stack) -> None:
        client = stack.client("indicator")
        await factories.create_department(client, code="EDU")
        duplicate = await client.post(
            "/v1/departments",
            headers=auth(),
            json={
                "jurisdiction_code": HEIHE,
                "code": "EDU",
                "name_zh": "重复",
                "category": "economic",
            },
        )
        assert duplicate.status_code == 409
        trail = await client.get("/v1/audit", headers=auth())
        assert [e["action"] for e in trail.json()["items"]] == ["department.created"]

    async def test_filters_and_pages(self, stack: Stack) -> None:
        client = stack.client("evaluation")
        cycle = await factories.create_cycle(client, code="A")
        await factories.create_cycle(client, code="B")
        renamed = await client.patch(
            f"/v1/cycles/{cycle['id']}", json={"name": "2026 年度考评（修订）"}, headers=auth()
        )
        assert renamed.status_code == 200, renamed.text
        updated = await client.get("/v1/audit", params={"action": "cycle.updated"}, headers=auth())
        assert [e["resource_id"] for e in updated.json()["items"]] == [cycle["id"]]

        first = await client.get("/v1/audit", params={"limit": 2}, headers=auth())
        second = await client.get(
            "/v1/audit", params={"limit": 2, "cursor": first.json()["next_cursor"]}, headers=auth()
        )
        assert len(first.json()["items"]) == 2
        assert len(second.json()["items"]) == 1
        assert second.json()["next_cursor"] is None

    async def test_naive_timestamps_in_filters_are_refused(self, stack: Stack) -> None:
        response = await stack.client("indicator").get(
            "/v1/audit", params={"since": "2026-01-01T00:00:00"}, headers=auth()
        )
        assert response.status_code == 422
        aware = await stack.client("indicator").get(
            "/v1/audit", params={"since": "2026-01-01T00:00:00Z"}, headers=auth()
        )
        assert aware.status_code == 200

    async def test_only_admins_of_the_jurisdiction_read_it(self, stack: Stack) -> None:
        client = stack.client("feedback")
        await factories.submit_feedback(client)
        assert (await client.get("/v1/audit", headers=auth("department"))).status_code == 403
        assert (await client.get("/v1/audit")).status_code == 401
        other = await client.get("/v1/audit", headers=auth(jurisdictions=(HARBIN,)))
        assert other.json()["items"] == []
        mine = await client.get("/v1/audit", headers=auth())
        entry = mine.json()["items"][0]
        assert (entry["action"], entry["actor"], entry["role"]) == (
            "citizen_feedback.received",
            "anonymous",
            "public",
        )

"""Evaluator groups: each kind's shape, one citizen group per cycle, weights shown with their
sum, and nothing changes once the cycle is open."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests import factories
from tests.harness import HARBIN, Stack, auth


def groups_path(cycle: dict[str, Any]) -> str:
    return f"/v1/cycles/{cycle['id']}/groups"


async def post_group(stack: Stack, cycle: dict[str, Any], **body: Any) -> Any:
    body = {"code": body.get("kind", "g"), "name": "组", "weight": 10, **body}
    return await stack.client("evaluation").post(groups_path(cycle), json=body, headers=auth())


class TestKinds:
    async def test_each_kind_with_what_it_rates_by(self, stack: Stack) -> None:
        client = stack.client("evaluation")
        questionnaire = await factories.create_questionnaire(client)
        cycle = await factories.create_cycle(client)
        objective = await post_group(stack, cycle, kind="objective", weight=50)
        citizen = await post_group(
            stack, cycle, kind="citizen", weight=30, questionnaire_id=questionnaire["id"]
        )
        expert = await post_group(
            stack,
            cycle,
            kind="expert",
            weight=20,
            min_sample=5,
            dimensions=[
                {"code": "efficiency", "name_zh": "效率", "max_score": 10, "weight": 60},
                {"code": "integrity", "name_zh": "廉洁", "name_en": "Integrity"},
            ],
        )
        for response in (objective, citizen, expert):
            assert response.status_code == 201, response.text
        assert citizen.json()["questionnaire_id"] == questionnaire["id"]
        assert expert.json()["min_sample"] == 5
        assert [(d["code"], d["max_score"], d["weight"]) for d in expert.json()["dimensions"]] == [
            ("efficiency", 10, 60),
            ("integrity", 100, None),
        ]
        listed = (await client.get(groups_path(cycle), headers=auth())).json()
        assert [g["kind"] for g in listed["items"]] == ["objective", "citizen", "expert"]
        assert (listed["weight_sum"], listed["weights_add_up"]) == (100, True)

    @pytest.mark.parametrize(
        "body",
        [
            pytest.param({"kind": "expert"}, id="scorecard-kind-without-dimensions"),
            pytest.param(
                {"kind": "objective", "dimensions": factories.scorecard_dimensions("a")},
                id="objective-with-dimensions",
            ),
            pytest.param({"kind": "citizen"}, id="citizen-without-questionnaire"),
            pytest.param(
                {
                    "kind": "deputy",
                    "questionnaire_id": str(uuid.uuid4()),
                    "dimensions": factories.scorecard_dimensions("a"),
                },
                id="scorecard-kind-with-questionnaire",
            ),
            pytest.param(
                {"kind": "leadership", "dimensions": factories.scorecard_dimensions("a", "a")},
                id="duplicate-dimension-codes",
            ),
            pytest.param(
                {"kind": "self", "dimensions": factories.scorecard_dimensions("a", max_score=0)},
                id="max-score-0",
            ),
            pytest.param(
                {"kind": "self", "dimensions": factories.scorecard_dimensions("a", max_score=1001)},
                id="max-score-1001",
            ),
            pytest.param(
                {
                    "kind": "enterprise",
                    "dimensions": factories.scorecard_dimensions(*(f"d{i}" for i in range(51))),
                },
                id="51-dimensions",
            ),
            pytest.param({"kind": "objective", "weight": 101}, id="weight-over-100"),
            pytest.param({"kind": "objective", "weight": -1}, id="negative-weight"),
            pytest.param({"kind": "objective", "min_sample": 0}, id="min-sample-0"),
            pytest.param({"kind": "objective", "department_ids": []}, id="no-departments"),
            pytest.param({"kind": "public"}, id="unknown-kind"),
        ],
    )
    async def test_a_group_that_does_not_fit_its_kind_is_422(
        self, stack: Stack, body: dict[str, Any]
    ) -> None:
        cycle = await factories.create_cycle(stack.client("evaluation"))
        response = await post_group(stack, cycle, **body)
        assert response.status_code == 422, response.text

    async def test_a_questionnaire_of_another_jurisdiction_is_unknown(self, stack: Stack) -> None:
        client = stack.client("evaluation")
        theirs = await factories.create_questionnaire(client, jurisdiction=HARBIN, publish=True)
        cycle = await factories.create_cycle(client)
        response = await post_group(stack, cycle, kind="citizen", questionnaire_id=theirs["id"])
        assert response.status_code == 422 and response.json()["code"] == "unknown-questionnaire"

    async def test_one_citizen_group_and_unique_codes_per_cycle(self, stack: Stack) -> None:
        client = stack.client("evaluation")
        questionnaire = await factories.create_questionnaire(client)
        cycle = await factories.create_cycle(client)
        await post_group(stack, cycle, kind="citizen", questionnaire_id=questionnaire["id"])
        second = await post_group(
            stack, cycle, kind="citizen", code="more", questionnaire_id=questionnaire["id"]
        )
        assert second.status_code == 409 and second.json()["code"] == "citizen-group-exists"
        await post_group(stack, cycle, kind="objective", code="same")
        taken = await post_group(stack, cycle, kind="objective", code="same")
        assert taken.status_code == 409 and taken.json()["code"] == "group-code-taken"
        other_cycle = await factories.create_cycle(client, code="other")
        elsewhere = await post_group(stack, other_cycle, kind="objective", code="same")
        assert elsewhere.status_code == 201


class TestChanges:
    async def test_a_draft_cycles_group_changes_and_the_audit_says_so(self, stack: Stack) -> None:
        client = stack.client("evaluation")
        cycle = await factories.create_cycle(client)
        group = await factories.create_group(client, cycle["id"], kind="expert", weight=40)
        response = await client.patch(
            f"/v1/groups/{group['id']}",
            json={"weight": 100, "dimensions": factories.scorecard_dimensions("quality")},
            headers=auth(),
        )
        assert response.status_code == 200, response.text
        assert response.json()["weight"] == 100
        assert [d["code"] for d in response.json()["dimensions"]] == ["quality"]
        listed = (await client.get(groups_path(cycle), headers=auth())).json()
        assert listed["weights_add_up"] is True
        trail = await client.get("/v1/audit", params={"resource_id": group["id"]}, headers=auth())
        entries = {e["action"]: e for e in trail.json()["items"]}
        assert entries["evaluator_group.updated"]["before"]["weight"] == 40
        assert entries["evaluator_group.updated"]["after"]["weight"] == 100

    async def test_a_change_that_breaks_the_kind_is_422(self, stack: Stack) -> None:
        client = stack.client("evaluation")
        cycle = await factories.create_cycle(client)
        group = await factories.create_group(client, cycle["id"], kind="expert")
        response = await client.patch(
            f"/v1/groups/{group['id']}", json={"dimensions": []}, headers=auth()
        )
        assert response.status_code == 422 and response.json()["code"] == "invalid-group"
        kind = await client.patch(
            f"/v1/groups/{group['id']}", json={"kind": "objective"}, headers=auth()
        )
        assert kind.status_code == 422

    async def test_deleting_a_group(self, stack: Stack) -> None:
        client = stack.client("evaluation")
        cycle = await factories.create_cycle(client)
        group = await factories.create_group(client, cycle["id"])
        assert (await client.delete(f"/v1/groups/{group['id']}", headers=auth())).status_code == 204
        assert (await client.get(f"/v1/groups/{group['id']}", headers=auth())).status_code == 404
        assert (await client.get(groups_path(cycle), headers=auth())).json()["items"] == []

    async def test_groups_are_fixed_once_the_cycle_opens(self, stack: Stack) -> None:
        opened = await factories.create_open_cycle(stack)
        client = stack.client("evaluation")
        cycle, expert = opened["cycle"], opened["groups"]["expert"]
        for response in (
            await post_group(stack, cycle, kind="objective", code="late"),
            await client.patch(f"/v1/groups/{expert['id']}", json={"weight": 1}, headers=auth()),
            await client.delete(f"/v1/groups/{expert['id']}", headers=auth()),
        ):
            assert response.status_code == 409 and response.json()["code"] == "cycle-not-draft"
        # The name of a group is part of the cycle's setup too.
        renamed = await client.patch(
            f"/v1/groups/{expert['id']}", json={"name": "专家"}, headers=auth()
        )
        assert renamed.status_code == 409


class TestIsolation:
    async def test_another_jurisdictions_admin_finds_nothing(self, stack: Stack) -> None:
        client = stack.client("evaluation")
        cycle = await factories.create_cycle(client)
        group = await factories.create_group(client, cycle["id"])
        harbin = auth(jurisdictions=(HARBIN,))
        for method, path, body in (
            ("GET", groups_path(cycle), None),
            (
                "POST",
                groups_path(cycle),
                {"kind": "objective", "code": "x", "name": "x", "weight": 1},
            ),
            ("GET", f"/v1/groups/{group['id']}", None),
            ("PATCH", f"/v1/groups/{group['id']}", {"weight": 1}),
            ("DELETE", f"/v1/groups/{group['id']}", None),
        ):
            response = await client.request(method, path, json=body, headers=harbin)
            assert response.status_code == 404, (method, path, response.text)

    async def test_only_admins_change_groups(self, stack: Stack) -> None:
        client = stack.client("evaluation")
        cycle = await factories.create_cycle(client)
        group = await factories.create_group(client, cycle["id"])
        evaluator = auth("evaluator")
        assert (await client.get(f"/v1/groups/{group['id']}", headers=evaluator)).status_code == 200
        response = await client.patch(
            f"/v1/groups/{group['id']}", json={"weight": 1}, headers=evaluator
        )
        assert response.status_code == 403

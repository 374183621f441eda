"""Indicator systems: the tree, its weights, the lifecycle, the weighting helpers."""

from __future__ import annotations

from typing import Any

import pytest

from tests.common.events.receivers import eventually
from tests.harness import HARBIN, Stack, auth
from tests.indicator.builders import create_system, published_system, tree


def find(nodes: list[dict[str, Any]], code: str) -> dict[str, Any]:
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if node["code"] == code:
            return node
        stack.extend(node["children"])
    raise KeyError(code)


class TestTree:
    async def test_a_draft_keeps_the_tree_as_sent(self, stack: Stack) -> None:
        response = await create_system(stack.client("indicator"))
        assert response.status_code == 201, response.text
        system = response.json()
        assert system["status"] == "draft" and system["version"] == 1
        assert [n["code"] for n in system["nodes"]] == ["ECO", "SOC"]
        sub = find(system["nodes"], "ECO.1.2")
        assert sub["level"] == 3 and sub["rule"]["method"] == "linear_interval"
        methods = {find(system["nodes"], c)["rule"]["method"] for c in ("SOC.B", "SOC.V")}
        assert methods == {"bonus", "veto"}

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            (lambda t: t[0]["children"][1].update(rule=None), "needs a scoring rule"),
            (lambda t: t[0].update(rule={"method": "ratio"}), "takes no scoring rule"),
            (lambda t: t[1]["children"][0].update(code="ECO.2"), "used more than once"),
            (
                lambda t: t[1]["children"][1]["rule"].update(numerator="#{NOPE}"),
                "refers to unknown 'NOPE'",
            ),
            (lambda t: t[1]["children"][2].update(weight=3), "weight must be 0 for a bonus"),
            (
                lambda t: t[0]["children"][0]["children"][0].update(
                    children=[{"code": "X", "name_zh": "四级", "weight": 20}]
                ),
                "at level 4",
            ),
        ],
        ids=[
            "leaf-without-rule",
            "branch-with-rule",
            "duplicate-code",
            "formula-reference",
            "bonus-weight",
            "too-deep",
        ],
    )
    async def test_an_unusable_tree_is_refused_naming_the_node(
        self, stack: Stack, change: Any, message: str
    ) -> None:
        nodes = tree()
        change(nodes)
        response = await create_system(stack.client("indicator"), nodes=nodes)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "invalid-tree"
        assert message in response.json()["detail"]
        listed = await stack.client("indicator").get("/v1/indicator-systems", headers=auth())
        assert listed.json()["items"] == []

    @pytest.mark.parametrize(
        ("rule", "field"),
        [
            ({"method": "ratio", "ceiling": 3}, "ceiling"),
            ({"method": "linear_interval", "best": 5, "worst": 5}, "worst"),
            ({"method": "threshold_bands", "bands": [{"points": 1}]}, "bands"),
            ({"method": "deduction", "per_unit": 0, "basis": "incident"}, "per_unit"),
            ({"method": "bonus", "per_unit": 1, "cap": -1}, "cap"),
            (
                {
                    "method": "veto",
                    "operator": "~",
                    "threshold": 1,
                    "grade_cap": "f",
                    "reason": "r",
                },
                "operator",
            ),
            ({"method": "formula", "numerator": "#{A} +"}, "numerator"),
            ({"method": "magic"}, "rule"),
        ],
    )
    async def test_bad_rule_parameters_are_422_naming_the_field(
        self, stack: Stack, rule: dict[str, Any], field: str
    ) -> None:
        nodes = tree()
        nodes[0]["children"][1]["rule"] = rule
        response = await create_system(stack.client("indicator"), nodes=nodes)
        assert response.status_code == 422
        assert field in str(response.json())


class TestWeights:
    async def test_weights_that_do_not_add_up_block_publishing_naming_the_node(
        self, stack: Stack
    ) -> None:
        nodes = tree()
        nodes[0]["children"][0]["children"][0]["weight"] = 18  # ECO.1 now sums to 28, not 30
        nodes[1]["weight"] = 35  # and the dimensions to 95
        client = stack.client("indicator")
        system = (await create_system(client, nodes=nodes)).json()
        check = await client.get(f"/v1/indicator-systems/{system['id']}/check", headers=auth())
        assert check.json()["ready_to_publish"] is False
        problems = {p["node"]: p["message"] for p in check.json()["problems"]}
        assert "sum to 95, not 100" in problems[None]
        assert "'ECO.1' (增长) sum to 28, not its weight 30" in problems["ECO.1"]

        refused = await client.post(f"/v1/indicator-systems/{system['id']}/publish", headers=auth())
        assert refused.status_code == 422
        assert refused.json()["code"] == "weights-do-not-add-up"
        assert (await client.get(f"/v1/indicator-systems/{system['id']}", headers=auth())).json()[
            "status"
        ] == "draft"

    async def test_ahp_weights_applied_to_siblings(self, stack: Stack) -> None:
        client = stack.client("indicator")
        ahp = await client.post(
            "/v1/weighting/ahp",
            headers=auth(),
            json={"matrix": [[1, 3], [1 / 3, 1]]},
        )
        assert ahp.status_code == 200
        shares = ahp.json()["weights"]
        system = (await create_system(client)).json()
        applied = await client.post(
            f"/v1/indicator-systems/{system['id']}/weights",
            headers=auth(),
            json={"parent": None, "weights": {"ECO": shares[0], "SOC": shares[1]}},
        )
        assert applied.status_code == 200, applied.text
        assert [n["weight"] for n in applied.json()["nodes"]] == [75, 25]


class TestWeightingHelpers:
    async def test_ahp_matches_saatys_textbook_example(self, stack: Stack) -> None:
        response = await stack.client("indicator").post(
            "/v1/weighting/ahp",
            headers=auth(),
            json={"matrix": [[1, 3, 5], [1 / 3, 1, 3], [1 / 5, 1 / 3, 1]]},
        )
        body = response.json()
        assert [round(w, 3) for w in body["weights"]] == [0.637, 0.258, 0.105]
        assert body["cr"] < 0.1 and body["consistent"] is True

    async def test_an_inconsistent_matrix_is_flagged(self, stack: Stack) -> None:
        response = await stack.client("indicator").post(
            "/v1/weighting/ahp",
            headers=auth(),
            json={"matrix": [[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]]},
        )
        assert response.json()["consistent"] is False and response.json()["cr"] >= 0.1

    async def test_a_non_reciprocal_matrix_is_422(self, stack: Stack) -> None:
        response = await stack.client("indicator").post(
            "/v1/weighting/ahp", headers=auth(), json={"matrix": [[1, 3], [0.5, 1]]}
        )
        assert response.status_code == 422 and response.json()["code"] == "invalid-matrix"

    async def test_entropy_weights_reverse_lower_is_better_columns(self, stack: Stack) -> None:
        response = await stack.client("indicator").post(
            "/v1/weighting/entropy",
            headers=auth(),
            json={"data": [[1, 10], [2, 10], [3, 10]], "lower_is_better": [True, False]},
        )
        assert response.json()["weights"] == [1.0, 0.0]


class TestLifecycle:
    async def test_published_is_immutable_and_a_revision_supersedes_it(self, stack: Stack) -> None:
        client = stack.client("indicator")
        v1 = await published_system(client)
        assert v1["status"] == "published"
        for method, path, body in (
            ("PUT", "/tree", {"nodes": tree()}),
            ("PATCH", "", {"name": "改名"}),
            ("DELETE", "", None),
        ):
            response = await client.request(
                method, f"/v1/indicator-systems/{v1['id']}{path}", headers=auth(), json=body
            )
            assert response.status_code == 409, (method, path)
            assert response.json()["code"] == "system-not-draft"

        v2 = await client.post(f"/v1/indicator-systems/{v1['id']}/revise", headers=auth())
        assert v2.status_code == 201 and v2.json()["version"] == 2
        assert [n["code"] for n in v2.json()["nodes"]] == ["ECO", "SOC"]
        again = await client.post(f"/v1/indicator-systems/{v1['id']}/revise", headers=auth())
        assert again.status_code == 409 and again.json()["code"] == "draft-exists"
        await client.post(f"/v1/indicator-systems/{v2.json()['id']}/publish", headers=auth())
        first = await client.get(f"/v1/indicator-systems/{v1['id']}", headers=auth())
        assert first.json()["status"] == "superseded"

    async def test_publishing_emits_the_full_snapshot(self, stack: Stack) -> None:
        from sqlalchemy import select

        from services.indicator.models import COMMON

        system = await published_system(stack.client("indicator"))

        async def published_events() -> list[str]:
            async with stack.apps["indicator"].state.db.session(read_only=True) as session:
                return list(
                    (
                        await session.scalars(
                            select(COMMON.outbox.body).where(
                                COMMON.outbox.type == "indicator_system.published"
                            )
                        )
                    ).all()
                )

        [body] = await eventually(published_events)
        assert system["id"] in body and "ECO.1.2" in body and "linear_interval" in body

    async def test_the_public_sees_published_systems_only(self, stack: Stack) -> None:
        client = stack.client("indicator")
        published = await published_system(client, category="economic")
        draft = (await create_system(client, category="districts")).json()
        public = await client.get("/v1/indicator-systems")
        assert [s["id"] for s in public.json()["items"]] == [published["id"]]
        assert (await client.get(f"/v1/indicator-systems/{draft['id']}")).status_code == 404
        other = await client.get(
            f"/v1/indicator-systems/{draft['id']}", headers=auth(jurisdictions=(HARBIN,))
        )
        assert other.status_code == 404

    async def test_drafts_are_for_the_offices_admins_only(self, stack: Stack) -> None:
        client = stack.client("indicator")
        draft = (await create_system(client)).json()
        for role in ("department", "portal", "citizen_app"):
            seen = await client.get(f"/v1/indicator-systems/{draft['id']}", headers=auth(role))
            assert seen.status_code == 404, role
            listed = await client.get("/v1/indicator-systems", headers=auth(role))
            assert listed.json()["items"] == [], role


class TestApplyingWeights:
    async def test_shares_cannot_give_a_bonus_points_in_the_base_100(self, stack: Stack) -> None:
        client = stack.client("indicator")
        system = (await create_system(client)).json()
        response = await client.post(
            f"/v1/indicator-systems/{system['id']}/weights",
            headers=auth(),
            json={
                "parent": "SOC",
                "weights": {"SOC.1": 0.4, "SOC.2": 0.3, "SOC.B": 0.3, "SOC.V": 0.0},
            },
        )
        assert response.status_code == 422
        assert "weight must be 0 for a bonus rule" in response.json()["detail"]

"""One evaluation cycle through the real apps, from a published indicator system to final
results delivered, signed, to a third-party portal."""

from __future__ import annotations

import json
import uuid
from typing import Any

from standardwebhooks import Webhook

from tests import factories
from tests.common.events.receivers import Portal, eventually
from tests.evaluation.ratings.conftest import app_headers, publish_questionnaire
from tests.harness import HEIHE, Stack, auth

PORTAL = "https://portal.test"
CATEGORY = "social_services"


async def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()


class TestACycleFromPlanToPublishedResults:
    async def test_published_system_to_finalized_results_at_a_subscriber(
        self, stack: Stack
    ) -> None:
        indicator = stack.client("indicator")
        evaluation = stack.client("evaluation")

        # The office's plan: three departments of one category and their indicator system.
        departments = [
            await factories.create_department(indicator, code=code, category=CATEGORY)
            for code in ("EDU", "HEA", "CIV")
        ]
        ids = [d["id"] for d in departments]
        system = await factories.create_indicator_system(
            indicator,
            category=CATEGORY,
            nodes=[
                factories.indicator_leaf("S1", 60, frequency="annual", target=100),
                factories.indicator_leaf("S2", 40, frequency="annual", target=50),
            ],
            publish=True,
        )

        # indicator_system.published reaches evaluation as a webhook.
        async def snapshot_received() -> Any:
            listed = await evaluation.get("/v1/indicator-systems", headers=auth())
            return [s for s in listed.json()["items"] if s["id"] == system["id"]]

        await eventually(snapshot_received)

        # A cycle with three evaluator groups, opened.
        questionnaire = await publish_questionnaire(evaluation)
        cycle = await _ok(
            await evaluation.post(
                "/v1/cycles",
                json={
                    "jurisdiction_code": HEIHE,
                    "code": "2026-social",
                    "name": "2026 年度社会服务类综合考评",
                    "period": "2026",
                    "category": CATEGORY,
                    "system_id": system["id"],
                    "appeal_days": 0,
                },
                headers=auth(),
            ),
            201,
        )
        cycle_url = f"/v1/cycles/{cycle['id']}"
        groups = {}
        for group in (
            {"kind": "objective", "code": "objective", "name": "目标考核", "weight": 50},
            {
                "kind": "expert",
                "code": "experts",
                "name": "专家评价",
                "weight": 20,
                "dimensions": [{"code": "quality", "name_zh": "工作质量", "max_score": 100}],
            },
            {
                "kind": "citizen",
                "code": "citizens",
                "name": "社会评价",
                "weight": 30,
                "questionnaire_id": questionnaire["id"],
            },
        ):
            created = await _ok(
                await evaluation.post(f"{cycle_url}/groups", json=group, headers=auth()), 201
            )
            groups[group["code"]] = created
        opened = await _ok(await evaluation.post(f"{cycle_url}/open", headers=auth()))
        assert opened["status"] == "open"

        # Departments report, the office verifies.
        values = {"EDU": (100, 50), "HEA": (80, 40), "CIV": (50, 10)}
        for code, (s1, s2) in values.items():
            for leaf, value in (("S1", s1), ("S2", s2)):
                measurement = await factories.create_measurement(
                    indicator, indicator=leaf, department=code, period="2026", value=value
                )
                await _ok(
                    await indicator.post(
                        f"/v1/measurements/{measurement['id']}/verify", headers=auth()
                    )
                )

        # An expert scores each department; citizens rate them through an app.
        expert = auth("evaluator", subject="expert-zhang")
        for department_id, score in zip(ids, (90, 70, 60), strict=True):
            assignment = await _ok(
                await evaluation.post(
                    f"{cycle_url}/assignments",
                    json={
                        "group_id": groups["experts"]["id"],
                        "evaluator_subject": "expert-zhang",
                        "evaluator_name": "张明",
                        "department_id": department_id,
                    },
                    headers=auth(),
                ),
                201,
            )
            await _ok(
                await evaluation.put(
                    f"/v1/assignments/{assignment['id']}/scorecard",
                    json={"scores": {"quality": score}, "comment": "材料齐全"},
                    headers=expert,
                )
            )
        ratings = [
            {
                "response_id": str(uuid.uuid4()),
                "cycle_id": cycle["id"],
                "department_id": department_id,
                "questionnaire_id": questionnaire["id"],
                "respondent": {"kind": "device", "token": f"device-token-{n:03d}"},
                "answers": {"Q1": answer, "Q2": answer, "Q3": answer, "Q4": answer, "Q5": None},
                "duration_seconds": 80.0 + n,
            }
            for n in range(12)
            for department_id, answer in ((ids[0], 5), (ids[1], 4), (ids[2], 2))
        ]
        batch = await _ok(
            await evaluation.post(
                "/v1/ratings/batch", json={"ratings": ratings}, headers=app_headers()
            )
        )
        assert batch["accepted"] == 36

        # A portal subscribes to final results.
        portal = Portal()
        stack.router.mount(PORTAL, portal)
        subscription = await factories.create_subscription(
            evaluation, url=f"{PORTAL}/hooks", event_types=("results.finalized",)
        )

        # Closed, scored, finalized.
        await _ok(await evaluation.post(f"{cycle_url}/close", headers=auth()))
        scored = await _ok(await evaluation.post(f"{cycle_url}/score", headers=auth()))
        assert scored["status"] == "preliminary"
        results = await _ok(await evaluation.get(f"{cycle_url}/results", headers=auth()))
        by_department = {r["department_id"]: r for r in results["results"]}
        assert [r["department_id"] for r in results["results"]] == ids  # EDU, HEA, CIV
        assert [r["rank"] for r in results["results"]] == [1, 2, 3]
        edu = by_department[ids[0]]
        # Objective 100 of 100 × 50 % + experts 90 × 20 % + citizens 100 × 30 % = 98.
        assert edu["total"] == 98.0 and edu["grade"] == "excellent"
        breakdown = await _ok(
            await evaluation.get(f"{cycle_url}/results/{ids[2]}/breakdown", headers=auth())
        )
        tree = breakdown["breakdown"]
        assert tree["points"] == breakdown["total"] == by_department[ids[2]]["total"]
        assert round(sum(child["points"] for child in tree["children"]), 4) == tree["points"]

        # The department sees its own result, not the others'.
        officer = auth("department", department_id=ids[1])
        own = await _ok(await evaluation.get(f"{cycle_url}/results", headers=officer))
        assert [r["department_id"] for r in own["results"]] == [ids[1]]

        finalized = await _ok(await evaluation.post(f"{cycle_url}/finalize", headers=auth()))
        assert finalized["status"] == "finalized"

        async def delivered() -> list[dict[str, Any]]:
            return [r for r in portal.accepted() if r["event"]["type"] == "results.finalized"]

        [received] = await eventually(delivered)
        verified = Webhook(subscription["secret"]).verify(received["body"], received["headers"])
        assert verified["data"]["cycle_id"] == cycle["id"]
        announced = {r["department_id"]: r for r in json.loads(received["body"])["data"]["results"]}
        assert announced[ids[0]]["total"] == 98.0 and announced[ids[0]]["rank"] == 1
        assert announced[ids[2]]["weakest_indicators"]

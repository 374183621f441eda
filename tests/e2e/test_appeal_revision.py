"""An appeal through the real apps: a department appeals its preliminary score, the office
upholds it, evaluation re-scores, feedback's report follows the revision, disclosure
publishes it as a new version, and a citizen's comment on that publication reaches the
department."""

from __future__ import annotations

import uuid
from typing import Any

from services.feedback.models import PublishedItem
from tests.common.events.receivers import eventually
from tests.evaluation.results.test_results import scored_cycle
from tests.harness import HEIHE, Stack, auth


async def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


class TestAnUpheldAppealRevisesTheResults:
    async def test_appeal_upheld_re_scores_and_updates_the_report(self, stack: Stack) -> None:
        # Departments A and B scored to preliminary with a week to appeal: B has 56 (its S1
        # reached 60 of a target of 100 in an objective group weighted 60 %).
        scored = await scored_cycle(stack, appeal_days=7)
        a, b = scored.departments
        evaluation, feedback = stack.client("evaluation"), stack.client("feedback")
        officer_b = auth("department", department_id=b, subject="officer:b")
        appeal_body = {
            "cycle_id": scored.cycle["id"],
            "target_kind": "indicator",
            "target": "S1",
            "reason": "第四季度数据漏报，已由统计局核实",
            "evidence": [{"url": "https://hh.gov.cn/stats/q4", "description": "核实函"}],
        }

        # results.preliminary reaches feedback, which then knows B's score and window.
        async def filed() -> Any:
            response = await feedback.post("/v1/appeals", json=appeal_body, headers=officer_b)
            return response.json() if response.status_code == 201 else None

        appeal = await eventually(filed, within=30)
        assert appeal["status"] == "filed" and appeal["result_version"] == 1

        # The office upholds it with +5 points on S1.
        decided = await _ok(
            await feedback.post(
                f"/v1/appeals/{appeal['id']}/decision",
                json={"decision": "upheld", "adjustment_points": 5, "decision_text": "漏报属实"},
                headers=auth(),
            )
        )
        assert decided["status"] == "upheld"

        # appeal.decided reaches evaluation: a revised version, B's S1 +5 of 100 in a group
        # weighted 60 % is +3 on the total.
        async def revised() -> Any:
            body = (await evaluation.get(f"{scored.url}/results", headers=auth())).json()
            return body if body.get("version") == 2 else None

        results = await eventually(revised, within=30)
        totals = {r["department_id"]: r["total"] for r in results["results"]}
        assert totals == {a: 100.0, b: 59.0}

        # results.revised reaches feedback: B's report carries the revised result.
        async def report() -> Any:
            body = (
                await feedback.get(
                    "/v1/feedback-reports",
                    params={"cycle_id": scored.cycle["id"], "department_id": b},
                    headers=auth(),
                )
            ).json()
            items = [r for r in body["items"] if r["result_version"] == 2]
            return items[0] if items else None

        b_report = await eventually(report, within=30)
        assert b_report["total"] == 59.0 and b_report["department_id"] == b
        # The decided appeal is public.
        public = await _ok(await feedback.get(f"/v1/appeals/{appeal['id']}"))
        assert public["status"] == "upheld" and public["adjustment_points"] == 5

        # results.revised reaches disclosure: B's department result is published again as
        # version 2, superseding version 1, and anyone can read both in its history.
        disclosure = stack.client("disclosure")

        async def republished() -> Any:
            body = (
                await disclosure.get(
                    "/v1/publications",
                    params={"kind": "department_result", "department_id": b},
                )
            ).json()
            items = [p for p in body["items"] if p["version"] == 2]
            return items[0] if items else None

        b_result = await eventually(republished)
        assert b_result["status"] == "published"
        assert b_result["cycle_id"] == scored.cycle["id"]
        history = await _ok(await disclosure.get(f"/v1/publications/{b_result['id']}/versions"))
        versions = {v["version"]: v for v in history["items"]}
        assert sorted(versions) == [1, 2]
        assert versions[2]["supersedes"] == 1
        assert versions[1]["data"]["total"] == 56.0 and versions[2]["data"]["total"] == 59.0
        # The revision is in the public ledger, and the chain still verifies.
        verify = await _ok(await disclosure.get("/v1/ledger/verify"))
        assert verify["valid"] is True and verify["entries"] >= 2

        # appeal.decided reaches disclosure too: the decision, as a notice for the office
        # to approve (decided appeals are made public through disclosure).
        async def notice() -> Any:
            body = (
                await disclosure.get("/v1/publications", params={"kind": "notice"}, headers=auth())
            ).json()
            found = [p for p in body["items"] if p["data"].get("appeal_id") == appeal["id"]]
            return found[0] if found else None

        decision_notice = await eventually(notice)
        assert decision_notice["data"]["decision"] == "upheld"
        assert "漏报属实" in decision_notice["body"]

        publication, cycle_id = b_result, scored.cycle["id"]

        # publication.published reaches feedback: a citizen's comment on the published
        # revision, naming nothing else, goes to B in that cycle.
        async def known_to_feedback() -> Any:
            async with stack.apps["feedback"].state.db.session(read_only=True) as session:
                item = await session.get(PublishedItem, uuid.UUID(publication["id"]))
            return item if item and item.publication_version == publication["version"] else None

        item = await eventually(known_to_feedback, within=30)
        assert str(item.department_id) == b and str(item.cycle_id) == cycle_id
        comment = await _ok(
            await feedback.post(
                "/v1/citizen-feedback",
                json={
                    "jurisdiction_code": HEIHE,
                    "kind": "comment",
                    "text": "申诉改分后的结果应说明理由",
                    "publication_id": publication["id"],
                },
            ),
            201,
        )
        assert (comment["department_id"], comment["cycle_id"]) == (b, cycle_id)

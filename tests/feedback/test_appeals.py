"""Appeals: filed by the department within its preliminary result's window, decided by the
office in writing, announced for evaluation to re-score, public once decided."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from tests.feedback.results import deliver, department_result, results_data
from tests.harness import Stack, auth

A = str(uuid.UUID(int=0xA))
B = str(uuid.UUID(int=0xB))
APPEALS = "/v1/appeals"


def officer(department: str = A) -> dict[str, str]:
    return auth("department", department_id=department)


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def preliminary(stack: Stack, *, window: timedelta = timedelta(days=7)) -> str:
    cycle = str(uuid.uuid4())
    await deliver(
        stack,
        "results.preliminary",
        results_data(
            cycle,
            [department_result(A, "HH-A", total=70.0), department_result(B, "HH-B", total=60.0)],
            status="preliminary",
            appeal_window_ends_at=datetime.now(UTC) + window,
        ),
    )
    return cycle


def appeal_body(cycle: str, **overrides: Any) -> dict[str, Any]:
    return {
        "cycle_id": cycle,
        "target_kind": "indicator",
        "target": "S1",
        "reason": "第三季度数据漏报，联系人电话 13912345678",
        "evidence": [{"url": "https://hh.gov.cn/data/q3", "description": "补报的统计表"}],
        **overrides,
    }


async def outbox(stack: Stack, event_type: str) -> list[dict[str, Any]]:
    app = stack.apps["feedback"]
    outbox = app.state.tables.outbox
    async with app.state.db.session() as session:
        rows = (await session.scalars(select(outbox).where(outbox.type == event_type))).all()
    return [json.loads(r.body)["data"] for r in rows]


class TestTheAppealWindow:
    async def test_a_department_appeals_within_the_window(self, stack: Stack) -> None:
        cycle = await preliminary(stack)
        appeal = await _ok(
            await stack.client("feedback").post(
                APPEALS, json=appeal_body(cycle), headers=officer()
            ),
            201,
        )
        assert appeal["status"] == "filed" and appeal["department_code"] == "HH-A"
        assert "13912345678" not in appeal["reason"]
        [filed] = await outbox(stack, "appeal.filed")
        assert filed["appeal_id"] == appeal["id"] and filed["target"] == "S1"
        assert "13912345678" not in filed["reason"]

    async def test_after_the_window_the_appeal_is_refused(self, stack: Stack) -> None:
        cycle = await preliminary(stack, window=timedelta(seconds=-1))
        response = await stack.client("feedback").post(
            APPEALS, json=appeal_body(cycle), headers=officer()
        )
        assert response.status_code == 409
        assert response.json()["code"] == "appeal-window-closed"

    async def test_before_any_preliminary_result_the_appeal_is_refused(self, stack: Stack) -> None:
        response = await stack.client("feedback").post(
            APPEALS, json=appeal_body(str(uuid.uuid4())), headers=officer()
        )
        assert response.status_code == 409
        assert response.json()["code"] == "no-preliminary-result"

    async def test_a_finalized_result_is_no_longer_appealed(self, stack: Stack) -> None:
        cycle = await preliminary(stack)
        await deliver(
            stack,
            "results.finalized",
            results_data(cycle, [department_result(A, "HH-A", total=70.0)]),
        )
        response = await stack.client("feedback").post(
            APPEALS, json=appeal_body(cycle), headers=officer()
        )
        assert response.status_code == 409

    async def test_only_a_department_files_and_one_appeal_per_score_waits(
        self, stack: Stack
    ) -> None:
        client = stack.client("feedback")
        cycle = await preliminary(stack)
        assert (
            await client.post(APPEALS, json=appeal_body(cycle), headers=auth())
        ).status_code == 403
        await _ok(await client.post(APPEALS, json=appeal_body(cycle), headers=officer()), 201)
        again = await client.post(APPEALS, json=appeal_body(cycle), headers=officer())
        assert again.status_code == 409 and again.json()["code"] == "appeal-pending"


class TestDecisions:
    async def filed(self, stack: Stack) -> dict[str, Any]:
        cycle = await preliminary(stack)
        return await _ok(
            await stack.client("feedback").post(
                APPEALS, json=appeal_body(cycle), headers=officer()
            ),
            201,
        )

    async def test_upheld_with_an_adjustment_is_announced_for_re_scoring(
        self, stack: Stack
    ) -> None:
        appeal = await self.filed(stack)
        decided = await _ok(
            await stack.client("feedback").post(
                f"{APPEALS}/{appeal['id']}/decision",
                json={"decision": "upheld", "adjustment_points": 4, "decision_text": "补报属实"},
                headers=auth(),
            )
        )
        assert decided["status"] == "upheld" and decided["adjustment_points"] == 4
        [event] = await outbox(stack, "appeal.decided")
        assert event["decision"] == "upheld"
        assert event["adjustment"] == {"target_kind": "indicator", "target": "S1", "points": 4}
        assert event["department_id"] == A and event["decision_text"] == "补报属实"

    async def test_dismissed_adjusts_nothing(self, stack: Stack) -> None:
        appeal = await self.filed(stack)
        client = stack.client("feedback")
        url = f"{APPEALS}/{appeal['id']}/decision"
        wrong = await client.post(
            url,
            json={"decision": "dismissed", "adjustment_points": 2, "decision_text": "x"},
            headers=auth(),
        )
        assert wrong.status_code == 422
        await _ok(
            await client.post(
                url, json={"decision": "dismissed", "decision_text": "证据不足"}, headers=auth()
            )
        )
        [event] = await outbox(stack, "appeal.decided")
        assert event["decision"] == "dismissed" and event["adjustment"] is None

    async def test_partly_upheld_needs_points_and_a_decision_is_final(self, stack: Stack) -> None:
        appeal = await self.filed(stack)
        client = stack.client("feedback")
        url = f"{APPEALS}/{appeal['id']}/decision"
        no_points = await client.post(
            url, json={"decision": "partly_upheld", "decision_text": "部分属实"}, headers=auth()
        )
        assert no_points.status_code == 422
        await _ok(
            await client.post(
                url,
                json={
                    "decision": "partly_upheld",
                    "adjustment_points": 1.5,
                    "decision_text": "部分属实",
                },
                headers=auth(),
            )
        )
        again = await client.post(
            url, json={"decision": "dismissed", "decision_text": "改判"}, headers=auth()
        )
        assert again.status_code == 409 and again.json()["code"] == "appeal-decided"

    async def test_the_department_cannot_decide(self, stack: Stack) -> None:
        appeal = await self.filed(stack)
        response = await stack.client("feedback").post(
            f"{APPEALS}/{appeal['id']}/decision",
            json={"decision": "upheld", "adjustment_points": 4, "decision_text": "自己批"},
            headers=officer(),
        )
        assert response.status_code == 403


class TestDecidedAppealsArePublic:
    async def test_the_public_sees_decided_appeals_only(self, stack: Stack) -> None:
        client = stack.client("feedback")
        cycle = await preliminary(stack)
        decided = await _ok(
            await client.post(APPEALS, json=appeal_body(cycle), headers=officer()), 201
        )
        pending = await _ok(
            await client.post(APPEALS, json=appeal_body(cycle, target="S2"), headers=officer()),
            201,
        )
        await _ok(
            await client.post(
                f"{APPEALS}/{decided['id']}/decision",
                json={"decision": "dismissed", "decision_text": "证据不足"},
                headers=auth(),
            )
        )
        public = await _ok(await client.get(APPEALS))
        assert [a["id"] for a in public["items"]] == [decided["id"]]
        assert (await client.get(f"{APPEALS}/{decided['id']}")).status_code == 200
        assert (await client.get(f"{APPEALS}/{pending['id']}")).status_code == 404
        own = await _ok(await client.get(APPEALS, headers=officer()))
        assert {a["id"] for a in own["items"]} == {decided["id"], pending["id"]}
        other = await _ok(await client.get(APPEALS, headers=officer(B)))
        assert [a["id"] for a in other["items"]] == [decided["id"]]
        office = await _ok(await client.get(APPEALS, params={"status": "filed"}, headers=auth()))
        assert [a["id"] for a in office["items"]] == [pending["id"]]

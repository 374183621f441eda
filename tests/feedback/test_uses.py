"""Results uses: the office records how each department's result was used, and how much
of a cycle's results were used at all."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from services.feedback.models import AuditLog
from tests.feedback.results import deliver, department_result, results_data
from tests.harness import HARBIN, HEIHE, Stack, auth

CYCLE = str(uuid.uuid4())
EDU, HEALTH, TRANSPORT = (str(uuid.uuid4()) for _ in range(3))


async def finalized(stack: Stack, version: int = 1) -> None:
    await deliver(
        stack,
        "results.finalized",
        results_data(
            CYCLE,
            [
                department_result(EDU, "HH-EDU", total=92, rank=1, grade="excellent"),
                department_result(HEALTH, "HH-HEALTH", total=85, rank=2),
                department_result(TRANSPORT, "HH-TRANS", total=60, rank=3, grade="poor"),
            ],
            version=version,
        ),
    )


def use_body(department_id: str = EDU, **fields: Any) -> dict[str, Any]:
    return {
        "jurisdiction_code": HEIHE,
        "cycle_id": CYCLE,
        "department_id": department_id,
        "kind": "commendation",
        "decided_on": "2026-12-20",
        "description": "年度考评优秀，通报表扬",
        "reference": "黑政办〔2026〕12号",
        **fields,
    }


async def record(stack: Stack, **fields: Any) -> Any:
    return await stack.client("feedback").post(
        "/v1/results-uses", json=use_body(**fields), headers=auth()
    )


class TestRecording:
    async def test_a_use_is_linked_to_the_result_and_audited(self, stack: Stack) -> None:
        await finalized(stack)
        response = await record(stack)
        assert response.status_code == 201, response.text
        use = response.json()
        assert (use["department_code"], use["result_version"], use["kind"]) == (
            "HH-EDU",
            1,
            "commendation",
        )
        async with stack.apps["feedback"].state.db.session(read_only=True) as session:
            actions = (
                await session.scalars(
                    select(AuditLog.action).where(AuditLog.resource_id == use["id"])
                )
            ).all()
        assert actions == ["results_use.recorded"]

    async def test_a_result_feedback_never_received_is_refused(self, stack: Stack) -> None:
        await finalized(stack)
        response = await record(stack, department_id=str(uuid.uuid4()))
        assert (response.status_code, response.json()["code"]) == (422, "unknown-result")
        later = await record(stack, result_version=2)
        assert (later.status_code, later.json()["code"]) == (422, "unknown-result-version")

    async def test_only_the_office_records_and_only_in_its_city(self, stack: Stack) -> None:
        await finalized(stack)
        client = stack.client("feedback")
        officer = auth("department", department_id=EDU)
        refused = await client.post("/v1/results-uses", json=use_body(), headers=officer)
        assert refused.status_code == 403
        harbin = auth(jurisdictions=(HARBIN,))
        elsewhere = await client.post("/v1/results-uses", json=use_body(), headers=harbin)
        assert elsewhere.status_code == 403

    async def test_a_use_is_corrected(self, stack: Stack) -> None:
        await finalized(stack)
        use = (await record(stack)).json()
        response = await stack.client("feedback").patch(
            f"/v1/results-uses/{use['id']}",
            json={"kind": "budget_adjustment", "description": "预算增加 5%"},
            headers=auth(),
        )
        assert response.status_code == 200
        assert (response.json()["kind"], response.json()["description"]) == (
            "budget_adjustment",
            "预算增加 5%",
        )
        emptied = await stack.client("feedback").patch(
            f"/v1/results-uses/{use['id']}", json={"kind": None}, headers=auth()
        )
        assert emptied.status_code == 422


class TestListing:
    async def test_filters_and_a_department_sees_its_own(self, stack: Stack) -> None:
        await finalized(stack)
        client = stack.client("feedback")
        edu = (await record(stack)).json()
        trans = (
            await record(stack, department_id=TRANSPORT, kind="accountability_interview")
        ).json()
        listed = await client.get(
            "/v1/results-uses", params={"kind": "accountability_interview"}, headers=auth()
        )
        assert [u["id"] for u in listed.json()["items"]] == [trans["id"]]
        by_cycle = await client.get("/v1/results-uses", params={"cycle_id": CYCLE}, headers=auth())
        assert {u["id"] for u in by_cycle.json()["items"]} == {edu["id"], trans["id"]}
        officer = auth("department", department_id=EDU)
        own = await client.get("/v1/results-uses", headers=officer)
        assert [u["id"] for u in own.json()["items"]] == [edu["id"]]
        other = await client.get(f"/v1/results-uses/{trans['id']}", headers=officer)
        assert other.status_code == 404
        named = await client.get(
            "/v1/results-uses", params={"department_id": TRANSPORT}, headers=officer
        )
        assert named.status_code == 403


class TestSummary:
    async def test_the_share_of_departments_with_a_use(self, stack: Stack) -> None:
        await finalized(stack)
        await record(stack)
        await record(stack, kind="budget_adjustment")
        await record(stack, department_id=TRANSPORT, kind="accountability_interview")
        response = await stack.client("feedback").get(
            "/v1/results-uses/summary", params={"cycle_id": CYCLE}, headers=auth()
        )
        assert response.status_code == 200
        summary = response.json()
        assert (summary["departments"], summary["departments_with_use"]) == (3, 2)
        assert summary["share_with_use"] == 0.6667
        assert summary["by_kind"] == {
            "commendation": 1,
            "budget_adjustment": 1,
            "accountability_interview": 1,
            "training": 0,
            "personnel_decision": 0,
        }
        assert summary["without_use"] == ["HH-HEALTH"]

    async def test_an_unknown_cycle_is_404(self, stack: Stack) -> None:
        response = await stack.client("feedback").get(
            "/v1/results-uses/summary", params={"cycle_id": str(uuid.uuid4())}, headers=auth()
        )
        assert response.status_code == 404

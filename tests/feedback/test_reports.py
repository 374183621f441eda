"""Feedback reports and automatic rectification tasks from evaluation's results events:
written once per department, updated by a revision, untouched by duplicates and late
deliveries."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.feedback.results import deliver, department_result, results_data
from tests.harness import HEIHE, Stack, auth

A = str(uuid.UUID(int=0xA))
B = str(uuid.UUID(int=0xB))
REPORTS = "/v1/feedback-reports"
TASKS = "/v1/rectification-tasks"


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def two_departments(*, b_total: float = 55.0, b_vetoed: bool = False) -> list[dict[str, Any]]:
    return [
        department_result(
            A, "HH-A", total=92.0, rank=1, grade="excellent", indicators=(("S1", 0.9),)
        ),
        department_result(
            B,
            "HH-B",
            total=b_total,
            rank=2,
            grade="poor",
            vetoed=b_vetoed,
            # S2 and S3 are below the 60 % threshold, S4 is not; Q2 is below 70, Q1 is not.
            indicators=(("S2", 0.3), ("S3", 0.55), ("S4", 0.8)),
            dimensions=(("Q2", 52.5), ("Q1", 75.0)),
        ),
    ]


async def reports(stack: Stack, **params: Any) -> dict[str, dict[str, Any]]:
    body = await _ok(await stack.client("feedback").get(REPORTS, params=params, headers=auth()))
    return {r["department_code"]: r for r in body["items"]}


async def tasks_of(stack: Stack, department: str) -> list[tuple[str, str]]:
    body = await _ok(
        await stack.client("feedback").get(
            TASKS, params={"department_id": department, "limit": 200}, headers=auth()
        )
    )
    return sorted((t["origin"], t["origin_ref"]) for t in body["items"])


class TestReportsFromResults:
    async def test_a_final_result_writes_one_report_per_department_with_its_tasks(
        self, stack: Stack
    ) -> None:
        cycle = str(uuid.uuid4())
        await deliver(
            stack, "results.finalized", results_data(cycle, two_departments(b_vetoed=True))
        )
        by_code = await reports(stack)
        assert set(by_code) == {"HH-A", "HH-B"}
        b = by_code["HH-B"]
        assert (b["total"], b["rank"], b["grade"], b["vetoed"]) == (55.0, 2, "poor", True)
        assert [i["code"] for i in b["weakest_indicators"]] == ["S2", "S3", "S4"]
        assert await tasks_of(stack, B) == [
            ("dimension", "citizens/Q2"),
            ("indicator", "S2"),
            ("indicator", "S3"),
            ("veto", "veto"),
        ]
        assert await tasks_of(stack, A) == []
        detail = await _ok(
            await stack.client("feedback").get(f"{REPORTS}/{b['id']}", headers=auth())
        )
        assert len(detail["tasks"]) == 4
        assert {t["report_id"] for t in detail["tasks"]} == {b["id"]}

    async def test_a_preliminary_result_writes_no_report(self, stack: Stack) -> None:
        cycle = str(uuid.uuid4())
        await deliver(
            stack,
            "results.preliminary",
            results_data(cycle, two_departments(), status="preliminary"),
        )
        assert await reports(stack) == {}
        assert await tasks_of(stack, B) == []

    async def test_the_report_quotes_citizen_feedback_scrubbed(self, stack: Stack) -> None:
        client = stack.client("feedback")
        for kind, text in (
            ("complaint", "窗口排队太久，请回电 13912345678"),
            ("praise", "服务热情"),
        ):
            response = await client.post(
                "/v1/citizen-feedback",
                json={
                    "jurisdiction_code": HEIHE,
                    "kind": kind,
                    "text": text,
                    "department_id": B,
                    "department_code": "HH-B",
                },
            )
            assert response.status_code == 201, response.text
        await deliver(
            stack, "results.finalized", results_data(str(uuid.uuid4()), two_departments())
        )
        themes = (await reports(stack))["HH-B"]["themes"]
        assert themes["feedback_count"] == 2
        assert themes["by_kind"] == {"complaint": 1, "praise": 1}
        assert [d["code"] for d in themes["dimensions"]] == ["Q2", "Q1"]
        [sample] = themes["samples"]
        assert "13912345678" not in sample["text"] and "[phone]" in sample["text"]


class TestRepeatsAndRevisions:
    async def test_the_same_delivery_twice_changes_nothing(self, stack: Stack) -> None:
        cycle = str(uuid.uuid4())
        data = results_data(cycle, two_departments())
        await deliver(stack, "results.finalized", data, "msg_final")
        await deliver(stack, "results.finalized", data, "msg_final")
        # The same event sent again under another webhook id (a replay): still one of each.
        await deliver(stack, "results.finalized", data, "msg_final_replayed")
        assert len(await reports(stack)) == 2
        assert len(await tasks_of(stack, B)) == 3

    async def test_a_revision_updates_the_report_and_adds_tasks_without_doubling(
        self, stack: Stack
    ) -> None:
        cycle = str(uuid.uuid4())
        await deliver(stack, "results.finalized", results_data(cycle, two_departments()))
        before = (await reports(stack))["HH-B"]
        revised = two_departments(b_total=58.0, b_vetoed=True)
        await deliver(
            stack, "results.revised", results_data(cycle, revised, version=2, status="revised")
        )
        after = (await reports(stack))["HH-B"]
        assert after["id"] == before["id"]
        assert (after["total"], after["result_version"], after["vetoed"]) == (58.0, 2, True)
        assert await tasks_of(stack, B) == [
            ("dimension", "citizens/Q2"),
            ("indicator", "S2"),
            ("indicator", "S3"),
            ("veto", "veto"),
        ]

    async def test_a_late_older_version_changes_nothing(self, stack: Stack) -> None:
        cycle = str(uuid.uuid4())
        revised = two_departments(b_total=58.0)
        await deliver(
            stack, "results.revised", results_data(cycle, revised, version=2, status="revised")
        )
        # The finalized version 1 arrives after its revision.
        await deliver(
            stack,
            "results.finalized",
            results_data(cycle, two_departments(b_total=55.0, b_vetoed=True)),
        )
        b = (await reports(stack))["HH-B"]
        assert (b["total"], b["result_version"], b["vetoed"]) == (58.0, 2, False)
        assert ("veto", "veto") not in await tasks_of(stack, B)

    async def test_a_revision_before_any_report_writes_it(self, stack: Stack) -> None:
        cycle = str(uuid.uuid4())
        await deliver(
            stack,
            "results.preliminary",
            results_data(cycle, two_departments(), status="preliminary"),
        )
        await deliver(
            stack,
            "results.revised",
            results_data(cycle, two_departments(b_total=60.0), version=2, status="preliminary"),
        )
        b = (await reports(stack))["HH-B"]
        assert (b["total"], b["result_version"]) == (60.0, 2)
        # Then the cycle is finalized on that same version: the report stays one.
        await deliver(
            stack,
            "results.finalized",
            results_data(cycle, two_departments(b_total=60.0), version=2),
        )
        assert len(await reports(stack, cycle_id=cycle)) == 2
        assert len(await tasks_of(stack, B)) == 3


class TestWhoSeesReports:
    async def test_the_department_sees_its_own_report_only(self, stack: Stack) -> None:
        await deliver(
            stack, "results.finalized", results_data(str(uuid.uuid4()), two_departments())
        )
        client = stack.client("feedback")
        officer_b = auth("department", department_id=B)
        own = await _ok(await client.get(REPORTS, headers=officer_b))
        assert [r["department_code"] for r in own["items"]] == ["HH-B"]
        a = (await reports(stack))["HH-A"]
        assert (await client.get(f"{REPORTS}/{a['id']}", headers=officer_b)).status_code == 404
        assert (await client.get(f"{REPORTS}/{a['id']}")).status_code == 401
        harbin = auth(jurisdictions=("230100",))
        assert (await client.get(f"{REPORTS}/{a['id']}", headers=harbin)).status_code == 404


class TestThemesOfTheCycle:
    async def test_feedback_on_another_cycles_publication_stays_out_of_the_report(
        self, stack: Stack
    ) -> None:
        this_cycle, other_cycle = str(uuid.uuid4()), str(uuid.uuid4())
        publication_id = str(uuid.uuid4())
        await deliver(
            stack,
            "publication.published",
            {
                "publication_id": publication_id,
                "jurisdiction_code": HEIHE,
                "kind": "department_result",
                "title": "HH-B 上一年度结果",
                "publication_version": 1,
                "supersedes": None,
                "status": "published",
                "cycle_id": other_cycle,
                "department_id": B,
                "department": "HH-B",
                "period": "2025",
                "category": "social_services",
                "subject_key": f"department_result:{other_cycle}:{B}",
                "published_at": "2026-01-10T08:00:00Z",
                "retracted_at": None,
            },
        )
        client = stack.client("feedback")
        for text, about in (("去年的结果看不懂", publication_id), ("窗口服务有改进", None)):
            body = {"jurisdiction_code": HEIHE, "kind": "comment", "text": text}
            if about:
                body["publication_id"] = about
            else:
                body.update(department_id=B, department_code="HH-B")
            assert (await client.post("/v1/citizen-feedback", json=body)).status_code == 201
        await deliver(stack, "results.finalized", results_data(this_cycle, two_departments()))
        themes = (await reports(stack, cycle_id=this_cycle))["HH-B"]["themes"]
        assert themes["feedback_count"] == 1
        assert [s["text"] for s in themes["samples"]] == ["窗口服务有改进"]
        await deliver(
            stack,
            "results.finalized",
            results_data(other_cycle, two_departments(), period="2025"),
        )
        earlier = (await reports(stack, cycle_id=other_cycle))["HH-B"]["themes"]
        assert earlier["feedback_count"] == 2

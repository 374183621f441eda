"""Drafts from the siblings' events, delivered through the real inbox: each event type, the
per-kind policy, the same event twice, events out of order, revised results as new
versions, and the personal data that never reaches a published version."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from standardwebhooks import Webhook

from services.common.events.subscriptions import inbox_secret
from services.disclosure.models import DisclosureCycle
from tests.common.events.receivers import eventually
from tests.disclosure.test_workflow import emitted
from tests.harness import HEIHE, Stack, auth

CYCLE = str(uuid.uuid4())
DEPT_A, DEPT_B = str(uuid.uuid4()), str(uuid.uuid4())


async def deliver(
    stack: Stack, event_type: str, data: dict[str, Any], webhook_id: str | None = None
) -> None:
    """A sibling's signed webhook to the disclosure inbox."""
    webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    secret = inbox_secret(stack.apps["disclosure"].state.settings, "disclosure")
    now = datetime.now(UTC)
    body = json.dumps({"type": event_type, "timestamp": now.isoformat(), "data": data})
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, now, body),
        "content-type": "application/json",
    }
    response = await stack.client("disclosure").post(
        "/v1/webhooks/inbox", content=body, headers=headers
    )
    assert response.status_code == 200, response.text


def department(dept_id: str, code: str, total: float, rank: int, **extra: Any) -> dict:
    return {
        "department_id": dept_id,
        "department": code,
        "name_zh": f"{code}局",
        "total": total,
        "rank": rank,
        "tied": False,
        "grade": "优秀" if rank == 1 else "良好",
        "vetoed": False,
        "weakest_indicators": [
            {"code": "S1", "name": "办件时效", "weight": 60, "points": 40, "achievement": 0.66}
        ],
        "weakest_dimensions": [],
        "group_scores": [
            {"code": "objective", "kind": "objective", "name": "目标考核", "weight": 60,
             "score": total, "points": round(total * 0.6, 4)},
        ],
        "indicators": [
            {"code": "S1", "name": "办件时效", "weight": 100, "value": total,
             "achievement": total / 100, "points": round(total * 0.6, 4)},
        ],
        **extra,
    }  # fmt: skip


def results(result_version: int = 1, *, a: float = 90.0, b: float = 80.0) -> dict[str, Any]:
    return {
        "version": 1,
        "cycle_id": CYCLE,
        "jurisdiction_code": HEIHE,
        "cycle": "2026-social",
        "name": "2026 年度考评",
        "period": "2026",
        "category": "social_services",
        "status": "preliminary",
        "result_version": result_version,
        "appeal_window_ends_at": None,
        "results": [department(DEPT_A, "EDU", a, 1), department(DEPT_B, "HEA", b, 2)],
    }


async def publications(stack: Stack, **params: Any) -> list[dict[str, Any]]:
    response = await stack.client("disclosure").get(
        "/v1/publications", params={"limit": 200, **params}, headers=auth()
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def by_key(stack: Stack, key: str) -> dict[str, Any]:
    [found] = [p for p in await publications(stack) if p["subject_key"] == key]
    return found


async def versions(stack: Stack, publication_id: str) -> list[dict[str, Any]]:
    response = await stack.client("disclosure").get(f"/v1/publications/{publication_id}/versions")
    return response.json()["items"]


async def ledger_size(stack: Stack) -> int:
    return len((await stack.client("disclosure").get("/v1/ledger?limit=200")).json()["items"])


class TestResults:
    async def test_results_publish_the_cycle_and_each_department_with_its_breakdown(
        self, stack: Stack
    ) -> None:
        await deliver(stack, "results.preliminary", results())
        cycle = await by_key(stack, f"results:{CYCLE}")
        assert (cycle["kind"], cycle["status"], cycle["version"]) == ("results", "published", 1)
        assert cycle["editor"] == "system" and cycle["period"] == "2026"
        assert [r["total"] for r in cycle["data"]["results"]] == [90.0, 80.0]
        a = await by_key(stack, f"department_result:{CYCLE}:{DEPT_A}")
        assert (a["kind"], a["department_id"], a["department_code"]) == (
            "department_result",
            DEPT_A,
            "EDU",
        )
        assert a["data"]["indicators"][0] == {
            "code": "S1",
            "name": "办件时效",
            "weight": 100,
            "value": 90.0,
            "achievement": 0.9,
            "points": 54.0,
        }
        assert a["data"]["group_scores"][0]["score"] == 90.0
        assert a["data"]["result_version"] == 1 and a["data"]["cycle"] == "2026-social"
        public = await stack.client("disclosure").get(f"/v1/publications/{a['id']}")
        assert public.json()["data"]["total"] == 90.0
        events = {e["publication_id"]: e for e in await emitted(stack, "publication.published")}
        assert len(events) == 3
        announced = events[a["id"]]
        assert (announced["kind"], announced["publication_version"]) == ("department_result", 1)
        assert (announced["cycle_id"], announced["department_id"]) == (CYCLE, DEPT_A)

    async def test_the_same_event_twice_changes_nothing(self, stack: Stack) -> None:
        await deliver(stack, "results.preliminary", results(), webhook_id="msg_same")
        await deliver(stack, "results.preliminary", results(), webhook_id="msg_same")
        # Another delivery id with the same content: a replay changes nothing either.
        await deliver(stack, "results.preliminary", results())
        assert await ledger_size(stack) == 3
        cycle = await by_key(stack, f"results:{CYCLE}")
        assert [v["version"] for v in await versions(stack, cycle["id"])] == [1]

    async def test_final_and_revised_results_are_new_versions_superseding_the_last(
        self, stack: Stack
    ) -> None:
        await deliver(stack, "results.preliminary", results(1))
        await deliver(stack, "results.finalized", {**results(1), "status": "finalized"})
        await deliver(stack, "results.revised", {**results(2, b=85.0), "status": "revised"})
        b = await by_key(stack, f"department_result:{CYCLE}:{DEPT_B}")
        history = await versions(stack, b["id"])
        assert [(v["version"], v["supersedes"], v["data"]["status"]) for v in history] == [
            (1, None, "preliminary"),
            (2, 1, "finalized"),
            (3, 2, "revised"),
        ]
        assert history[-1]["data"]["total"] == 85.0
        public = (await stack.client("disclosure").get(f"/v1/publications/{b['id']}")).json()
        assert (public["version"], public["data"]["result_version"]) == (3, 2)

    async def test_an_older_result_arriving_late_is_ignored(self, stack: Stack) -> None:
        await deliver(stack, "results.revised", {**results(2, a=70.0), "status": "revised"})
        await deliver(stack, "results.preliminary", results(1))
        await deliver(stack, "results.finalized", {**results(1), "status": "finalized"})
        a = await by_key(stack, f"department_result:{CYCLE}:{DEPT_A}")
        assert [v["data"]["total"] for v in await versions(stack, a["id"])] == [70.0]

    async def test_the_policy_can_hold_results_for_approval(self, stack: Stack) -> None:
        settings = stack.apps["disclosure"].state.settings
        settings.publish_policy = {"results": "approval", "department_result": "approval"}
        try:
            await deliver(stack, "results.preliminary", results())
        finally:
            settings.publish_policy = {}
        cycle = await by_key(stack, f"results:{CYCLE}")
        assert (cycle["status"], cycle["version"]) == ("draft", 0)
        anyone = await stack.client("disclosure").get(f"/v1/publications/{cycle['id']}")
        assert anyone.status_code == 404
        # Any admin approves a draft the system wrote.
        approved = await stack.client("disclosure").post(
            f"/v1/publications/{cycle['id']}/approve", headers=auth(subject="approver-b")
        )
        assert approved.status_code == 200, approved.text


class TestCycles:
    async def test_cycle_opened_is_remembered_and_names_the_departments(self, stack: Stack) -> None:
        opened = {
            "cycle_id": CYCLE,
            "jurisdiction_code": HEIHE,
            "code": "2026-social",
            "name": "2026 年度考评",
            "period": "2026",
            "category": "social_services",
            "status": "open",
            "system_id": str(uuid.uuid4()),
            "opened_at": "2026-03-01T00:00:00Z",
            "departments": [
                {"department_id": DEPT_A, "code": "EDU", "name_zh": "教育局", "name_en": "Edu"}
            ],
        }
        await deliver(stack, "cycle.opened", opened)
        without_names = results()
        without_names["results"][0]["name_zh"] = None
        await deliver(stack, "results.preliminary", without_names)
        async with stack.apps["disclosure"].state.db.session(read_only=True) as session:
            cycle = (await session.scalars(select(DisclosureCycle))).one()
        assert (cycle.code, cycle.category, cycle.departments[0]["name_zh"]) == (
            "2026-social",
            "social_services",
            "教育局",
        )
        assert cycle.opened_at == datetime(2026, 3, 1, tzinfo=UTC)
        assert cycle.preliminary_at is not None and cycle.finalized_at is None
        a = await by_key(stack, f"department_result:{CYCLE}:{DEPT_A}")
        assert a["data"]["name_zh"] == "教育局" and a["title"].startswith("教育局")


def task(task_id: str, status: str, changed_at: str, **extra: Any) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "jurisdiction_code": HEIHE,
        "cycle_id": CYCLE,
        "department_id": DEPT_A,
        "department": "EDU",
        "title": "缩短办件时限",
        "origin": "weak_indicator",
        "status": status,
        "progress": 50 if status != "closed" else 100,
        "deadline": "2026-09-30",
        "escalation_level": 0,
        "changed_at": changed_at,
        **extra,
    }


class TestRectification:
    async def test_task_events_build_the_departments_progress(self, stack: Stack) -> None:
        await deliver(stack, "results.finalized", {**results(), "status": "finalized"})
        t1, t2 = str(uuid.uuid4()), str(uuid.uuid4())
        await deliver(stack, "rectification.created", task(t1, "open", "2026-04-01T00:00:00Z"))
        await deliver(stack, "rectification.created", task(t2, "open", "2026-04-01T00:00:00Z"))
        await deliver(
            stack, "rectification.status_changed", task(t1, "closed", "2026-05-01T00:00:00Z")
        )
        await deliver(
            stack,
            "rectification.overdue",
            task(t2, "overdue", "2026-10-01T00:00:00Z", escalation_level=1),
        )
        # A change older than the one kept arrives late: ignored.
        await deliver(
            stack, "rectification.status_changed", task(t1, "open", "2026-04-15T00:00:00Z")
        )
        progress = await by_key(stack, f"rectification:{CYCLE}:{DEPT_A}")
        assert (progress["kind"], progress["status"]) == ("rectification", "published")
        data = progress["data"]
        assert {t["task_id"]: t["status"] for t in data["tasks"]} == {t1: "closed", t2: "overdue"}
        assert data["closure_rate"] == 0.5
        assert data["report"]["total"] == 90.0 and data["report"]["rank"] == 1
        assert [t["escalation_level"] for t in data["tasks"] if t["task_id"] == t2] == [1]
        assert len(await versions(stack, progress["id"])) == 4
        assert progress["title"] == "EDU 整改进展 · 2026 年度考评"

    async def test_the_feedback_report_and_the_metrics_join_the_progress(
        self, stack: Stack
    ) -> None:
        """feedback_report.issued puts the report's public summary on the department's
        progress, department_metrics.computed its rates; older ones arriving late do not."""
        t1 = str(uuid.uuid4())
        await deliver(stack, "rectification.created", task(t1, "open", "2026-04-01T00:00:00Z"))
        report_id = str(uuid.uuid4())

        def report(result_version: int, total: float) -> dict[str, Any]:
            return {
                "report_id": report_id,
                "jurisdiction_code": HEIHE,
                "cycle_id": CYCLE,
                "department_id": DEPT_A,
                "department": "EDU",
                "result_version": result_version,
                "total": total,
                "grade": "良好",
                "rank": 2,
                "vetoed": False,
                "weakest_indicators": [{"code": "S1", "name": "办件时限", "achievement": 0.6}],
                "weakest_dimensions": [],
                "themes": {"counts": {"complaint": 3}, "samples": ["窗口排队太久"]},
                "task_count": 1,
                "issued_at": f"2026-0{3 + result_version}-01T00:00:00Z",
            }

        def metrics(closure_rate: float, computed_at: str) -> dict[str, Any]:
            return {
                "jurisdiction_code": HEIHE,
                "cycle_id": CYCLE,
                "department_id": DEPT_A,
                "department": "EDU",
                "closure_rate": closure_rate,
                "on_time_rate": 1.0,
                "reopen_rate": 0.0,
                "mean_days_to_close": 12.5,
                "feedback_response_rate": 0.8,
                "computed_at": computed_at,
            }

        await deliver(stack, "feedback_report.issued", report(2, 62.0))
        await deliver(stack, "feedback_report.issued", report(1, 59.0))  # late: ignored
        await deliver(stack, "department_metrics.computed", metrics(0.5, "2026-06-01T00:00:00Z"))
        await deliver(stack, "department_metrics.computed", metrics(0.2, "2026-05-01T00:00:00Z"))
        data = (await by_key(stack, f"rectification:{CYCLE}:{DEPT_A}"))["data"]
        assert data["report"]["total"] == 62.0 and data["report"]["result_version"] == 2
        assert data["report"]["themes"]["counts"] == {"complaint": 3}
        assert data["metrics"]["closure_rate"] == 0.5
        assert data["metrics"]["mean_days_to_close"] == 12.5
        assert [t["task_id"] for t in data["tasks"]] == [t1]


class TestAppeals:
    async def test_a_decided_appeal_is_a_notice_waiting_for_approval(self, stack: Stack) -> None:
        decided = {
            "appeal_id": str(uuid.uuid4()),
            "jurisdiction_code": HEIHE,
            "cycle_id": CYCLE,
            "department_id": DEPT_B,
            "department": "HEA",
            "target_kind": "indicator",
            "target": "S1",
            "decision": "upheld",
            "adjustment": {"target_kind": "indicator", "target": "S1", "points": 5},
            "reason": "数据口径有误",
            "decision_text": "经复核，申诉成立，S1 加 5 分。",
            "decided_at": "2026-04-10T00:00:00Z",
        }
        await deliver(stack, "appeal.decided", decided)
        await deliver(stack, "appeal.decided", decided)
        notice = await by_key(stack, f"appeal:{decided['appeal_id']}")
        assert (notice["kind"], notice["status"], notice["version"]) == ("notice", "draft", 0)
        assert notice["body"] == "经复核，申诉成立，S1 加 5 分。"
        assert notice["data"]["decision"] == "upheld" and "申诉成立" in notice["title"]
        audit = (await stack.client("disclosure").get("/v1/audit", headers=auth())).json()
        created = [e for e in audit["items"] if e["resource_id"] == notice["id"]]
        assert [e["action"] for e in created] == ["publication.created"]


class TestPlans:
    async def test_a_published_indicator_system_is_the_plan_and_its_new_version_too(
        self, stack: Stack
    ) -> None:
        def system(version: int) -> dict[str, Any]:
            return {
                "system": {
                    "id": str(uuid.uuid4()),
                    "jurisdiction_code": HEIHE,
                    "year": 2026,
                    "category": "social_services",
                    "version": version,
                    "name": "2026 年度社会服务类指标体系",
                    "description": "说明",
                    "status": "published",
                    "nodes": [{"code": "S1", "name_zh": "办件时效", "weight": 100}],
                }
            }

        await deliver(stack, "indicator_system.published", system(2))
        await deliver(stack, "indicator_system.published", system(1))  # late: ignored
        await deliver(stack, "indicator_system.published", system(3))
        plan = await by_key(stack, "plan:2026:social_services")
        assert (plan["kind"], plan["status"], plan["period"]) == ("plan", "published", "2026")
        assert [v["data"]["version"] for v in await versions(stack, plan["id"])] == [2, 3]


PII = "联系 13912345678 或 zhang.san@example.com，身份证 230102199001011234"
SECRETS = ("13912345678", "zhang.san@example.com", "230102199001011234", "device-token-1")


def _leaks(text: str) -> list[str]:
    found = [secret for secret in SECRETS if secret in text]
    found += re.findall(r'"(respondent[^"]*|device[^"]*|phone[^"]*|response_id)"\s*:', text)
    return found


class TestPrivacy:
    async def test_no_personal_data_survives_into_a_published_version(self, stack: Stack) -> None:
        dirty = results()
        dirty["name"] = f"2026 考评 {PII}"
        a = dirty["results"][0]
        a["name_zh"] = f"教育局 {PII}"
        a["weakest_indicators"][0]["name"] = PII
        a["indicators"][0]["name"] = PII
        a["respondent"] = {"token": "device-token-1", "phone": "13912345678"}
        a["device_id"] = "d-1"
        a["phone_number"] = "13912345678"
        a["response_id"] = str(uuid.uuid4())
        a["group_scores"][0]["notes"] = [PII, {"respondent_id": "r-1", "text": PII}]
        await deliver(stack, "results.preliminary", dirty)
        await deliver(
            stack,
            "rectification.created",
            task(str(uuid.uuid4()), "open", "2026-04-01T00:00:00Z", title=PII, origin=PII),
        )
        client = stack.client("disclosure")
        office = await client.post(
            "/v1/publications",
            headers=auth(subject="editor-a"),
            json={
                "jurisdiction_code": HEIHE,
                "kind": "plan",
                "title": f"方案 {PII}",
                "title_en": PII,
                "summary": PII,
                "summary_en": PII,
                "body": PII,
                "data": {"contact": PII, "respondents": [1], "nested": [{"phone": "1"}]},
                "attachments": [{"title": PII, "url": "https://example.org/a.pdf"}],
            },
        )
        await client.post(
            f"/v1/publications/{office.json()['id']}/publish", headers=auth(subject="editor-a")
        )
        published = [p for p in await publications(stack) if p["version"] >= 1]
        assert len(published) == 5
        texts = []
        for p in published:
            texts.append((await client.get(f"/v1/publications/{p['id']}")).text)
            texts.append((await client.get(f"/v1/publications/{p['id']}/versions")).text)
        texts.append((await client.get("/v1/ledger/export")).text)
        everything = "\n".join(texts)
        assert _leaks(everything) == []
        assert "[phone]" in everything and "[email]" in everything
        assert "[id-number]" in everything


class TestFromEvaluation:
    async def test_a_scored_cycle_reaches_disclosure_with_its_breakdown(self, stack: Stack) -> None:
        from tests.evaluation.results.test_results import scored_cycle

        scored = await scored_cycle(stack)

        async def published() -> list[dict[str, Any]]:
            return [
                p
                for p in await publications(stack, kind="department_result")
                if p["status"] == "published"
            ]

        found = await eventually(published, within=30)
        assert {p["department_id"] for p in found} <= set(scored.departments)
        entry = found[0]["data"]
        assert {g["code"] for g in entry["group_scores"]} == {"objective", "citizens"}
        [indicator] = entry["indicators"]
        assert indicator["code"] == "S1" and indicator["weight"] == 100
        assert indicator["value"] in (100, 60)
        assert indicator["achievement"] == round(indicator["value"] / 100, 4)

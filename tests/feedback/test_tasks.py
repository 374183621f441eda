"""Rectification tasks: the status machine and who may move it, plans, milestones,
evidence, the history of every change and the events it announces."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.harness import HEIHE, Stack, auth

DEPARTMENT = str(uuid.UUID(int=0xA))
OTHER = str(uuid.UUID(int=0xB))
TASKS = "/v1/rectification-tasks"


def officer(department: str = DEPARTMENT) -> dict[str, str]:
    return auth("department", department_id=department, subject=f"officer:{department[-1]}")


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def new_task(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    body = {
        "jurisdiction_code": HEIHE,
        "department_id": DEPARTMENT,
        "department_code": "HH-EDU",
        "title": "缩短办事窗口排队时间",
        "description": "群众反映排队时间过长",
        "deadline": "2027-03-31",
        **overrides,
    }
    return await _ok(await client.post(TASKS, json=body, headers=auth()), 201)


async def move(
    client: httpx.AsyncClient, task: dict[str, Any], to: str, headers: dict[str, str], **body: Any
) -> httpx.Response:
    return await client.post(
        f"{TASKS}/{task['id']}/status", json={"to_status": to, **body}, headers=headers
    )


async def submitted_task(client: httpx.AsyncClient) -> dict[str, Any]:
    task = await new_task(client)
    url = f"{TASKS}/{task['id']}"
    await _ok(await client.put(f"{url}/plan", json={"plan": "增设窗口"}, headers=officer()))
    await _ok(await move(client, task, "in_progress", officer()))
    return await _ok(await move(client, task, "submitted", officer()))


async def outbox(stack: Stack, event_type: str) -> list[dict[str, Any]]:
    import json

    from sqlalchemy import select

    app = stack.apps["feedback"]
    outbox = app.state.tables.outbox
    async with app.state.db.session() as session:
        rows = (await session.scalars(select(outbox).where(outbox.type == event_type))).all()
    return [json.loads(r.body)["data"] for r in rows]


class TestTheStatusMachine:
    async def test_a_task_goes_from_open_to_verified(self, stack: Stack) -> None:
        client = stack.client("feedback")
        task = await new_task(client)
        assert task["status"] == "open" and task["progress"] == 0
        planned = await _ok(
            await client.put(
                f"{TASKS}/{task['id']}/plan", json={"plan": "增设两个窗口"}, headers=officer()
            )
        )
        assert planned["status"] == "planned" and planned["plan"] == "增设两个窗口"
        await _ok(await move(client, task, "in_progress", officer()))
        await _ok(await move(client, task, "submitted", officer(), reason="已完成"))
        verified = await _ok(await move(client, task, "verified", auth(), reason="核查属实"))
        assert verified["status"] == "verified" and verified["verified_at"]
        history = [(h["from_status"], h["to_status"], h["actor_role"]) for h in verified["history"]]
        assert history == [
            (None, "open", "admin"),
            ("open", "planned", "department"),
            ("planned", "in_progress", "department"),
            ("in_progress", "submitted", "department"),
            ("submitted", "verified", "admin"),
        ]
        assert verified["history"][3]["reason"] == "已完成"
        changed = await outbox(stack, "rectification.status_changed")
        assert [e["status"] for e in changed if e["task_id"] == task["id"]] == [
            "planned",
            "in_progress",
            "submitted",
            "verified",
        ]
        [created] = await outbox(stack, "rectification.created")
        assert created["department"] == "HH-EDU" and created["deadline"] == "2027-03-31"

    async def test_a_returned_task_goes_back_to_work_and_is_submitted_again(
        self, stack: Stack
    ) -> None:
        client = stack.client("feedback")
        task = await submitted_task(client)
        returned = await _ok(await move(client, task, "returned", auth(), reason="证据不足"))
        assert returned["status"] == "returned"
        assert returned["history"][-1]["reason"] == "证据不足"
        await _ok(await move(client, task, "in_progress", officer()))
        await _ok(await move(client, task, "submitted", officer()))
        again = await _ok(await move(client, task, "returned", auth(), reason="仍不充分"))
        resubmitted = await _ok(await move(client, task, "submitted", officer()))
        assert again["status"] == "returned" and resubmitted["status"] == "submitted"

    async def test_returning_needs_a_reason(self, stack: Stack) -> None:
        client = stack.client("feedback")
        task = await submitted_task(client)
        response = await move(client, task, "returned", auth())
        assert response.status_code == 422
        assert response.json()["code"] == "reason-required"

    @pytest.mark.parametrize(
        ("status_now", "to"),
        [
            ("open", "in_progress"),
            ("open", "submitted"),
            ("planned", "submitted"),
            ("planned", "planned"),
        ],
    )
    async def test_steps_out_of_order_are_refused(
        self, stack: Stack, status_now: str, to: str
    ) -> None:
        client = stack.client("feedback")
        task = await new_task(client)
        if status_now == "planned":
            await _ok(
                await client.put(
                    f"{TASKS}/{task['id']}/plan", json={"plan": "p"}, headers=officer()
                )
            )
        response = await move(client, task, to, officer())
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "invalid-task-transition"

    async def test_a_verified_task_moves_no_more(self, stack: Stack) -> None:
        client = stack.client("feedback")
        task = await submitted_task(client)
        await _ok(await move(client, task, "verified", auth()))
        for to, who in (("returned", auth()), ("in_progress", officer()), ("submitted", officer())):
            response = await move(client, task, to, who, reason="x")
            assert response.status_code == 409, (to, response.text)
        response = await client.put(
            f"{TASKS}/{task['id']}/plan", json={"plan": "改"}, headers=officer()
        )
        assert response.status_code == 409


class TestWhoMayDoWhat:
    async def test_the_department_cannot_verify_or_return_its_own_task(self, stack: Stack) -> None:
        client = stack.client("feedback")
        task = await submitted_task(client)
        for to in ("verified", "returned"):
            response = await move(client, task, to, officer(), reason="自查完成")
            assert response.status_code == 403, response.text
            assert response.json()["code"] == "office-only"
        assert (await _ok(await client.get(f"{TASKS}/{task['id']}", headers=auth())))[
            "status"
        ] == "submitted"

    async def test_the_office_cannot_write_the_plan_or_do_the_departments_steps(
        self, stack: Stack
    ) -> None:
        client = stack.client("feedback")
        task = await new_task(client)
        url = f"{TASKS}/{task['id']}"
        response = await client.put(f"{url}/plan", json={"plan": "代写"}, headers=auth())
        assert response.status_code == 403 and response.json()["code"] == "department-only"
        for call in (
            client.post(f"{url}/progress", json={"progress": 50}, headers=auth()),
            client.post(f"{url}/milestones", json={"title": "m"}, headers=auth()),
            client.post(f"{url}/evidence", json={"description": "d"}, headers=auth()),
        ):
            assert (await call).status_code == 403
        await _ok(await client.put(f"{url}/plan", json={"plan": "自己写"}, headers=officer()))
        response = await move(client, task, "in_progress", auth())
        assert response.status_code == 403
        assert (await _ok(await client.get(url, headers=auth())))["plan"] == "自己写"

    async def test_another_department_neither_sees_nor_changes_the_task(self, stack: Stack) -> None:
        client = stack.client("feedback")
        task = await new_task(client)
        url = f"{TASKS}/{task['id']}"
        assert (await client.get(url, headers=officer(OTHER))).status_code == 404
        response = await client.put(f"{url}/plan", json={"plan": "x"}, headers=officer(OTHER))
        assert response.status_code == 404
        listed = await _ok(await client.get(TASKS, headers=officer(OTHER)))
        assert listed["items"] == []
        own = await _ok(await client.get(TASKS, headers=officer()))
        assert [t["id"] for t in own["items"]] == [task["id"]]

    async def test_only_the_office_creates_tasks(self, stack: Stack) -> None:
        client = stack.client("feedback")
        body = {
            "jurisdiction_code": HEIHE,
            "department_id": DEPARTMENT,
            "department_code": "HH-EDU",
            "title": "t",
            "deadline": "2027-01-01",
        }
        assert (await client.post(TASKS, json=body, headers=officer())).status_code == 403
        assert (await client.post(TASKS, json=body)).status_code == 401


class TestMilestonesAndProgress:
    async def test_unweighted_milestones_average(self, stack: Stack) -> None:
        client = stack.client("feedback")
        task = await new_task(client)
        url = f"{TASKS}/{task['id']}/milestones"
        await _ok(
            await client.post(url, json={"title": "a", "progress": 100}, headers=officer()), 201
        )
        await _ok(
            await client.post(url, json={"title": "b", "progress": 0}, headers=officer()), 201
        )
        after = await _ok(
            await client.post(url, json={"title": "c", "progress": 50}, headers=officer()), 201
        )
        assert after["progress"] == 50.0
        assert [m["title"] for m in after["milestones"]] == ["a", "b", "c"]

    async def test_weighted_milestones_roll_up_by_weight(self, stack: Stack) -> None:
        client = stack.client("feedback")
        task = await new_task(client)
        url = f"{TASKS}/{task['id']}/milestones"
        first = await _ok(
            await client.post(
                url, json={"title": "a", "weight": 3, "progress": 0}, headers=officer()
            ),
            201,
        )
        await _ok(
            await client.post(
                url, json={"title": "b", "weight": 1, "progress": 100}, headers=officer()
            ),
            201,
        )
        milestone = first["milestones"][0]["id"]
        updated = await _ok(
            await client.patch(f"{url}/{milestone}", json={"progress": 50}, headers=officer())
        )
        # (3 × 50 + 1 × 100) / 4
        assert updated["progress"] == 62.5

    async def test_progress_of_a_task_with_milestones_comes_from_them(self, stack: Stack) -> None:
        client = stack.client("feedback")
        task = await new_task(client)
        url = f"{TASKS}/{task['id']}"
        set_directly = await _ok(
            await client.post(
                f"{url}/progress", json={"progress": 40, "note": "过半"}, headers=officer()
            )
        )
        assert set_directly["progress"] == 40
        await _ok(
            await client.post(f"{url}/milestones", json={"title": "a"}, headers=officer()), 201
        )
        response = await client.post(f"{url}/progress", json={"progress": 90}, headers=officer())
        assert response.status_code == 409
        assert response.json()["code"] == "progress-from-milestones"
        assert (await _ok(await client.get(url, headers=auth())))["progress"] == 0

    async def test_progress_is_a_percentage(self, stack: Stack) -> None:
        client = stack.client("feedback")
        task = await new_task(client)
        response = await client.post(
            f"{TASKS}/{task['id']}/progress", json={"progress": 101}, headers=officer()
        )
        assert response.status_code == 422


class TestEvidenceAndAudit:
    async def test_evidence_and_every_change_are_on_record(self, stack: Stack) -> None:
        client = stack.client("feedback")
        task = await new_task(client)
        url = f"{TASKS}/{task['id']}"
        with_evidence = await _ok(
            await client.post(
                f"{url}/evidence",
                json={"url": "https://hh.gov.cn/notice/1", "description": "整改通知"},
                headers=officer(),
            ),
            201,
        )
        assert [e["description"] for e in with_evidence["evidence"]] == ["整改通知"]
        await _ok(await client.put(f"{url}/plan", json={"plan": "p"}, headers=officer()))
        audit = await _ok(
            await client.get("/v1/audit", params={"resource_id": task["id"]}, headers=auth())
        )
        assert [a["action"] for a in audit["items"]] == [
            "rectification_task.created",
            "rectification_task.evidence_added",
            "rectification_task.plan_written",
        ]


class TestListing:
    async def test_filters(self, stack: Stack) -> None:
        client = stack.client("feedback")
        late = await new_task(client, deadline="2020-01-01", title="late")
        on_time = await new_task(client, deadline="2999-01-01", title="later")
        await _ok(
            await client.put(f"{TASKS}/{on_time['id']}/plan", json={"plan": "p"}, headers=officer())
        )
        overdue = await _ok(await client.get(TASKS, params={"overdue": "true"}, headers=auth()))
        assert [t["id"] for t in overdue["items"]] == [late["id"]]
        planned = await _ok(await client.get(TASKS, params={"status": "planned"}, headers=auth()))
        assert [t["id"] for t in planned["items"]] == [on_time["id"]]
        first = await _ok(await client.get(TASKS, params={"limit": 1}, headers=auth()))
        second = await _ok(
            await client.get(
                TASKS, params={"limit": 1, "cursor": first["next_cursor"]}, headers=auth()
            )
        )
        assert [t["id"] for t in first["items"] + second["items"]] == [late["id"], on_time["id"]]

    async def test_the_same_automatic_task_is_not_created_twice(self, stack: Stack) -> None:
        client = stack.client("feedback")
        cycle = str(uuid.uuid4())
        await new_task(client, cycle_id=cycle, origin="indicator", origin_ref="E.1")
        response = await client.post(
            TASKS,
            json={
                "jurisdiction_code": HEIHE,
                "department_id": DEPARTMENT,
                "department_code": "HH-EDU",
                "cycle_id": cycle,
                "origin": "indicator",
                "origin_ref": "E.1",
                "title": "again",
                "deadline": "2027-01-01",
            },
            headers=auth(),
        )
        assert response.status_code == 409 and response.json()["code"] == "task-exists"


async def task_at(client: httpx.AsyncClient, status: str) -> dict[str, Any]:
    """A new task brought to `status` the ordinary way (plan, start, submit, return)."""
    task = await new_task(client)
    url = f"{TASKS}/{task['id']}"
    steps = {
        "planned": (),
        "in_progress": (("in_progress", officer()),),
        "submitted": (("in_progress", officer()), ("submitted", officer())),
        "returned": (
            ("in_progress", officer()),
            ("submitted", officer()),
            ("returned", auth()),
        ),
    }[status]
    task = await _ok(await client.put(f"{url}/plan", json={"plan": "增设窗口"}, headers=officer()))
    for to, who in steps:
        task = await _ok(await move(client, task, to, who, reason="按计划"))
    assert task["status"] == status
    return task


class TestEveryStepAndWhoMakesIt:
    @pytest.mark.parametrize(
        ("status_now", "to", "maker"),
        [
            ("planned", "in_progress", "department"),
            ("in_progress", "submitted", "department"),
            ("returned", "in_progress", "department"),
            ("returned", "submitted", "department"),
            ("submitted", "verified", "office"),
            ("submitted", "returned", "office"),
        ],
    )
    async def test_only_its_maker_takes_the_step(
        self, stack: Stack, status_now: str, to: str, maker: str
    ) -> None:
        client = stack.client("feedback")
        task = await task_at(client, status_now)
        office, owner = auth(), officer()
        right, wrong = (owner, office) if maker == "department" else (office, owner)
        refused = await move(client, task, to, wrong, reason="越权")
        assert refused.status_code == 403, refused.text
        expected = "department-only" if maker == "department" else "office-only"
        assert refused.json()["code"] == expected
        assert (await move(client, task, to, officer(OTHER), reason="x")).status_code == 404
        unchanged = await _ok(await client.get(f"{TASKS}/{task['id']}", headers=office))
        assert unchanged["status"] == status_now
        moved = await _ok(await move(client, task, to, right, reason="依规办理"))
        assert moved["status"] == to
        last = moved["history"][-1]
        assert (last["from_status"], last["to_status"], last["reason"]) == (
            status_now,
            to,
            "依规办理",
        )
        assert last["actor_role"] == ("department" if maker == "department" else "admin")

    async def test_a_plan_step_without_a_plan_is_refused(self, stack: Stack) -> None:
        client = stack.client("feedback")
        task = await new_task(client)
        response = await move(client, task, "planned", officer())
        assert (response.status_code, response.json()["code"]) == (409, "plan-required")


class TestMixedMilestones:
    async def test_milestones_with_and_without_weights_average_plainly(self, stack: Stack) -> None:
        client = stack.client("feedback")
        task = await new_task(client)
        url = f"{TASKS}/{task['id']}/milestones"
        await _ok(
            await client.post(
                url, json={"title": "a", "weight": 9, "progress": 100}, headers=officer()
            ),
            201,
        )
        after = await _ok(
            await client.post(url, json={"title": "b", "progress": 0}, headers=officer()), 201
        )
        # Not every milestone has a weight: (100 + 0) / 2, not (9 × 100) / 9.
        assert after["progress"] == 50.0

"""Assignments and scorecards: the office names evaluators (never for their own department),
each evaluator fills its own scorecards while the cycle is open, and the office follows the
progress."""

from __future__ import annotations

from typing import Any

import pytest

from tests import factories
from tests.harness import HARBIN, Stack, auth

EVALUATOR = "expert:zhang"


def evaluator(subject: str = EVALUATOR, **kwargs: Any) -> dict[str, str]:
    return auth("evaluator", subject=subject, **kwargs)


@pytest.fixture
async def opened(stack: Stack) -> dict[str, Any]:
    return await factories.create_open_cycle(stack)


async def assign(
    stack: Stack, opened: dict[str, Any], department: int = 0, **fields: Any
) -> dict[str, Any]:
    return await factories.create_assignment(
        stack.client("evaluation"),
        opened["cycle"]["id"],
        group_id=opened["groups"]["expert"]["id"],
        department_id=opened["departments"][department]["id"],
        evaluator=fields.pop("evaluator", EVALUATOR),
        **fields,
    )


def scorecard_path(assignment: dict[str, Any]) -> str:
    return f"/v1/assignments/{assignment['id']}/scorecard"


class TestAssignments:
    async def test_an_evaluator_is_assigned_and_sees_its_own_assignments(
        self, stack: Stack, opened: dict[str, Any]
    ) -> None:
        mine = await assign(stack, opened)
        await assign(stack, opened, evaluator="expert:li")
        client = stack.client("evaluation")
        listed = await client.get("/v1/my/assignments", headers=evaluator())
        [item] = listed.json()["items"]
        assert item["id"] == mine["id"] and item["scorecard_submitted"] is False
        assert item["department_id"] == opened["departments"][0]["id"]
        # The same subject in another city has no assignment there.
        elsewhere = await client.get(
            "/v1/my/assignments", headers=evaluator(jurisdictions=(HARBIN,))
        )
        assert elsewhere.json()["items"] == []
        office = await client.get(f"/v1/cycles/{opened['cycle']['id']}/assignments", headers=auth())
        assert len(office.json()["items"]) == 2

    async def test_an_evaluator_never_rates_its_own_department(
        self, stack: Stack, opened: dict[str, Any]
    ) -> None:
        own = opened["departments"][0]["id"]
        response = await stack.client("evaluation").post(
            f"/v1/cycles/{opened['cycle']['id']}/assignments",
            headers=auth(),
            json={
                "group_id": opened["groups"]["expert"]["id"],
                "evaluator_subject": "deputy:wang",
                "evaluator_name": "王代表",
                "evaluator_department_id": own,
                "department_id": own,
            },
        )
        assert response.status_code == 409 and response.json()["code"] == "conflict-of-interest"

    async def test_the_same_assignment_is_made_once(
        self, stack: Stack, opened: dict[str, Any]
    ) -> None:
        await assign(stack, opened)
        response = await stack.client("evaluation").post(
            f"/v1/cycles/{opened['cycle']['id']}/assignments",
            headers=auth(),
            json={
                "group_id": opened["groups"]["expert"]["id"],
                "evaluator_subject": EVALUATOR,
                "evaluator_name": "张专家",
                "department_id": opened["departments"][0]["id"],
            },
        )
        assert response.status_code == 409 and response.json()["code"] == "assignment-exists"

    @pytest.mark.parametrize(
        ("group", "department", "code"),
        [
            ("objective", "in-cycle", "not-a-scorecard-group"),
            ("citizen", "in-cycle", "not-a-scorecard-group"),
            ("expert", "outside", "department-not-in-cycle"),
            ("unknown", "in-cycle", "unknown-group"),
        ],
    )
    async def test_only_scorecard_groups_and_the_cycles_departments(
        self, stack: Stack, opened: dict[str, Any], group: str, department: str, code: str
    ) -> None:
        outside = await factories.create_department(
            stack.client("indicator"), code="EDU", category="social_services"
        )
        group_id = (
            opened["groups"][group]["id"]
            if group != "unknown"
            else opened["groups"]["expert"]["cycle_id"]
        )
        response = await stack.client("evaluation").post(
            f"/v1/cycles/{opened['cycle']['id']}/assignments",
            headers=auth(),
            json={
                "group_id": group_id,
                "evaluator_subject": EVALUATOR,
                "evaluator_name": "张专家",
                "department_id": (
                    opened["departments"][0]["id"] if department == "in-cycle" else outside["id"]
                ),
            },
        )
        assert response.status_code == 422, response.text
        assert response.json()["code"] == code

    async def test_a_draft_cycle_takes_assignments_within_its_groups_departments(
        self, stack: Stack
    ) -> None:
        client = stack.client("evaluation")
        cycle = await factories.create_cycle(client)
        listed_department = "01a232fb-0000-7000-8000-000000000001"
        other_department = "01a232fb-0000-7000-8000-000000000002"
        group = await factories.create_group(
            client, cycle["id"], kind="deputy", department_ids=[listed_department]
        )
        made = await factories.create_assignment(
            client, cycle["id"], group_id=group["id"], department_id=listed_department
        )
        assert made["group_id"] == group["id"]
        refused = await client.post(
            f"/v1/cycles/{cycle['id']}/assignments",
            headers=auth(),
            json={
                "group_id": group["id"],
                "evaluator_subject": "deputy:li",
                "evaluator_name": "李代表",
                "department_id": other_department,
            },
        )
        assert refused.status_code == 422
        assert refused.json()["code"] == "department-not-in-group"

    async def test_a_batch_is_made_all_or_none(self, stack: Stack, opened: dict[str, Any]) -> None:
        client = stack.client("evaluation")
        path = f"/v1/cycles/{opened['cycle']['id']}/assignments/batch"
        expert = opened["groups"]["expert"]["id"]
        departments = [d["id"] for d in opened["departments"]]
        items = [
            {
                "group_id": expert,
                "evaluator_subject": f"expert:{n}",
                "evaluator_name": f"专家{n}",
                "department_id": department,
            }
            for n in range(3)
            for department in departments
        ]
        own = {**items[0], "evaluator_subject": "expert:own"}
        bad = [*items, {**own, "evaluator_department_id": own["department_id"]}]
        refused = await client.post(path, json={"assignments": bad}, headers=auth())
        assert refused.status_code == 409, refused.text
        problem = refused.json()
        assert problem["code"] == "conflict-of-interest"
        assert [p["index"] for p in problem["problems"]] == [len(items)]
        duplicated = await client.post(
            path, json={"assignments": [*items, items[1]]}, headers=auth()
        )
        assert duplicated.status_code == 422
        assert duplicated.json()["problems"][0]["code"] == "duplicate-assignment"
        listed = await client.get(f"/v1/cycles/{opened['cycle']['id']}/assignments", headers=auth())
        assert listed.json()["items"] == []
        made = await client.post(path, json={"assignments": items}, headers=auth())
        assert made.status_code == 201, made.text
        assert len(made.json()["items"]) == len(items) == 6
        trail = await client.get(
            "/v1/audit", params={"action": "assignment.created"}, headers=auth()
        )
        assert len(trail.json()["items"]) == 6
        too_many = await client.post(path, json={"assignments": [items[0]] * 501}, headers=auth())
        assert too_many.status_code == 422

    async def test_an_assignment_without_a_scorecard_is_withdrawn(
        self, stack: Stack, opened: dict[str, Any]
    ) -> None:
        client = stack.client("evaluation")
        spare = await assign(stack, opened, department=1)
        done = await assign(stack, opened)
        await client.put(
            scorecard_path(done),
            json={"scores": {"efficiency": 80, "integrity": 90}},
            headers=evaluator(),
        )
        assert (
            await client.delete(f"/v1/assignments/{spare['id']}", headers=auth())
        ).status_code == 204
        kept = await client.delete(f"/v1/assignments/{done['id']}", headers=auth())
        assert kept.status_code == 409 and kept.json()["code"] == "assignment-has-scorecard"

    async def test_a_closed_cycle_takes_no_assignments(
        self, stack: Stack, opened: dict[str, Any]
    ) -> None:
        client = stack.client("evaluation")
        await client.post(f"/v1/cycles/{opened['cycle']['id']}/close", headers=auth())
        response = await client.post(
            f"/v1/cycles/{opened['cycle']['id']}/assignments",
            headers=auth(),
            json={
                "group_id": opened["groups"]["expert"]["id"],
                "evaluator_subject": EVALUATOR,
                "evaluator_name": "张专家",
                "department_id": opened["departments"][0]["id"],
            },
        )
        assert response.status_code == 409 and response.json()["code"] == "assignments-closed"


class TestScorecards:
    async def test_the_assigned_evaluator_scores_and_may_score_again(
        self, stack: Stack, opened: dict[str, Any]
    ) -> None:
        client = stack.client("evaluation")
        assignment = await assign(stack, opened)
        first = await client.put(
            scorecard_path(assignment),
            json={"scores": {"efficiency": 85, "integrity": None}, "comment": "窗口服务较好"},
            headers=evaluator(),
        )
        assert first.status_code == 200, first.text
        card = first.json()
        assert card["scores"] == {"efficiency": 85, "integrity": None}
        assert card["department_id"] == opened["departments"][0]["id"]
        assert card["group_id"] == opened["groups"]["expert"]["id"]
        assert card["submitted_by"] == EVALUATOR
        second = await client.put(
            scorecard_path(assignment),
            json={"scores": {"efficiency": 70, "integrity": 95}},
            headers=evaluator(),
        )
        assert second.status_code == 200 and second.json()["id"] == card["id"]
        shown = await client.get(scorecard_path(assignment), headers=evaluator())
        assert shown.json()["scores"] == {"efficiency": 70, "integrity": 95}
        assert shown.json()["comment"] is None
        trail = await client.get(
            "/v1/audit", params={"action": "scorecard.replaced"}, headers=auth()
        )
        [entry] = trail.json()["items"]
        assert entry["before"]["scores"] == {"efficiency": 85, "integrity": None}
        assert entry["after"]["scores"] == {"efficiency": 70, "integrity": 95}
        mine = await client.get("/v1/my/assignments", headers=evaluator())
        assert mine.json()["items"][0]["scorecard_submitted"] is True

    async def test_the_comment_is_stored_without_personal_data(
        self, stack: Stack, opened: dict[str, Any]
    ) -> None:
        assignment = await assign(stack, opened)
        response = await stack.client("evaluation").put(
            scorecard_path(assignment),
            json={
                "scores": {"efficiency": 90, "integrity": 90},
                "comment": "经办人电话13812345678，邮箱 li@example.com，2026年表现95分",
            },
            headers=evaluator(),
        )
        assert response.json()["comment"] == "经办人电话[phone]，邮箱 [email]，2026年表现95分"
        listed = await stack.client("evaluation").get(
            f"/v1/cycles/{opened['cycle']['id']}/scorecards", headers=auth()
        )
        assert "13812345678" not in listed.text

    @pytest.mark.parametrize(
        ("scores", "code"),
        [
            ({"efficiency": 80}, "missing-dimensions"),
            ({"efficiency": 80, "integrity": 80, "speed": 80}, "unknown-dimensions"),
            ({"efficiency": 101, "integrity": 80}, "score-out-of-range"),
            ({"efficiency": -1, "integrity": 80}, "validation-error"),
            ({"efficiency": "good", "integrity": 80}, "validation-error"),
        ],
    )
    async def test_scores_must_fit_the_groups_dimensions(
        self, stack: Stack, opened: dict[str, Any], scores: dict[str, Any], code: str
    ) -> None:
        assignment = await assign(stack, opened)
        response = await stack.client("evaluation").put(
            scorecard_path(assignment), json={"scores": scores}, headers=evaluator()
        )
        assert response.status_code == 422, response.text
        assert response.json()["code"] == code

    async def test_a_comment_is_at_most_2000_characters(
        self, stack: Stack, opened: dict[str, Any]
    ) -> None:
        assignment = await assign(stack, opened)
        response = await stack.client("evaluation").put(
            scorecard_path(assignment),
            json={"scores": {"efficiency": 1, "integrity": 1}, "comment": "好" * 2001},
            headers=evaluator(),
        )
        assert response.status_code == 422

    @pytest.mark.parametrize(
        "who",
        [
            pytest.param(lambda: evaluator("expert:li"), id="another-evaluator"),
            pytest.param(lambda: auth(), id="the-office"),
            pytest.param(lambda: auth("department", department_id="d"), id="a-department"),
        ],
    )
    async def test_only_the_assigned_evaluator_scores(
        self, stack: Stack, opened: dict[str, Any], who: Any
    ) -> None:
        assignment = await assign(stack, opened)
        response = await stack.client("evaluation").put(
            scorecard_path(assignment),
            json={"scores": {"efficiency": 1, "integrity": 1}},
            headers=who(),
        )
        assert response.status_code == 403 and response.json()["code"] == "not-your-assignment"

    async def test_the_same_subject_of_another_city_finds_nothing(
        self, stack: Stack, opened: dict[str, Any]
    ) -> None:
        assignment = await assign(stack, opened)
        client = stack.client("evaluation")
        harbin = evaluator(jurisdictions=(HARBIN,))
        for method in ("PUT", "GET"):
            response = await client.request(
                method,
                scorecard_path(assignment),
                json={"scores": {"efficiency": 1, "integrity": 1}} if method == "PUT" else None,
                headers=harbin,
            )
            assert response.status_code == 404

    async def test_scores_only_while_the_cycle_is_open(self, stack: Stack) -> None:
        client = stack.client("evaluation")
        cycle = await factories.create_cycle(client, code="draft")
        group = await factories.create_group(client, cycle["id"], kind="expert")
        department = "01a232fb-0000-7000-8000-000000000001"
        early = await factories.create_assignment(
            client, cycle["id"], group_id=group["id"], department_id=department, evaluator=EVALUATOR
        )
        body = {"scores": {"efficiency": 1, "integrity": 1}}
        response = await client.put(scorecard_path(early), json=body, headers=evaluator())
        assert response.status_code == 409 and response.json()["code"] == "cycle-not-open"
        opened = await factories.create_open_cycle(stack, code="late")
        late = await assign(stack, opened)
        await client.post(f"/v1/cycles/{opened['cycle']['id']}/close", headers=auth())
        response = await client.put(scorecard_path(late), json=body, headers=evaluator())
        assert response.status_code == 409 and response.json()["code"] == "cycle-not-open"

    async def test_reading_a_scorecard(self, stack: Stack, opened: dict[str, Any]) -> None:
        client = stack.client("evaluation")
        assignment = await assign(stack, opened)
        missing = await client.get(scorecard_path(assignment), headers=evaluator())
        assert missing.status_code == 404 and missing.json()["code"] == "scorecard-not-submitted"
        await client.put(
            scorecard_path(assignment),
            json={"scores": {"efficiency": 60, "integrity": 70}},
            headers=evaluator(),
        )
        for headers in (evaluator(), auth()):
            shown = await client.get(scorecard_path(assignment), headers=headers)
            assert shown.status_code == 200 and shown.json()["scores"]["efficiency"] == 60
        for headers in (evaluator("expert:li"), auth("department", department_id="d")):
            assert (
                await client.get(scorecard_path(assignment), headers=headers)
            ).status_code == 403


class TestOfficeView:
    async def test_scorecards_and_progress_per_group(
        self, stack: Stack, opened: dict[str, Any]
    ) -> None:
        client = stack.client("evaluation")
        first = await assign(stack, opened, department=0)
        await assign(stack, opened, department=1)
        await client.put(
            scorecard_path(first),
            json={"scores": {"efficiency": 60, "integrity": 70}},
            headers=evaluator(),
        )
        cycle_id = opened["cycle"]["id"]
        cards = await client.get(f"/v1/cycles/{cycle_id}/scorecards", headers=auth())
        assert [c["assignment_id"] for c in cards.json()["items"]] == [first["id"]]
        progress = (
            await client.get(f"/v1/cycles/{cycle_id}/scorecards/progress", headers=auth())
        ).json()
        assert (progress["assigned"], progress["submitted"]) == (2, 1)
        [expert] = progress["groups"]
        assert (expert["code"], expert["assigned"], expert["submitted"]) == ("expert", 2, 1)
        for path in (f"/v1/cycles/{cycle_id}/scorecards", f"/v1/cycles/{cycle_id}/assignments"):
            assert (await client.get(path, headers=evaluator())).status_code == 403
            assert (
                await client.get(path, headers=auth(jurisdictions=(HARBIN,)))
            ).status_code == 404

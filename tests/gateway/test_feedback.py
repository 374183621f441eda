"""The feedback service through GraphQL: tasks, appeals, feedback and reports, and each
role's mutations, with every expected failure a typed problem."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.feedback.results import deliver, department_result, results_data
from tests.harness import HEIHE, Stack, auth

PROBLEM = "... on Problem { __typename code message }"
DEPARTMENT = str(uuid.uuid4())
TASK_FIELDS = "id status progress plan deadline departmentCode"


async def graphql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


def typed(query: str) -> str:
    """The query with the problem selection where it says %s."""
    return query.replace("%s", PROBLEM)


def officer() -> dict[str, str]:
    return auth("department", department_id=DEPARTMENT)


async def new_task(stack: Stack) -> dict[str, Any]:
    response = await stack.client("feedback").post(
        "/v1/rectification-tasks",
        json={
            "jurisdiction_code": HEIHE,
            "department_id": DEPARTMENT,
            "department_code": "HH-SOC",
            "title": "缩短办事窗口排队时间",
            "deadline": "2027-03-31",
        },
        headers=auth(),
    )
    assert response.status_code == 201, response.text
    return response.json()


MOVE = """
mutation($id: ID!, $plan: String!, $progress: Float!) {
  writeTaskPlan(id: $id, plan: $plan) { __typename ... on RectificationTask { status plan } %s }
  startTask(id: $id) { __typename ... on RectificationTask { status } %s }
  reportTaskProgress(id: $id, progress: $progress, note: "过半") {
    __typename ... on RectificationTask { progress } %s
  }
  submitTask(id: $id) { __typename ... on RectificationTask { status } %s }
}
""".replace("%s", PROBLEM)


class TestTasks:
    async def test_the_department_plans_progresses_and_submits_the_office_verifies(
        self, stack: Stack
    ) -> None:
        task = await new_task(stack)
        moved = await graphql(
            stack.gateway, MOVE, {"id": task["id"], "plan": "增设窗口", "progress": 60}, officer()
        )
        assert moved["writeTaskPlan"] == {
            "__typename": "RectificationTask",
            "status": "planned",
            "plan": "增设窗口",
        }
        assert moved["reportTaskProgress"]["progress"] == 60
        assert moved["submitTask"]["status"] == "submitted"
        own = await graphql(
            stack.gateway,
            typed("mutation($id: ID!) { verifyTask(id: $id) { __typename %s } }"),
            {"id": task["id"]},
            officer(),
        )
        assert own["verifyTask"]["__typename"] == "Forbidden"
        verified = await graphql(
            stack.gateway,
            typed(
                'mutation($id: ID!) { verifyTask(id: $id, reason: "现场核查") {'
                " __typename ... on RectificationTask { status verifiedAt } %s } }"
            ),
            {"id": task["id"]},
            auth(),
        )
        assert verified["verifyTask"]["status"] == "verified"
        assert verified["verifyTask"]["verifiedAt"] is not None

    async def test_the_office_cannot_write_the_plan(self, stack: Stack) -> None:
        task = await new_task(stack)
        data = await graphql(
            stack.gateway,
            typed('mutation($id: ID!) { writeTaskPlan(id: $id, plan: "代写") { __typename %s } }'),
            {"id": task["id"]},
            auth(),
        )
        assert data["writeTaskPlan"]["__typename"] == "Forbidden"

    async def test_tasks_are_listed_and_read(self, stack: Stack) -> None:
        task = await new_task(stack)
        data = await graphql(
            stack.gateway,
            """query($id: ID!) {
              rectificationTasks(status: OPEN) {
                ... on RectificationTaskConnection { nodes { FIELDS } pageInfo { hasNextPage } }
              }
              rectificationTask(id: $id) { ... on RectificationTask { title deadline } }
              missing: rectificationTask(id: "MISSING") { __typename }
              bad: rectificationTask(id: "nope") { __typename }
            }""".replace("FIELDS", TASK_FIELDS).replace("MISSING", str(uuid.uuid4())),
            {"id": task["id"]},
            officer(),
        )
        nodes = data["rectificationTasks"]["nodes"]
        assert [(n["id"], n["status"], n["deadline"]) for n in nodes] == [
            (task["id"], "open", "2027-03-31")
        ]
        assert data["rectificationTask"] == {
            "title": "缩短办事窗口排队时间",
            "deadline": "2027-03-31",
        }
        assert data["missing"]["__typename"] == "NotFound"
        assert data["bad"]["__typename"] == "ValidationFailed"


class TestFeedback:
    async def test_answered_then_not_resolved_through_the_graph(self, stack: Stack) -> None:
        sent = await stack.client("feedback").post(
            "/v1/citizen-feedback",
            json={
                "jurisdiction_code": HEIHE,
                "kind": "complaint",
                "text": "排队太久",
                "department_id": DEPARTMENT,
                "department_code": "HH-SOC",
            },
        )
        feedback = sent.json()
        answered = await graphql(
            stack.gateway,
            typed(
                'mutation($id: ID!) { answerFeedback(id: $id, answer: "已加窗口") {'
                " __typename ... on Feedback { status answer } %s } }"
            ),
            {"id": feedback["id"]},
            officer(),
        )
        assert answered["answerFeedback"] == {
            "__typename": "Feedback",
            "status": "answered",
            "answer": "已加窗口",
        }
        resolve = typed(
            "mutation($id: ID!, $token: String!) { resolveFeedback(id: $id, token: $token,"
            ' resolved: false, comment: "还是很慢") {'
            " __typename ... on FeedbackStatus { status reopenCount } %s } }"
        )
        wrong = await graphql(stack.gateway, resolve, {"id": feedback["id"], "token": "x"})
        assert wrong["resolveFeedback"]["__typename"] == "NotFound"
        reopened = await graphql(
            stack.gateway, resolve, {"id": feedback["id"], "token": feedback["token"]}
        )
        assert reopened["resolveFeedback"] == {
            "__typename": "FeedbackStatus",
            "status": "reopened",
            "reopenCount": 1,
        }
        again = await graphql(
            stack.gateway, resolve, {"id": feedback["id"], "token": feedback["token"]}
        )
        assert again["resolveFeedback"]["__typename"] == "Conflict"
        listed = await graphql(
            stack.gateway,
            "{ citizenFeedback { ... on FeedbackConnection {"
            " nodes { id status departmentId cycleId } } } }",
            headers=auth(),
        )
        # Sent about a department, not on a cycle's publication: no cycle.
        assert listed["citizenFeedback"]["nodes"] == [
            {
                "id": feedback["id"],
                "status": "reopened",
                "departmentId": DEPARTMENT,
                "cycleId": None,
            }
        ]


class TestAppealsAndReports:
    async def test_an_appeal_decided_and_the_report_read(self, stack: Stack) -> None:
        cycle = str(uuid.uuid4())
        results = [department_result(DEPARTMENT, "HH-SOC", total=70, indicators=(("E.1", 0.4),))]
        await deliver(
            stack, "results.preliminary", results_data(cycle, results, status="preliminary")
        )
        filed = await stack.client("feedback").post(
            "/v1/appeals",
            json={"cycle_id": cycle, "target_kind": "indicator", "target": "E.1", "reason": "漏报"},
            headers=officer(),
        )
        assert filed.status_code == 201, filed.text
        decide = typed(
            "mutation($id: ID!) { decideAppeal(id: $id, decision: UPHELD, adjustmentPoints: 2,"
            ' decisionText: "补报数据属实") { __typename ... on Appeal { status'
            " adjustmentPoints } %s } }"
        )
        refused = await graphql(stack.gateway, decide, {"id": filed.json()["id"]}, officer())
        assert refused["decideAppeal"]["__typename"] == "Forbidden"
        decided = await graphql(stack.gateway, decide, {"id": filed.json()["id"]}, auth())
        assert decided["decideAppeal"] == {
            "__typename": "Appeal",
            "status": "upheld",
            "adjustmentPoints": 2.0,
        }
        public = await graphql(
            stack.gateway,
            "{ appeals { ... on AppealConnection { nodes { target status decisionText } } } }",
        )
        assert public["appeals"]["nodes"] == [
            {"target": "E.1", "status": "upheld", "decisionText": "补报数据属实"}
        ]
        await deliver(stack, "results.finalized", results_data(cycle, results, version=1))
        reports = await graphql(
            stack.gateway,
            "{ feedbackReports { ... on FeedbackReportConnection { nodes { departmentCode total"
            " weakestIndicators } } } }",
            headers=officer(),
        )
        [report] = reports["feedbackReports"]["nodes"]
        assert (report["departmentCode"], report["total"]) == ("HH-SOC", 70)
        assert [i["code"] for i in report["weakestIndicators"]] == ["E.1"]

"""The evaluation service through GraphQL: cycles with their groups and results, results
with their departments and breakdowns in one query (batched), an evaluator's assignments,
and the mutations of each role, with every expected failure a typed problem."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from tests import factories
from tests.evaluation.ratings.conftest import app_headers, open_citizen_cycle
from tests.evaluation.results.test_results import scored_cycle
from tests.harness import Stack, auth, base_url
from tests.policy.policy import load_policy

EVALUATOR = "expert:zhang"
PROBLEM = "... on Problem { __typename code message }"


async def graphql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The `data` of a query that must raise no GraphQL error at all."""
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


def rating_input(rating: dict[str, Any]) -> dict[str, Any]:
    """A REST rating body (as the ratings tests make them) as a GraphQL RatingInput."""
    return {
        "responseId": rating["response_id"],
        "cycleId": rating["cycle_id"],
        "departmentId": rating["department_id"],
        "questionnaireId": rating["questionnaire_id"],
        "respondent": {
            "kind": rating["respondent"]["kind"].upper(),
            "token": rating["respondent"]["token"],
        },
        "answers": [{"item": item, "value": value} for item, value in rating["answers"].items()],
        "durationSeconds": rating.get("duration_seconds"),
    }


@contextmanager
def upstream_calls(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every call that reaches a service while the block runs, as "service METHOD /path"."""
    calls: list[str] = []
    route = stack.router.handle_async_request

    async def counted(request: httpx.Request) -> httpx.Response:
        service = request.url.host.removesuffix(".test")
        calls.append(f"{service} {request.method} {request.url.path}")
        return await route(request)

    with monkeypatch.context() as patch:
        patch.setattr(stack.router, "handle_async_request", counted)
        yield calls


CYCLE_WITH_RESULTS = """
query ($id: ID!) {
  cycle(id: $id) {
    __typename
    ... on Cycle {
      code status resultVersion rules { bands { grade min } qualityPolicy }
      groups { ... on EvaluatorGroups { weightSum weightsAddUp items { code kind weight } } }
      results {
        __typename
        ... on CycleResults {
          version stale
          results {
            rank total grade
            department { ... on Department { code } {problem} }
          }
        }
        {problem}
      }
    }
    {problem}
  }
}
""".replace("{problem}", PROBLEM)


class TestCycles:
    async def test_a_cycle_with_its_groups_results_and_departments_in_one_query(
        self, stack: Stack
    ) -> None:
        scored = await scored_cycle(stack)
        data = await graphql(stack.gateway, CYCLE_WITH_RESULTS, {"id": scored.cycle["id"]}, auth())
        cycle = data["cycle"]
        assert (cycle["status"], cycle["resultVersion"]) == ("PRELIMINARY", 1)
        assert cycle["rules"]["bands"][-1] == {"grade": "fail", "min": None}
        assert cycle["groups"] == {
            "weightSum": 100.0,
            "weightsAddUp": True,
            "items": [
                {"code": "objective", "kind": "OBJECTIVE", "weight": 60.0},
                {"code": "citizens", "kind": "CITIZEN", "weight": 40.0},
            ],
        }
        results = cycle["results"]
        assert (results["__typename"], results["version"]) == ("CycleResults", 1)
        assert [
            (r["rank"], r["total"], r["grade"], r["department"]) for r in results["results"]
        ] == [
            (1, 100.0, "excellent", {"code": "A"}),
            (2, 56.0, "fail", {"code": "B"}),
        ]

    async def test_cycles_are_listed_by_status(self, stack: Stack) -> None:
        await factories.create_open_cycle(stack)
        await factories.create_cycle(stack.client("evaluation"), code="draft-2027", period="2027")
        query = """
        query ($status: CycleStatus) {
          cycles(status: $status, first: 10) {
            ... on CycleConnection { nodes { code status } pageInfo { hasNextPage } }
          }
        }"""
        drafts = await graphql(stack.gateway, query, {"status": "DRAFT"}, auth())
        assert drafts["cycles"] == {
            "nodes": [{"code": "draft-2027", "status": "DRAFT"}],
            "pageInfo": {"hasNextPage": False},
        }
        every = await graphql(stack.gateway, query, {}, auth())
        assert {c["code"] for c in every["cycles"]["nodes"]} == {"draft-2027", "2026-open"}

    @pytest.mark.parametrize(
        ("id", "typename", "code"),
        [
            pytest.param("not-an-id", "ValidationFailed", "invalid-argument", id="malformed"),
            pytest.param(str(uuid.uuid4()), "NotFound", "not-found", id="unknown"),
        ],
    )
    async def test_a_cycle_that_cannot_be_found_is_a_typed_problem(
        self, stack: Stack, id: str, typename: str, code: str
    ) -> None:
        data = await graphql(stack.gateway, CYCLE_WITH_RESULTS, {"id": id}, auth())
        assert (data["cycle"]["__typename"], data["cycle"]["code"]) == (typename, code)

    async def test_a_cycle_not_scored_yet_has_a_conflict_for_results(self, stack: Stack) -> None:
        opened = await factories.create_open_cycle(stack)
        data = await graphql(
            stack.gateway, CYCLE_WITH_RESULTS, {"id": opened["cycle"]["id"]}, auth()
        )
        assert data["cycle"]["status"] == "OPEN"
        assert data["cycle"]["results"]["__typename"] == "Conflict"
        assert data["cycle"]["results"]["code"] == "not-scored"

    @pytest.mark.parametrize("first", [0, 201])
    async def test_a_page_size_out_of_bounds_is_refused(self, stack: Stack, first: int) -> None:
        query = """
        query ($first: Int!) {
          cycles(first: $first) { ... on ValidationFailed { code fields { path message } } }
        }"""
        data = await graphql(stack.gateway, query, {"first": first}, auth())
        assert data["cycles"]["fields"] == [
            {"path": ["first"], "message": "first must be between 1 and 200"}
        ]


RESULT_WITH_BREAKDOWN = """
query ($cycle: ID!, $department: ID!) {
  result(cycleId: $cycle, departmentId: $department) {
    __typename
    ... on Result {
      total rank
      groupScores { code score n }
      breakdown { ... on Breakdown { total tree } {problem} }
    }
    {problem}
  }
}
""".replace("{problem}", PROBLEM)


class TestResults:
    async def test_a_result_explains_itself_through_its_breakdown(self, stack: Stack) -> None:
        scored = await scored_cycle(stack)
        b = scored.departments[1]
        data = await graphql(
            stack.gateway,
            RESULT_WITH_BREAKDOWN,
            {"cycle": scored.cycle["id"], "department": b},
            auth(),
        )
        result = data["result"]
        assert (result["total"], result["rank"]) == (56.0, 2)
        assert {"code": "citizens", "score": 50.0, "n": 4} in result["groupScores"]
        tree = result["breakdown"]["tree"]
        assert tree["points"] == result["breakdown"]["total"] == 56.0
        assert round(sum(child["points"] for child in tree["children"]), 4) == 56.0

    async def test_a_department_officer_sees_its_own_result_only(self, stack: Stack) -> None:
        scored = await scored_cycle(stack)
        a, b = scored.departments
        officer = auth("department", department_id=a)
        own = await graphql(
            stack.gateway,
            RESULT_WITH_BREAKDOWN,
            {"cycle": scored.cycle["id"], "department": a},
            officer,
        )
        assert own["result"]["__typename"] == "Result"
        assert own["result"]["breakdown"]["total"] == 100.0
        theirs = await graphql(
            stack.gateway,
            RESULT_WITH_BREAKDOWN,
            {"cycle": scored.cycle["id"], "department": b},
            officer,
        )
        assert theirs["result"]["__typename"] == "NotFound"

    async def test_evaluators_are_refused_results(self, stack: Stack) -> None:
        scored = await scored_cycle(stack)
        query = "query ($id: ID!) { cycleResults(cycleId: $id) { {problem} } }".replace(
            "{problem}", PROBLEM
        )
        data = await graphql(
            stack.gateway, query, {"id": scored.cycle["id"]}, auth("evaluator", subject=EVALUATOR)
        )
        assert data["cycleResults"]["__typename"] == "Forbidden"

    async def test_fifty_results_with_their_departments_cost_two_calls(
        self, stack: Stack, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        citizen = await open_citizen_cycle(stack, departments=50)
        evaluation = stack.client("evaluation")
        for action in ("close", "score"):
            response = await evaluation.post(
                f"/v1/cycles/{citizen.cycle_id}/{action}", headers=auth()
            )
            assert response.status_code == 200, response.text
        query = """
        query ($id: ID!) {
          cycleResults(cycleId: $id) {
            ... on CycleResults { results { rank department { ... on Department { code } } } }
          }
        }"""
        with upstream_calls(stack, monkeypatch) as calls:
            data = await graphql(stack.gateway, query, {"id": citizen.cycle_id}, auth())
        results = data["cycleResults"]["results"]
        assert len(results) == 50
        assert {r["department"]["code"] for r in results} == {f"D{n}" for n in range(50)}
        gateway_calls = [c for c in calls if c.endswith("/results") or "/v1/departments" in c]
        assert gateway_calls == [
            f"evaluation GET /v1/cycles/{citizen.cycle_id}/results",
            "indicator GET /v1/departments",
        ]
        assert len(calls) <= 4, calls  # whatever the services call besides, not one per row

    async def test_with_the_indicator_service_down_results_are_answered(self, stack: Stack) -> None:
        scored = await scored_cycle(stack)
        stack.router.unmount(base_url("indicator"))
        data = await graphql(stack.gateway, CYCLE_WITH_RESULTS, {"id": scored.cycle["id"]}, auth())
        results = data["cycle"]["results"]["results"]
        assert [r["total"] for r in results] == [100.0, 56.0]
        assert {r["department"]["__typename"] for r in results} == {"Unavailable"}
        assert results[0]["department"]["code"] == "service-unreachable"


class TestQuestionnairesAndAssignments:
    async def test_a_published_questionnaire_needs_no_token(self, stack: Stack) -> None:
        questionnaire = await factories.create_questionnaire(
            stack.client("evaluation"), publish=True
        )
        query = """
        query ($id: ID!) {
          questionnaire(id: $id) {
            ... on Questionnaire { code version status scaleMax items { code dimension } }
          }
        }"""
        data = await graphql(stack.gateway, query, {"id": questionnaire["id"]})
        assert data["questionnaire"]["status"] == "PUBLISHED"
        assert data["questionnaire"]["items"][0] == {"code": "Q1", "dimension": "service"}

    async def test_an_evaluator_sees_its_assignments_with_department_and_cycle(
        self, stack: Stack
    ) -> None:
        opened = await factories.create_open_cycle(stack)
        await factories.create_assignment(
            stack.client("evaluation"),
            opened["cycle"]["id"],
            group_id=opened["groups"]["expert"]["id"],
            department_id=opened["departments"][1]["id"],
            evaluator=EVALUATOR,
        )
        query = """
        {
          myAssignments {
            ... on MyAssignmentConnection {
              nodes {
                scorecardSubmitted
                department { ... on Department { code } }
                cycle { ... on Cycle { code status } }
              }
            }
          }
        }"""
        data = await graphql(stack.gateway, query, headers=auth("evaluator", subject=EVALUATOR))
        assert data["myAssignments"]["nodes"] == [
            {
                "scorecardSubmitted": False,
                "department": {"code": "BEB"},
                "cycle": {"code": "2026-open", "status": "OPEN"},
            }
        ]


SUBMIT_RATING = """
mutation ($input: RatingInput!, $key: String) {
  submitRating(input: $input, idempotencyKey: $key) {
    __typename
    ... on RatingResult { index status reasonCode reason receivedAt }
    ... on Problem { code message }
    ... on ValidationFailed { fields { path message } }
  }
}
"""
SUBMIT_RATINGS = """
mutation ($inputs: [RatingInput!]!) {
  submitRatings(inputs: $inputs) {
    __typename
    ... on RatingBatchResult {
      accepted duplicate conflict rejected results { index status reasonCode }
    }
    {problem}
  }
}
""".replace("{problem}", PROBLEM)


class TestRatings:
    async def test_a_response_is_accepted_then_a_resend_is_a_duplicate(self, stack: Stack) -> None:
        citizen = await open_citizen_cycle(stack)
        rating = rating_input(citizen.rating())
        first = await graphql(stack.gateway, SUBMIT_RATING, {"input": rating}, app_headers())
        assert (first["submitRating"]["__typename"], first["submitRating"]["status"]) == (
            "RatingResult",
            "ACCEPTED",
        )
        again = await graphql(stack.gateway, SUBMIT_RATING, {"input": rating}, app_headers())
        assert again["submitRating"]["status"] == "DUPLICATE"
        assert again["submitRating"]["receivedAt"] == first["submitRating"]["receivedAt"]

    async def test_a_retry_with_the_same_idempotency_key_replays_the_first_answer(
        self, stack: Stack
    ) -> None:
        citizen = await open_citizen_cycle(stack)
        variables = {"input": rating_input(citizen.rating()), "key": "app-queue-7"}
        first = await graphql(stack.gateway, SUBMIT_RATING, variables, app_headers())
        retry = await graphql(stack.gateway, SUBMIT_RATING, variables, app_headers())
        assert first["submitRating"]["status"] == "ACCEPTED"
        assert retry == first
        other = {"input": rating_input(citizen.rating()), "key": "app-queue-7"}
        reused = await graphql(stack.gateway, SUBMIT_RATING, other, app_headers())
        assert reused["submitRating"]["__typename"] == "ValidationFailed"

    async def test_the_same_response_id_with_other_answers_is_a_conflict(
        self, stack: Stack
    ) -> None:
        citizen = await open_citizen_cycle(stack)
        rating = citizen.rating()
        await graphql(stack.gateway, SUBMIT_RATING, {"input": rating_input(rating)}, app_headers())
        changed = rating_input({**rating, "answers": {**rating["answers"], "Q1": 1}})
        data = await graphql(stack.gateway, SUBMIT_RATING, {"input": changed}, app_headers())
        assert (data["submitRating"]["__typename"], data["submitRating"]["code"]) == (
            "Conflict",
            "response-id-conflict",
        )

    async def test_an_item_answered_twice_is_refused_with_its_path(self, stack: Stack) -> None:
        citizen = await open_citizen_cycle(stack)
        rating = rating_input(citizen.rating())
        rating["answers"].append({"item": "Q1", "value": 2})
        data = await graphql(stack.gateway, SUBMIT_RATING, {"input": rating}, app_headers())
        assert data["submitRating"]["__typename"] == "ValidationFailed"
        assert data["submitRating"]["fields"] == [
            {"path": ["input", "answers"], "message": "item Q1 is given twice"}
        ]

    async def test_a_field_the_service_refuses_points_into_the_input(self, stack: Stack) -> None:
        citizen = await open_citizen_cycle(stack)
        rating = rating_input(citizen.rating())
        rating["durationSeconds"] = -5
        data = await graphql(stack.gateway, SUBMIT_RATING, {"input": rating}, app_headers())
        problem = data["submitRating"]
        assert problem["__typename"] == "ValidationFailed"
        assert [f["path"] for f in problem["fields"]] == [["input", "durationSeconds"]]
        assert "body" not in problem["message"]

    async def test_answers_that_do_not_fit_the_questionnaire_are_refused(
        self, stack: Stack
    ) -> None:
        citizen = await open_citizen_cycle(stack)
        rating = rating_input(citizen.rating(answers={"Q1": 9}))
        data = await graphql(stack.gateway, SUBMIT_RATING, {"input": rating}, app_headers())
        assert data["submitRating"]["__typename"] == "ValidationFailed"
        assert data["submitRating"]["code"] == "invalid-answers"

    async def test_a_batch_answers_each_response_on_its_own(self, stack: Stack) -> None:
        citizen = await open_citizen_cycle(stack)
        accepted = citizen.rating()
        inputs = [
            rating_input(accepted),
            rating_input(citizen.rating(department=1, answers={"Q1": 9})),
            rating_input(accepted),
        ]
        data = await graphql(stack.gateway, SUBMIT_RATINGS, {"inputs": inputs}, app_headers())
        batch = data["submitRatings"]
        assert (batch["accepted"], batch["rejected"], batch["duplicate"]) == (1, 1, 1)
        assert [r["status"] for r in batch["results"]] == ["ACCEPTED", "REJECTED", "DUPLICATE"]

    async def test_an_empty_batch_is_refused_before_any_call(self, stack: Stack) -> None:
        data = await graphql(stack.gateway, SUBMIT_RATINGS, {"inputs": []}, app_headers())
        assert (data["submitRatings"]["__typename"], data["submitRatings"]["code"]) == (
            "ValidationFailed",
            "invalid-argument",
        )


SUBMIT_SCORECARD = """
mutation ($assignment: ID!, $scores: [ScoreInput!]!) {
  submitScorecard(assignmentId: $assignment, scores: $scores, comment: "联系 13912345678") {
    __typename
    ... on Scorecard { scores { dimension score } comment submittedBy }
    {problem}
  }
}
""".replace("{problem}", PROBLEM)


class TestScorecards:
    async def test_the_assigned_evaluator_submits_and_no_one_else(self, stack: Stack) -> None:
        opened = await factories.create_open_cycle(stack)
        assignment = await factories.create_assignment(
            stack.client("evaluation"),
            opened["cycle"]["id"],
            group_id=opened["groups"]["expert"]["id"],
            department_id=opened["departments"][0]["id"],
            evaluator=EVALUATOR,
        )
        variables = {
            "assignment": assignment["id"],
            "scores": [
                {"dimension": "efficiency", "score": 88},
                {"dimension": "integrity", "score": None},
            ],
        }
        other = await graphql(
            stack.gateway, SUBMIT_SCORECARD, variables, auth("evaluator", subject="expert:li")
        )
        assert other["submitScorecard"]["__typename"] == "Forbidden"
        mine = await graphql(
            stack.gateway, SUBMIT_SCORECARD, variables, auth("evaluator", subject=EVALUATOR)
        )
        scorecard = mine["submitScorecard"]
        assert scorecard["scores"] == [
            {"dimension": "efficiency", "score": 88.0},
            {"dimension": "integrity", "score": None},
        ]
        assert "13912345678" not in scorecard["comment"]


TRANSITION = """
mutation ($id: ID!) {
  {mutation}(id: $id) { __typename ... on Cycle { status } {problem} }
}
"""


def transition(mutation: str) -> str:
    return TRANSITION.replace("{mutation}", mutation).replace("{problem}", PROBLEM)


class TestCycleTransitions:
    async def test_the_office_closes_scores_and_finalizes_a_cycle(self, stack: Stack) -> None:
        scored = await scored_cycle(stack, score=False)
        statuses = []
        for mutation in ("scoreCycle", "finalizeCycle"):
            data = await graphql(
                stack.gateway, transition(mutation), {"id": scored.cycle["id"]}, auth()
            )
            statuses.append(data[mutation]["status"])
        assert statuses == ["PRELIMINARY", "FINALIZED"]

    async def test_finalizing_while_appeals_may_be_filed_is_a_conflict(self, stack: Stack) -> None:
        scored = await scored_cycle(stack, appeal_days=7)
        data = await graphql(
            stack.gateway,
            transition("finalizeCycle"),
            {"id": scored.cycle["id"]},
            auth(),
        )
        assert (data["finalizeCycle"]["__typename"], data["finalizeCycle"]["code"]) == (
            "Conflict",
            "appeal-window-open",
        )

    async def test_a_mutation_and_a_read_after_it_see_the_new_state(self, stack: Stack) -> None:
        scored = await scored_cycle(stack, score=False)
        query = """
        mutation ($id: ID!) {
          scoreCycle(id: $id) {
            ... on Cycle { status results { ... on CycleResults { version } } }
          }
          again: scoreCycle(id: $id) {
            ... on Cycle { results { ... on CycleResults { version } } }
          }
        }"""
        data = await graphql(stack.gateway, query, {"id": scored.cycle["id"]}, auth())
        assert data["scoreCycle"]["results"] == {"version": 1}
        assert data["again"]["results"] == {"version": 2}


# Each mutation and the REST route it calls: the policy file says who may.
MUTATIONS = {
    "submitRating": "POST /v1/ratings",
    "submitRatings": "POST /v1/ratings/batch",
    "submitScorecard": "PUT /v1/assignments/{assignment_id}/scorecard",
    "openCycle": "POST /v1/cycles/{cycle_id}/open",
    "closeCycle": "POST /v1/cycles/{cycle_id}/close",
    "scoreCycle": "POST /v1/cycles/{cycle_id}/score",
    "finalizeCycle": "POST /v1/cycles/{cycle_id}/finalize",
}


def principals(department_id: str) -> dict[str, dict[str, str]]:
    """One caller of each kind the policy names; the office last (its calls change state)."""
    return {
        "anonymous": {},
        "citizen_app": app_headers(),
        "department": auth("department", department_id=department_id),
        "integration": auth("integration", department_id=department_id),
        "portal": auth("portal"),
        "evaluator": auth("evaluator", subject=EVALUATOR),
        "admin": auth(),
    }


class TestWhoMayMutate:
    @pytest.mark.parametrize("mutation", list(MUTATIONS))
    async def test_each_role_is_allowed_or_refused_as_the_policy_says(
        self, stack: Stack, mutation: str
    ) -> None:
        opened = await factories.create_open_cycle(stack)
        cycle_id, department = opened["cycle"]["id"], opened["departments"][0]["id"]
        assignment = await factories.create_assignment(
            stack.client("evaluation"),
            cycle_id,
            group_id=opened["groups"]["expert"]["id"],
            department_id=department,
            evaluator=EVALUATOR,
        )

        def rating() -> dict[str, Any]:
            return {
                "responseId": str(uuid.uuid4()),
                "cycleId": cycle_id,
                "departmentId": department,
                "questionnaireId": opened["questionnaire"]["id"],
                "respondent": {"kind": "DEVICE", "token": f"device-{uuid.uuid4()}"},
                "answers": [{"item": "Q1", "value": 4}, {"item": "Q2", "value": 5}],
            }

        calls = {
            "submitRating": (SUBMIT_RATING, lambda: {"input": rating()}),
            "submitRatings": (SUBMIT_RATINGS, lambda: {"inputs": [rating()]}),
            "submitScorecard": (
                SUBMIT_SCORECARD,
                lambda: {
                    "assignment": assignment["id"],
                    "scores": [
                        {"dimension": "efficiency", "score": 70},
                        {"dimension": "integrity", "score": 80},
                    ],
                },
            ),
        }
        query, variables = calls.get(mutation, (transition(mutation), lambda: {"id": cycle_id}))
        entry = load_policy().entry("evaluation", MUTATIONS[mutation])
        assert entry is not None
        wrong = []
        for kind, headers in principals(department).items():
            data = await graphql(stack.gateway, query, variables(), headers)
            refused = data[mutation]["__typename"] == "Forbidden"
            if refused != (entry.access[kind] == "deny"):
                wrong.append(f"{kind}: {data[mutation]} (policy: {entry.access[kind]})")
        assert not wrong, "\n".join(wrong)

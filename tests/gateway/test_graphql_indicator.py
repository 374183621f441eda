"""The indicator service through GraphQL: a department's indicator system (the tree) and its
latest values in one query, batched; the measurements list and change feed; import jobs;
and every expected failure a typed problem."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest

from tests import factories
from tests.common.events.receivers import eventually
from tests.gateway.test_graphql_evaluation import PROBLEM, graphql, upstream_calls
from tests.harness import Stack, auth
from tests.indicator.builders import published_system
from tests.indicator.test_measurements import post_import, rows

DEPARTMENTS_WITH_SYSTEMS = """
query ($first: Int!, $latest: Int!) {
  departments(jurisdiction: "231100", first: $first) {
    __typename
    ... on DepartmentConnection {
      nodes {
        code category
        indicatorSystem(year: 2026) {
          __typename
          ... on IndicatorSystem {
            category status version
            nodes { code weight children { code weight polarity frequency target rule } }
          }
          {problem}
        }
        latestMeasurements(first: $latest) {
          __typename
          ... on LatestMeasurements { nodes { indicatorCode period value status } }
          {problem}
        }
      }
    }
    {problem}
  }
}
""".replace("{problem}", PROBLEM)

ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def shapes(calls: list[str]) -> Counter[str]:
    """The gateway's calls, with ids masked, counted (webhook deliveries between the
    services, which go the same way in these tests, left out)."""
    return Counter(ID.sub("{id}", call) for call in calls if "/v1/webhooks/" not in call)


async def city_of_fifty(stack: Stack) -> dict[str, dict[str, Any]]:
    """Published 2026 systems for two categories and 50 departments (25 of each), by code;
    the first two departments of each category have values."""
    client = stack.client("indicator")
    await published_system(client, category="economic")
    await published_system(client, category="social")
    departments = {}
    for n in range(50):
        category = "economic" if n % 2 == 0 else "social"
        code = f"D{n:02d}"
        departments[code] = await factories.create_department(client, code=code, category=category)
    await post_import(
        client,
        rows(
            ("ECO.2", "D00", "2026", 91),
            ("ECO.1.1", "D00", "2026Q1", 70),
            ("ECO.1.1", "D00", "2026Q2", 75),
            ("ECO.2", "D01", "2026", 60),
        ),
    )
    return departments


class TestBatching:
    async def test_fifty_departments_with_systems_and_latest_values_cost_five_calls(
        self, stack: Stack, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        await city_of_fifty(stack)
        with upstream_calls(stack, monkeypatch) as calls:
            data = await graphql(
                stack.gateway, DEPARTMENTS_WITH_SYSTEMS, {"first": 50, "latest": 2}, auth()
            )
        # One page of departments, one list of the year's published systems, one tree per
        # category, one batch of latest values: not one call per department.
        assert shapes(calls) == {
            "indicator GET /v1/departments": 1,
            "indicator GET /v1/indicator-systems": 1,
            "indicator GET /v1/indicator-systems/{id}": 2,
            "indicator GET /v1/measurements": 1,
        }
        nodes = data["departments"]["nodes"]
        assert len(nodes) == 50
        for department in nodes:
            system = department["indicatorSystem"]
            assert system["__typename"] == "IndicatorSystem"
            assert (system["category"], system["status"]) == (department["category"], "PUBLISHED")
        by_code = {d["code"]: d["latestMeasurements"] for d in nodes}
        assert [(v["indicatorCode"], v["period"]) for v in by_code["D00"]["nodes"]] == [
            ("ECO.1.1", "2026Q2"),
            ("ECO.1.1", "2026Q1"),
        ]
        assert [v["value"] for v in by_code["D01"]["nodes"]] == [60]
        assert by_code["D02"] == {"__typename": "LatestMeasurements", "nodes": []}

    async def test_an_officer_gets_its_own_values_and_forbidden_for_the_others(
        self, stack: Stack
    ) -> None:
        departments = await city_of_fifty(stack)
        officer = auth("department", department_id=departments["D00"]["id"])
        data = await graphql(
            stack.gateway, DEPARTMENTS_WITH_SYSTEMS, {"first": 3, "latest": 1}, officer
        )
        latest = {d["code"]: d["latestMeasurements"] for d in data["departments"]["nodes"]}
        assert latest["D00"]["nodes"] == [
            {"indicatorCode": "ECO.1.1", "period": "2026Q2", "value": 75.0, "status": "SUBMITTED"}
        ]
        assert (latest["D01"]["__typename"], latest["D01"]["code"]) == (
            "Forbidden",
            "other-department",
        )

    async def test_values_unavailable_leave_the_systems_answered(
        self, stack: Stack, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        await city_of_fifty(stack)
        route = stack.router.handle_async_request

        async def measurements_down(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/v1/measurements":
                return httpx.Response(
                    503,
                    json={"status": 503, "code": "database-unreachable", "title": "Unavailable"},
                    headers={"content-type": "application/problem+json"},
                )
            return await route(request)

        monkeypatch.setattr(stack.router, "handle_async_request", measurements_down)
        data = await graphql(
            stack.gateway, DEPARTMENTS_WITH_SYSTEMS, {"first": 2, "latest": 1}, auth()
        )
        for department in data["departments"]["nodes"]:
            assert department["indicatorSystem"]["__typename"] == "IndicatorSystem"
            assert department["latestMeasurements"]["__typename"] == "Unavailable"

    @pytest.mark.parametrize("latest", [0, 201])
    async def test_a_latest_count_out_of_bounds_is_refused_before_any_call(
        self, stack: Stack, monkeypatch: pytest.MonkeyPatch, latest: int
    ) -> None:
        await factories.create_department(stack.client("indicator"), code="D00")
        with upstream_calls(stack, monkeypatch) as calls:
            data = await graphql(
                stack.gateway, DEPARTMENTS_WITH_SYSTEMS, {"first": 1, "latest": latest}, auth()
            )
        [department] = data["departments"]["nodes"]
        assert department["latestMeasurements"]["__typename"] == "ValidationFailed"
        assert not any("/v1/measurements" in call for call in calls)


SYSTEM_OF_YEAR = """
query ($year: Int!) {
  departments(first: 1) {
    ... on DepartmentConnection {
      nodes {
        indicatorSystem(year: $year) {
          __typename {problem}
          ... on ValidationFailed { fields { path message } }
        }
      }
    }
  }
}
""".replace("{problem}", PROBLEM)


class TestSystems:
    async def test_a_system_with_its_tree_weights_targets_and_rules(self, stack: Stack) -> None:
        system = await published_system(stack.client("indicator"))
        query = """
        query ($id: ID!) {
          indicatorSystem(id: $id) {
            __typename
            ... on IndicatorSystem {
              year category version status publishedAt
              nodes {
                code level weight
                children { code level weight polarity frequency target rule children { code } }
              }
            }
          }
        }"""
        data = await graphql(stack.gateway, query, {"id": system["id"]}, auth())
        found = data["indicatorSystem"]
        assert (found["year"], found["category"], found["version"], found["status"]) == (
            2026,
            "economic",
            1,
            "PUBLISHED",
        )
        assert found["publishedAt"]
        assert [(d["code"], d["level"], d["weight"]) for d in found["nodes"]] == [
            ("ECO", 1, 60.0),
            ("SOC", 1, 40.0),
        ]
        growth, eco2 = found["nodes"][0]["children"]
        assert [c["code"] for c in growth["children"]] == ["ECO.1.1", "ECO.1.2"]
        assert (eco2["code"], eco2["polarity"], eco2["frequency"], eco2["target"]) == (
            "ECO.2",
            "HIGHER",
            "ANNUAL",
            100.0,
        )
        assert eco2["rule"]["method"] == "threshold_bands"
        assert eco2["rule"]["bands"][0]["points"] == 1

    async def test_published_systems_need_no_token(self, stack: Stack) -> None:
        system = await published_system(stack.client("indicator"))
        query = "query ($id: ID!) { indicatorSystem(id: $id) { ... on IndicatorSystem { name } } }"
        data = await graphql(stack.gateway, query, {"id": system["id"]})
        assert data["indicatorSystem"] == {"name": "2026 economic"}

    @pytest.mark.parametrize(
        ("id", "typename"),
        [
            pytest.param("not-an-id", "ValidationFailed", id="malformed"),
            pytest.param(str(uuid.uuid4()), "NotFound", id="unknown"),
        ],
    )
    async def test_a_system_that_cannot_be_found_is_a_typed_problem(
        self, stack: Stack, id: str, typename: str
    ) -> None:
        query = f'{{ indicatorSystem(id: "{id}") {{ __typename {PROBLEM} }} }}'
        data = await graphql(stack.gateway, query, headers=auth())
        assert data["indicatorSystem"]["__typename"] == typename

    async def test_a_category_without_a_published_system_that_year_is_not_found(
        self, stack: Stack
    ) -> None:
        client = stack.client("indicator")
        await published_system(client, category="economic")
        await factories.create_department(client, code="D00", category="economic")
        data = await graphql(stack.gateway, SYSTEM_OF_YEAR, {"year": 2027}, auth())
        [department] = data["departments"]["nodes"]
        assert department["indicatorSystem"]["__typename"] == "NotFound"

    @pytest.mark.parametrize("year", [1999, 2101])
    async def test_a_year_out_of_bounds_is_refused(self, stack: Stack, year: int) -> None:
        await factories.create_department(stack.client("indicator"), code="D00")
        data = await graphql(stack.gateway, SYSTEM_OF_YEAR, {"year": year}, auth())
        [department] = data["departments"]["nodes"]
        assert department["indicatorSystem"]["fields"] == [
            {"path": ["year"], "message": "year must be between 2000 and 2100"}
        ]


CHANGES = """
query ($since: String!) {
  measurementChanges(since: $since, first: 10) {
    __typename
    ... on MeasurementChanges {
      cursor
      nodes { indicatorCode period value deleted department { ... on Department { code } } }
    }
    {problem}
    ... on ValidationFailed { fields { path message } }
  }
}
""".replace("{problem}", PROBLEM)


class TestMeasurements:
    async def test_a_sync_client_follows_the_change_feed(self, stack: Stack) -> None:
        client = stack.client("indicator")
        await published_system(client)
        await factories.create_department(client, code="FGW", category="economic")
        await post_import(client, rows(("ECO.2", "FGW", "2026", 1)))
        first = (await graphql(stack.gateway, CHANGES, {"since": "0"}, auth()))[
            "measurementChanges"
        ]
        assert first["nodes"] == [
            {
                "indicatorCode": "ECO.2",
                "period": "2026",
                "value": 1.0,
                "deleted": False,
                "department": {"code": "FGW"},
            }
        ]
        await post_import(client, rows(("ECO.2", "FGW", "2026", None)), importStrategy="DELETE")
        second = (await graphql(stack.gateway, CHANGES, {"since": first["cursor"]}, auth()))[
            "measurementChanges"
        ]
        assert [(m["indicatorCode"], m["deleted"]) for m in second["nodes"]] == [("ECO.2", True)]
        idle = (await graphql(stack.gateway, CHANGES, {"since": second["cursor"]}, auth()))[
            "measurementChanges"
        ]
        assert idle["nodes"] == []

    async def test_a_cursor_the_feed_did_not_issue_is_the_since_arguments_fault(
        self, stack: Stack
    ) -> None:
        data = await graphql(stack.gateway, CHANGES, {"since": "not-a-cursor"}, auth())
        assert data["measurementChanges"]["fields"] == [
            {"path": ["since"], "message": "since is not a cursor of this feed"}
        ]

    async def test_values_are_listed_by_filter(self, stack: Stack) -> None:
        client = stack.client("indicator")
        await published_system(client)
        await factories.create_department(client, code="FGW", category="economic")
        await post_import(
            client, rows(("ECO.2", "FGW", "2026", 1), ("ECO.1.1", "FGW", "2026Q1", 2))
        )
        query = """
        query ($indicator: String) {
          measurements(indicator: $indicator, first: 10) {
            ... on MeasurementConnection { nodes { indicatorCode value } pageInfo { hasNextPage } }
          }
        }"""
        data = await graphql(stack.gateway, query, {"indicator": "ECO.1.1"}, auth())
        assert data["measurements"] == {
            "nodes": [{"indicatorCode": "ECO.1.1", "value": 2.0}],
            "pageInfo": {"hasNextPage": False},
        }

    async def test_values_need_a_token(self, stack: Stack) -> None:
        data = await graphql(stack.gateway, CHANGES, {"since": "0"})
        assert data["measurementChanges"]["__typename"] == "Forbidden"


IMPORT_JOB = """
query ($id: ID!) {
  importJob(id: $id) {
    __typename
    ... on ImportJob {
      status rowsDone rowsTotal
      summary { status strategy imported conflictsTotal conflicts { row reason } }
    }
    {problem}
  }
}
""".replace("{problem}", PROBLEM)


class TestImportJobs:
    async def test_a_jobs_progress_and_summary(self, stack: Stack) -> None:
        client = stack.client("indicator")
        await published_system(client)
        await factories.create_department(client, code="FGW", category="economic")
        response = await post_import(client, rows(("ECO.2", "FGW", "2026", 1)), **{"async": "true"})
        assert response.status_code == 202, response.text
        job_id = response.headers["location"].rsplit("/", 1)[-1]

        async def finished() -> dict[str, Any] | None:
            job = (await graphql(stack.gateway, IMPORT_JOB, {"id": job_id}, auth()))["importJob"]
            return job if job["status"] in ("SUCCEEDED", "FAILED") else None

        job = await eventually(finished)
        assert job == {
            "__typename": "ImportJob",
            "status": "SUCCEEDED",
            "rowsDone": 1,
            "rowsTotal": 1,
            "summary": {
                "status": "SUCCESS",
                "strategy": "CREATE_AND_UPDATE",
                "imported": 1,
                "conflictsTotal": 0,
                "conflicts": [],
            },
        }

    @pytest.mark.parametrize(
        ("id", "typename"),
        [
            pytest.param("not-an-id", "ValidationFailed", id="malformed"),
            pytest.param(str(uuid.uuid4()), "NotFound", id="unknown"),
        ],
    )
    async def test_a_job_that_cannot_be_found_is_a_typed_problem(
        self, stack: Stack, id: str, typename: str
    ) -> None:
        data = await graphql(stack.gateway, IMPORT_JOB, {"id": id}, auth())
        assert data["importJob"]["__typename"] == typename

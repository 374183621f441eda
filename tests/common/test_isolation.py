"""Jurisdiction isolation, every route of every service, in both directions.

Each jurisdiction owns the same kinds of records. An admin of one must not read the other's
unpublished records (404, as if absent), must not see them in lists, and must not change
them or create records in it (403). Published records stay readable by everyone.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests import factories
from tests.harness import HARBIN, HEIHE, Stack, auth

DIRECTIONS = [
    pytest.param(HEIHE, HARBIN, id="heihe-vs-harbin"),
    pytest.param(HARBIN, HEIHE, id="harbin-vs-heihe"),
]


async def seed_jurisdiction(stack: Stack, jurisdiction: str) -> dict[str, Any]:
    return {
        "department": await factories.create_department(
            stack.client("indicator"), jurisdiction=jurisdiction
        ),
        "cycle": await factories.create_cycle(
            stack.client("evaluation"), jurisdiction=jurisdiction
        ),
        "draft": await factories.create_publication(
            stack.client("disclosure"), jurisdiction=jurisdiction
        ),
        "published": await factories.create_publication(
            stack.client("disclosure"), jurisdiction=jurisdiction, publish=True
        ),
        "feedback": await factories.submit_feedback(
            stack.client("feedback"), jurisdiction=jurisdiction
        ),
    }


@pytest.fixture
async def two_cities(stack: Stack) -> dict[str, dict[str, Any]]:
    return {j: await seed_jurisdiction(stack, j) for j in (HEIHE, HARBIN)}


def reads(other: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("indicator", f"/v1/departments/{other['department']['id']}"),
        ("evaluation", f"/v1/cycles/{other['cycle']['id']}"),
        ("disclosure", f"/v1/publications/{other['draft']['id']}"),
        ("feedback", f"/v1/citizen-feedback/{other['feedback']['id']}"),
    ]


def writes(other: dict[str, Any], jurisdiction: str) -> list[tuple[str, str, str, dict]]:
    return [
        (
            "indicator",
            "POST",
            "/v1/departments",
            {
                "jurisdiction_code": jurisdiction,
                "code": "NEW",
                "name_zh": "新局",
                "category": "economic",
            },
        ),
        ("indicator", "PATCH", f"/v1/departments/{other['department']['id']}", {"name_zh": "改名"}),
        (
            "evaluation",
            "POST",
            "/v1/cycles",
            {"jurisdiction_code": jurisdiction, "code": "X", "name": "x", "period": "2026"},
        ),
        ("evaluation", "PATCH", f"/v1/cycles/{other['cycle']['id']}", {"status": "open"}),
        (
            "disclosure",
            "POST",
            "/v1/publications",
            {"jurisdiction_code": jurisdiction, "kind": "notice", "title": "t"},
        ),
        ("disclosure", "PATCH", f"/v1/publications/{other['draft']['id']}", {"title": "t"}),
        ("disclosure", "POST", f"/v1/publications/{other['draft']['id']}/publish", {}),
        (
            "disclosure",
            "POST",
            f"/v1/publications/{other['published']['id']}/retract",
            {"reason": "r"},
        ),
        (
            "feedback",
            "POST",
            f"/v1/citizen-feedback/{other['feedback']['id']}/answer",
            {"answer": "a"},
        ),
    ]


LISTS = [
    ("indicator", "/v1/departments"),
    ("evaluation", "/v1/cycles"),
    ("disclosure", "/v1/publications"),
    ("feedback", "/v1/citizen-feedback"),
    ("indicator", "/v1/audit"),
    ("evaluation", "/v1/audit"),
    ("disclosure", "/v1/audit"),
    ("feedback", "/v1/audit"),
]


@pytest.mark.parametrize(("mine", "theirs"), DIRECTIONS)
class TestCrossJurisdiction:
    async def test_reading_their_unpublished_records_is_404(
        self, stack: Stack, two_cities: dict, mine: str, theirs: str
    ) -> None:
        for service, path in reads(two_cities[theirs]):
            for role in ("admin", "department", "evaluator"):
                response = await stack.client(service).get(
                    path, headers=auth(role, jurisdictions=(mine,))
                )
                expected = 403 if service == "feedback" and role != "admin" else 404
                assert response.status_code == expected, (service, path, role, response.text)

    async def test_their_own_records_remain_readable_to_them(
        self, stack: Stack, two_cities: dict, mine: str, theirs: str
    ) -> None:
        for service, path in reads(two_cities[theirs]):
            response = await stack.client(service).get(path, headers=auth(jurisdictions=(theirs,)))
            assert response.status_code == 200, (service, path, response.text)

    async def test_lists_show_nothing_of_theirs_but_published(
        self, stack: Stack, two_cities: dict, mine: str, theirs: str
    ) -> None:
        for service, path in LISTS:
            response = await stack.client(service).get(path, headers=auth(jurisdictions=(mine,)))
            assert response.status_code == 200, response.text
            items = response.json()["items"]
            assert items, (service, path)
            foreign = [i for i in items if i["jurisdiction_code"] == theirs]
            if path == "/v1/publications":
                assert [i["id"] for i in foreign] == [two_cities[theirs]["published"]["id"]]
            else:
                assert foreign == [], (service, path)

    async def test_asking_a_list_for_their_jurisdiction_returns_nothing_unpublished(
        self, stack: Stack, two_cities: dict, mine: str, theirs: str
    ) -> None:
        for service, path in LISTS:
            response = await stack.client(service).get(
                path, params={"jurisdiction": theirs}, headers=auth(jurisdictions=(mine,))
            )
            items = response.json()["items"]
            assert all(i.get("status") == "published" for i in items), (service, path)

    async def test_writing_into_their_jurisdiction_is_403_and_changes_nothing(
        self, stack: Stack, two_cities: dict, mine: str, theirs: str
    ) -> None:
        for service, method, path, body in writes(two_cities[theirs], theirs):
            response = await stack.client(service).request(
                method, path, json=body, headers=auth(jurisdictions=(mine,))
            )
            assert response.status_code == 403, (service, method, path, response.text)
            assert response.json()["code"] == "forbidden"
        for service, path in reads(two_cities[theirs]):
            after = await stack.client(service).get(path, headers=auth(jurisdictions=(theirs,)))
            key = {
                "indicator": "department",
                "evaluation": "cycle",
                "disclosure": "draft",
                "feedback": "feedback",
            }[service]
            assert after.json() == two_cities[theirs][key], (service, path)

    async def test_their_published_record_is_readable_by_anyone(
        self, stack: Stack, two_cities: dict, mine: str, theirs: str
    ) -> None:
        path = f"/v1/publications/{two_cities[theirs]['published']['id']}"
        for headers in ({}, auth(jurisdictions=(mine,))):
            response = await stack.client("disclosure").get(path, headers=headers)
            assert response.status_code == 200
            assert response.json()["status"] == "published"


class TestProvincialAdmin:
    async def test_an_admin_of_both_jurisdictions_reaches_both(
        self, stack: Stack, two_cities: dict
    ) -> None:
        both = auth(jurisdictions=(HEIHE, HARBIN))
        listing = await stack.client("indicator").get("/v1/departments", headers=both)
        assert {d["jurisdiction_code"] for d in listing.json()["items"]} == {HEIHE, HARBIN}
        for jurisdiction in (HEIHE, HARBIN):
            department = two_cities[jurisdiction]["department"]
            response = await stack.client("indicator").patch(
                f"/v1/departments/{department['id']}", json={"name_en": "renamed"}, headers=both
            )
            assert response.status_code == 200

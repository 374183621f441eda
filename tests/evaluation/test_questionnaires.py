"""Questionnaires: versions of a code, drafts for the office only, published versions
readable by the citizen apps and never changed, closed versions taking no more answers."""

from __future__ import annotations

from typing import Any

import pytest

from tests import factories
from tests.harness import HARBIN, HEIHE, Stack, auth


def path(questionnaire: dict[str, Any], action: str = "") -> str:
    return f"/v1/questionnaires/{questionnaire['id']}" + (f"/{action}" if action else "")


class TestLifecycle:
    async def test_a_draft_is_the_offices_until_published(self, stack: Stack) -> None:
        client = stack.client("evaluation")
        draft = await factories.create_questionnaire(client)
        assert (draft["version"], draft["status"]) == (1, "draft")
        assert (draft["scale_min"], draft["scale_max"], draft["top_box"]) == (1, 5, 3)
        assert draft["allow_dont_know"] is True and draft["free_text_max"] == 500
        app = auth("citizen_app")
        assert (await client.get(path(draft), headers=app)).status_code == 404
        assert (await client.get("/v1/questionnaires", headers=app)).json()["items"] == []
        published = await client.post(path(draft, "publish"), headers=auth())
        assert published.status_code == 200 and published.json()["published_at"]
        for headers in ({}, app, auth("portal", jurisdictions=(HARBIN,))):
            shown = await client.get(path(draft), headers=headers)
            assert shown.status_code == 200 and shown.json()["status"] == "published"
            listed = await client.get("/v1/questionnaires", headers=headers)
            assert [q["id"] for q in listed.json()["items"]] == [draft["id"]]

    async def test_a_published_version_never_changes(self, stack: Stack) -> None:
        client = stack.client("evaluation")
        published = await factories.create_questionnaire(client, publish=True)
        response = await client.patch(path(published), json={"title_zh": "改"}, headers=auth())
        assert response.status_code == 409 and response.json()["code"] == "questionnaire-published"
        again = await client.post(path(published, "publish"), headers=auth())
        assert again.status_code == 409

    async def test_a_new_version_of_the_same_code(self, stack: Stack) -> None:
        client = stack.client("evaluation")
        first = await factories.create_questionnaire(client, publish=True)
        second = await factories.create_questionnaire(client, title_zh="第二版")
        assert (second["code"], second["version"], second["status"]) == (
            first["code"],
            2,
            "draft",
        )
        third = await client.post(
            "/v1/questionnaires", json=factories.questionnaire_body(), headers=auth()
        )
        assert third.status_code == 409 and third.json()["code"] == "questionnaire-draft-exists"
        elsewhere = await factories.create_questionnaire(client, jurisdiction=HARBIN)
        assert elsewhere["version"] == 1
        versions = await client.get(
            "/v1/questionnaires", params={"code": first["code"]}, headers=auth()
        )
        assert sorted(q["version"] for q in versions.json()["items"]) == [1, 2]

    async def test_closing_ends_a_published_version(self, stack: Stack) -> None:
        client = stack.client("evaluation")
        draft = await factories.create_questionnaire(client)
        early = await client.post(path(draft, "close"), headers=auth())
        assert early.status_code == 409 and early.json()["code"] == "questionnaire-not-published"
        await client.post(path(draft, "publish"), headers=auth())
        closed = await client.post(path(draft, "close"), headers=auth())
        assert closed.status_code == 200
        assert closed.json()["status"] == "closed" and closed.json()["closed_at"]
        edit = await client.patch(path(draft), json={"title_zh": "改"}, headers=auth())
        assert edit.status_code == 409 and edit.json()["code"] == "questionnaire-closed"
        # Still readable: what the answers were given to.
        assert (await client.get(path(draft))).json()["status"] == "closed"

    async def test_every_step_is_audited(self, stack: Stack) -> None:
        client = stack.client("evaluation")
        draft = await factories.create_questionnaire(client)
        await client.patch(path(draft), json={"title_zh": "新标题"}, headers=auth())
        await client.post(path(draft, "publish"), headers=auth())
        await client.post(path(draft, "close"), headers=auth())
        trail = await client.get("/v1/audit", params={"resource_id": draft["id"]}, headers=auth())
        entries = {e["action"]: e for e in trail.json()["items"]}
        assert set(entries) == {
            "questionnaire.created",
            "questionnaire.updated",
            "questionnaire.published",
            "questionnaire.closed",
        }
        assert entries["questionnaire.updated"]["before"]["title_zh"] == "群众满意度调查"
        assert entries["questionnaire.updated"]["after"]["title_zh"] == "新标题"


class TestContent:
    @pytest.mark.parametrize(
        "fields",
        [
            pytest.param({"scale_min": 5, "scale_max": 5}, id="scale-without-range"),
            pytest.param({"scale_min": 0, "scale_max": 11}, id="scale-of-12-points"),
            pytest.param({"top_box": 6}, id="top-box-beyond-the-scale"),
            pytest.param({"top_box": 0}, id="top-box-0"),
            pytest.param({"free_text_max": 2001}, id="free-text-over-2000"),
            pytest.param(
                {"items": [{"code": "Q1", "dimension": "nowhere", "text_zh": "?"}]},
                id="item-of-an-undeclared-dimension",
            ),
            pytest.param(
                {
                    "items": [
                        {"code": "Q1", "dimension": "service", "text_zh": "?"},
                        {"code": "Q1", "dimension": "efficiency", "text_zh": "?"},
                    ]
                },
                id="duplicate-item-codes",
            ),
            pytest.param(
                {"items": [{"code": "Q1", "dimension": "service", "text_zh": "?"}]},
                id="dimension-without-items",
            ),
            pytest.param(
                {
                    "items": [
                        {"code": f"Q{i}", "dimension": "service", "text_zh": "?"}
                        for i in range(101)
                    ]
                },
                id="101-items",
            ),
            pytest.param({"items": []}, id="no-items"),
            pytest.param({"version": 3}, id="a-version-is-not-chosen"),
        ],
    )
    async def test_an_unusable_questionnaire_is_422(
        self, stack: Stack, fields: dict[str, Any]
    ) -> None:
        response = await stack.client("evaluation").post(
            "/v1/questionnaires", json=factories.questionnaire_body(**fields), headers=auth()
        )
        assert response.status_code == 422, response.text

    async def test_a_change_is_checked_with_the_rest(self, stack: Stack) -> None:
        client = stack.client("evaluation")
        draft = await factories.create_questionnaire(client)
        narrow = await client.patch(
            path(draft), json={"scale_min": 1, "scale_max": 2}, headers=auth()
        )
        assert narrow.status_code == 422 and narrow.json()["code"] == "invalid-questionnaire"
        wide = await client.patch(
            path(draft), json={"scale_min": 0, "scale_max": 10, "top_box": 2}, headers=auth()
        )
        assert wide.status_code == 200, wide.text
        assert (wide.json()["scale_min"], wide.json()["scale_max"]) == (0, 10)
        null = await client.patch(path(draft), json={"items": None}, headers=auth())
        assert null.status_code == 422 and null.json()["code"] == "null-not-allowed"


class TestIsolation:
    async def test_another_jurisdiction_neither_reads_drafts_nor_changes_anything(
        self, stack: Stack
    ) -> None:
        client = stack.client("evaluation")
        draft = await factories.create_questionnaire(client)
        published = await factories.create_questionnaire(client, code="other", publish=True)
        harbin = auth(jurisdictions=(HARBIN,))
        assert (await client.get(path(draft), headers=harbin)).status_code == 404
        listed = await client.get("/v1/questionnaires", headers=harbin)
        assert [q["id"] for q in listed.json()["items"]] == [published["id"]]
        for method, target in (
            ("PATCH", path(draft)),
            ("POST", path(draft, "publish")),
            ("POST", path(published, "close")),
        ):
            body = {"title_zh": "改"} if method == "PATCH" else None
            response = await client.request(method, target, json=body, headers=harbin)
            assert response.status_code == 404, (method, target)
        created = await client.post(
            "/v1/questionnaires",
            json=factories.questionnaire_body(jurisdiction=HEIHE),
            headers=harbin,
        )
        assert created.status_code == 403

    async def test_other_roles_do_not_write(self, stack: Stack) -> None:
        client = stack.client("evaluation")
        draft = await factories.create_questionnaire(client)
        response = await client.post(path(draft, "publish"), headers=auth("citizen_app"))
        assert response.status_code == 403

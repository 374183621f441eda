"""The publication workflow: draft → approved → scheduled/published → retracted, who may
make each move, and versions (an edit of a published publication drafts the next one)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from services.disclosure.models import COMMON
from tests import factories
from tests.harness import HARBIN, Stack, auth

EDITOR = auth(subject="editor-a")
APPROVER = auth(subject="approver-b")


async def emitted(stack: Stack, event_type: str) -> list[dict[str, Any]]:
    async with stack.apps["disclosure"].state.db.session(read_only=True) as session:
        bodies = (
            await session.scalars(
                select(COMMON.outbox.body)
                .where(COMMON.outbox.type == event_type)
                .order_by(COMMON.outbox.seq)
            )
        ).all()
    return [json.loads(body)["data"] for body in bodies]


class TestApproval:
    async def test_the_editor_cannot_approve_its_own_draft(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        draft = await factories.draft_publication(client, editor="editor-a")
        response = await client.post(f"/v1/publications/{draft['id']}/approve", headers=EDITOR)
        assert response.status_code == 403
        assert response.json()["code"] == "approver-is-editor"
        assert (await client.get(f"/v1/publications/{draft['id']}", headers=EDITOR)).json()[
            "status"
        ] == "draft"

    async def test_another_admin_approves_and_is_recorded(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        draft = await factories.draft_publication(client, editor="editor-a")
        assert draft["editor"] == "editor-a" and draft["version"] == 0
        response = await client.post(f"/v1/publications/{draft['id']}/approve", headers=APPROVER)
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["status"], body["approved_by"]) == ("approved", "approver-b")
        assert body["approved_at"]
        again = await client.post(f"/v1/publications/{draft['id']}/approve", headers=APPROVER)
        assert again.status_code == 409 and again.json()["code"] == "publication-not-draft"

    async def test_a_kind_that_needs_approval_is_not_published_unapproved(
        self, stack: Stack
    ) -> None:
        client = stack.client("disclosure")
        draft = await factories.draft_publication(client, kind="notice")
        response = await client.post(f"/v1/publications/{draft['id']}/publish", headers=EDITOR)
        assert response.status_code == 409 and response.json()["code"] == "approval-required"
        assert (await client.get(f"/v1/publications/{draft['id']}")).status_code == 404

    async def test_a_kind_published_at_once_needs_no_approver(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        draft = await factories.draft_publication(client, kind="plan", title="考评方案")
        response = await client.post(f"/v1/publications/{draft['id']}/publish", headers=EDITOR)
        assert response.status_code == 200, response.text
        assert (response.json()["status"], response.json()["version"]) == ("published", 1)

    async def test_the_policy_is_a_setting(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        settings = stack.apps["disclosure"].state.settings
        settings.publish_policy = {"plan": "approval"}
        try:
            draft = await factories.draft_publication(client, kind="plan")
            response = await client.post(f"/v1/publications/{draft['id']}/publish", headers=EDITOR)
        finally:
            settings.publish_policy = {}
        assert response.status_code == 409 and response.json()["code"] == "approval-required"

    async def test_only_the_office_of_the_jurisdiction_moves_a_draft(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        draft = await factories.draft_publication(client)
        path = f"/v1/publications/{draft['id']}"
        for headers in (
            auth("department"),
            auth("portal"),
            auth(subject="harbin", jurisdictions=(HARBIN,)),
            {},
        ):
            for action in ("approve", "publish", "retract"):
                body = {"reason": "r"} if action == "retract" else None
                response = await client.post(f"{path}/{action}", headers=headers, json=body)
                assert response.status_code in (401, 403, 404), (headers, action)
        office = await client.get(path, headers=EDITOR)
        assert office.json()["status"] == "draft"


class TestPublishing:
    async def test_publishing_freezes_a_version_records_it_and_emits_it(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        approved = await factories.approved_publication(
            client,
            title="申诉处理结果公告",
            title_en="Appeal decisions",
            summary="摘要",
            data={"count": 3},
            attachments=[{"title": "全文", "url": "https://example.org/a.pdf"}],
        )
        response = await client.post(f"/v1/publications/{approved['id']}/publish", headers=APPROVER)
        assert response.status_code == 200, response.text
        assert (response.json()["status"], response.json()["version"]) == ("published", 1)
        [version] = (await client.get(f"/v1/publications/{approved['id']}/versions")).json()[
            "items"
        ]
        assert version["version"] == 1 and version["supersedes"] is None
        assert version["title_en"] == "Appeal decisions" and version["data"] == {"count": 3}
        assert version["attachments"][0]["url"] == "https://example.org/a.pdf"
        assert version["ledger_seq"] == 1
        [entry] = (await client.get("/v1/ledger")).json()["items"]
        assert (entry["publication_id"], entry["version"], entry["action"]) == (
            approved["id"],
            1,
            "published",
        )
        [event] = await emitted(stack, "publication.published")
        assert event["publication_version"] == 1 and event["kind"] == "notice"
        assert event["ledger_seq"] == 1

    async def test_nothing_new_to_publish_is_a_conflict(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        item = await factories.approved_publication(client, publish=True)
        again = await client.post(f"/v1/publications/{item['id']}/publish", headers=APPROVER)
        assert again.status_code == 409 and again.json()["code"] == "nothing-to-publish"


class TestVersions:
    async def test_an_edit_drafts_the_next_version_and_the_published_one_stays(
        self, stack: Stack
    ) -> None:
        client = stack.client("disclosure")
        item = await factories.approved_publication(client, title="第一版", publish=True)
        path = f"/v1/publications/{item['id']}"
        edit = await client.patch(path, json={"title": "第二版"}, headers=EDITOR)
        assert edit.status_code == 200, edit.text
        assert (edit.json()["status"], edit.json()["version"]) == ("draft", 1)
        public = (await client.get(path)).json()
        assert (public["title"], public["status"], public["version"]) == ("第一版", "published", 1)
        # The edit is the editor's: approving it takes another admin again.
        mine = await client.post(f"{path}/approve", headers=EDITOR)
        assert mine.status_code == 403
        await client.post(f"{path}/approve", headers=APPROVER)
        published = await client.post(f"{path}/publish", headers=APPROVER)
        assert published.json()["version"] == 2
        public = (await client.get(path)).json()
        assert (public["title"], public["version"]) == ("第二版", 2)
        history = (await client.get(f"{path}/versions")).json()["items"]
        assert [(v["version"], v["title"], v["supersedes"]) for v in history] == [
            (1, "第一版", None),
            (2, "第二版", 1),
        ]
        first = (await client.get(f"{path}/versions/1")).json()
        assert first["title"] == "第一版" and first["status"] == "published"
        events = await emitted(stack, "publication.published")
        assert [(e["publication_version"], e["supersedes"]) for e in events] == [(1, None), (2, 1)]

    async def test_history_pages_in_order(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        item = await factories.draft_publication(client, kind="plan", title="v1")
        path = f"/v1/publications/{item['id']}"
        for n in range(1, 4):
            await client.patch(path, json={"title": f"v{n}"}, headers=EDITOR)
            assert (await client.post(f"{path}/publish", headers=EDITOR)).status_code == 200
        first = (await client.get(f"{path}/versions", params={"limit": 2})).json()
        second = (
            await client.get(
                f"{path}/versions", params={"limit": 2, "cursor": first["next_cursor"]}
            )
        ).json()
        assert [v["version"] for v in first["items"] + second["items"]] == [1, 2, 3]
        assert second["next_cursor"] is None

    async def test_the_history_is_cacheable_and_revalidates(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        item = await factories.draft_publication(client, kind="plan", title="v1")
        path = f"/v1/publications/{item['id']}"
        await client.post(f"{path}/publish", headers=EDITOR)
        first = await client.get(f"{path}/versions")
        assert first.headers["cache-control"].startswith("public")
        etag = first.headers["etag"]
        same = await client.get(f"{path}/versions", headers={"if-none-match": etag})
        assert same.status_code == 304
        await client.patch(path, json={"title": "v2"}, headers=EDITOR)
        # A pending draft changes nothing public.
        assert (
            await client.get(f"{path}/versions", headers={"if-none-match": etag})
        ).status_code == 304
        await client.post(f"{path}/publish", headers=EDITOR)
        changed = await client.get(f"{path}/versions", headers={"if-none-match": etag})
        assert changed.status_code == 200 and len(changed.json()["items"]) == 2

    async def test_a_draft_has_no_public_history(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        draft = await factories.draft_publication(client)
        assert (await client.get(f"/v1/publications/{draft['id']}/versions")).status_code == 404
        item = await factories.approved_publication(client, publish=True)
        missing = await client.get(f"/v1/publications/{item['id']}/versions/2")
        assert missing.status_code == 404 and missing.json()["code"] == "version-not-found"


class TestRetraction:
    async def test_retraction_withdraws_the_content_and_keeps_the_record(
        self, stack: Stack
    ) -> None:
        client = stack.client("disclosure")
        item = await factories.approved_publication(
            client, title="公告", body="正文内容", data={"n": 1}, publish=True
        )
        path = f"/v1/publications/{item['id']}"
        response = await client.post(f"{path}/retract", json={"reason": "数据有误"}, headers=EDITOR)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "retracted"
        public = (await client.get(path)).json()
        assert (public["status"], public["retraction_reason"], public["title"]) == (
            "retracted",
            "数据有误",
            "公告",
        )
        assert public["body"] == "" and public["data"] is None
        [version] = (await client.get(f"{path}/versions")).json()["items"]
        assert version["status"] == "retracted" and version["body"] == ""
        actions = [e["action"] for e in (await client.get("/v1/ledger")).json()["items"]]
        assert actions == ["published", "retracted"]
        [event] = await emitted(stack, "publication.retracted")
        assert event["status"] == "retracted" and event["retraction_reason"] == "数据有误"
        again = await client.post(f"{path}/retract", json={"reason": "再次"}, headers=EDITOR)
        assert again.status_code == 409 and again.json()["code"] == "publication-not-published"
        listed = (await client.get("/v1/publications", params={"status": "retracted"})).json()
        assert [p["id"] for p in listed["items"]] == [item["id"]]
        assert (await client.get("/v1/publications", params={"status": "published"})).json()[
            "items"
        ] == []

    async def test_retracting_while_the_next_version_is_drafted_keeps_the_draft(
        self, stack: Stack
    ) -> None:
        client = stack.client("disclosure")
        item = await factories.draft_publication(client, kind="plan", title="已发布")
        path = f"/v1/publications/{item['id']}"
        await client.post(f"{path}/publish", headers=EDITOR)
        await client.patch(path, json={"title": "修改中"}, headers=EDITOR)
        response = await client.post(f"{path}/retract", json={"reason": "撤回"}, headers=EDITOR)
        assert response.status_code == 200, response.text
        office = response.json()
        assert (office["status"], office["title"], office["version"]) == ("draft", "修改中", 1)
        public = (await client.get(path)).json()
        assert (public["status"], public["title"], public["body"]) == ("retracted", "已发布", "")

    async def test_a_draft_cannot_be_retracted(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        draft = await factories.draft_publication(client)
        response = await client.post(
            f"/v1/publications/{draft['id']}/retract", json={"reason": "r"}, headers=EDITOR
        )
        assert response.status_code == 409
        assert response.json()["code"] == "publication-not-published"

    async def test_a_retracted_publication_can_be_corrected_in_a_new_version(
        self, stack: Stack
    ) -> None:
        client = stack.client("disclosure")
        item = await factories.draft_publication(client, kind="plan", title="错误版")
        path = f"/v1/publications/{item['id']}"
        await client.post(f"{path}/publish", headers=EDITOR)
        await client.post(f"{path}/retract", json={"reason": "有误"}, headers=EDITOR)
        await client.patch(path, json={"title": "更正版"}, headers=EDITOR)
        republished = await client.post(f"{path}/publish", headers=EDITOR)
        assert republished.json()["version"] == 2
        public = (await client.get(path)).json()
        assert (public["status"], public["title"], public["version"]) == ("published", "更正版", 2)
        history = (await client.get(f"{path}/versions")).json()["items"]
        assert [v["status"] for v in history] == ["retracted", "published"]


class TestAudit:
    async def test_every_move_is_audited(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        item = await factories.approved_publication(client, publish=True)
        await client.post(
            f"/v1/publications/{item['id']}/retract", json={"reason": "r"}, headers=EDITOR
        )
        audit = (await client.get("/v1/audit", headers=auth(), params={"limit": 50})).json()
        actions = [(e["action"], e["actor"]) for e in audit["items"]]
        assert ("publication.created", "editor-a") in actions
        assert ("publication.approved", "approver-b") in actions
        assert ("publication.published", "approver-b") in actions
        assert ("publication.retracted", "editor-a") in actions

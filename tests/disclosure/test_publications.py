from __future__ import annotations

from tests import factories
from tests.harness import Stack, auth


class TestPublicReads:
    async def test_the_public_sees_published_items_only(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        draft = await factories.create_publication(client, title="草稿")
        published = await factories.create_publication(client, title="方案", publish=True)
        public = await client.get("/v1/publications")
        assert [p["id"] for p in public.json()["items"]] == [published["id"]]
        assert (await client.get(f"/v1/publications/{draft['id']}")).status_code == 404
        office = await client.get("/v1/publications", headers=auth())
        assert [p["id"] for p in office.json()["items"]] == [draft["id"], published["id"]]

    async def test_public_reads_are_cacheable_and_revalidate(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        await factories.create_publication(client, publish=True)
        first = await client.get("/v1/publications")
        assert first.headers["cache-control"].startswith("public")
        etag = first.headers["etag"]
        unchanged = await client.get("/v1/publications", headers={"if-none-match": etag})
        assert unchanged.status_code == 304 and unchanged.content == b""
        await factories.create_publication(client, title="第二份", publish=True)
        changed = await client.get("/v1/publications", headers={"if-none-match": etag})
        assert changed.status_code == 200 and changed.headers["etag"] != etag

    async def test_signed_in_reads_are_private(self, stack: Stack) -> None:
        response = await stack.client("disclosure").get("/v1/publications", headers=auth())
        assert response.headers["cache-control"] == "private, no-cache"


class TestPublishing:
    async def test_published_items_are_immutable_and_can_be_retracted(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        item = await factories.create_publication(client, publish=True)
        assert item["status"] == "published" and item["published_at"]
        edit = await client.patch(
            f"/v1/publications/{item['id']}", json={"title": "改"}, headers=auth()
        )
        assert edit.status_code == 409 and edit.json()["code"] == "publication-not-draft"
        again = await client.post(f"/v1/publications/{item['id']}/publish", headers=auth())
        assert again.status_code == 409
        retracted = await client.post(
            f"/v1/publications/{item['id']}/retract", json={"reason": "数据有误"}, headers=auth()
        )
        assert retracted.json()["status"] == "retracted"
        assert retracted.json()["retraction_reason"] == "数据有误"
        assert (await client.get(f"/v1/publications/{item['id']}")).status_code == 404

    async def test_a_draft_cannot_be_retracted(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        draft = await factories.create_publication(client)
        response = await client.post(
            f"/v1/publications/{draft['id']}/retract", json={"reason": "r"}, headers=auth()
        )
        assert response.status_code == 409
        assert response.json()["code"] == "publication-not-published"

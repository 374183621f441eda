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

    async def test_a_retraction_is_seen_at_once_by_a_public_list_read_before(
        self, stack: Stack
    ) -> None:
        """The public list's answers are kept by the published state: a retraction moves it."""
        client = stack.client("disclosure")
        published = await factories.create_publication(client, publish=True)
        first = await client.get("/v1/publications")
        assert first.json()["items"][0]["status"] == "published"
        retracted = await client.post(
            f"/v1/publications/{published['id']}/retract",
            json={"reason": "数据有误"},
            headers=auth(),
        )
        assert retracted.status_code == 200, retracted.text
        again = await client.get(
            "/v1/publications", headers={"if-none-match": first.headers["etag"]}
        )
        assert again.status_code == 200
        assert [p["status"] for p in again.json()["items"]] == ["retracted"]

    async def test_signed_in_reads_are_private(self, stack: Stack) -> None:
        response = await stack.client("disclosure").get("/v1/publications", headers=auth())
        assert response.headers["cache-control"] == "private, no-cache"


class TestPublishing:
    async def test_a_published_item_is_edited_into_its_next_version(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        item = await factories.create_publication(client, publish=True)
        assert (item["status"], item["version"]) == ("published", 1) and item["published_at"]
        edit = await client.patch(
            f"/v1/publications/{item['id']}", json={"title": "改"}, headers=auth()
        )
        assert (edit.json()["status"], edit.json()["version"]) == ("draft", 1)
        assert (await client.get(f"/v1/publications/{item['id']}")).json()["title"] == "考评方案"

    async def test_a_retraction_stays_visible_without_its_content(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        item = await factories.create_publication(client, publish=True)
        retracted = await client.post(
            f"/v1/publications/{item['id']}/retract", json={"reason": "数据有误"}, headers=auth()
        )
        assert retracted.json()["status"] == "retracted"
        public = (await client.get(f"/v1/publications/{item['id']}")).json()
        assert (public["status"], public["retraction_reason"], public["body"]) == (
            "retracted",
            "数据有误",
            "",
        )

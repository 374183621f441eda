from __future__ import annotations

from tests import factories
from tests.harness import Stack, auth


class TestCursorPagination:
    async def test_pages_cover_everything_once_in_creation_order(self, stack: Stack) -> None:
        client = stack.client("indicator")
        created = [
            (await factories.create_department(client, code=f"D{i}"))["id"] for i in range(5)
        ]
        seen, cursor, pages = [], None, 0
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/v1/departments", params=params, headers=auth())).json()
            seen += [d["id"] for d in page["items"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == created
        assert pages == 3

    async def test_a_cursor_not_issued_by_the_api_is_422(self, stack: Stack) -> None:
        response = await stack.client("indicator").get(
            "/v1/departments", params={"cursor": "not-a-cursor"}, headers=auth()
        )
        assert response.status_code == 422
        assert response.json()["code"] == "invalid-cursor"

    async def test_limit_is_bounded(self, stack: Stack) -> None:
        client = stack.client("evaluation")
        for limit in (0, 201):
            response = await client.get("/v1/cycles", params={"limit": limit}, headers=auth())
            assert response.status_code == 422
            assert response.json()["errors"][0]["location"] == ["query", "limit"]

"""The public read API: search, a department's history, caching, pagination, rate limits."""

from __future__ import annotations

import uuid
from datetime import timedelta

from services.common.db import utcnow
from services.disclosure.public.settings import PublicSettings
from tests.disclosure import published
from tests.harness import HARBIN, Stack, auth


class TestSearch:
    async def test_filters_by_kind_jurisdiction_cycle_department_and_period(
        self, stack: Stack
    ) -> None:
        client = stack.client("disclosure")
        cycle = uuid.uuid4()
        dept = uuid.uuid4()
        results = await published.publish_version(
            stack, data=published.results_data(cycle, []), title="经济类考评结果"
        )
        mine = await published.publish_version(
            stack,
            kind="department_result",
            title="财政局考评结果",
            department_id=dept,
            department_code="FIN",
            data={"cycle_id": str(cycle), "period": "2026", "category": "economic"},
        )
        harbin = await published.publish_version(
            stack, jurisdiction=HARBIN, kind="notice", title="哈尔滨公告", period="2025"
        )

        async def ids(**params: str) -> list[str]:
            response = await client.get("/v1/search/publications", params=params)
            assert response.status_code == 200, response.text
            return [item["publication_id"] for item in response.json()["items"]]

        every = [str(v.publication_id) for v in (harbin, mine, results)]
        assert await ids() == every  # newest first
        assert await ids(kind="results") == [str(results.publication_id)]
        assert await ids(jurisdiction=HARBIN) == [str(harbin.publication_id)]
        assert await ids(cycle_id=str(cycle)) == every[1:]
        assert await ids(department_id=str(dept)) == [str(mine.publication_id)]
        assert await ids(department_code="FIN") == [str(mine.publication_id)]
        assert await ids(period="2025") == [str(harbin.publication_id)]
        assert await ids(period="2026", kind="department_result") == [str(mine.publication_id)]

    async def test_text_is_found_in_titles_and_summaries(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        by_title = await published.publish_version(stack, kind="notice", title="整改工作通报")
        by_summary = await published.publish_version(
            stack, kind="notice", title="通知", summary="关于营商环境整改的说明"
        )
        by_english = await published.publish_version(
            stack, kind="notice", title="公告", title_en="Rectification Notice"
        )
        await published.publish_version(stack, kind="notice", title="无关")
        found = await client.get("/v1/search/publications", params={"q": "整改"})
        assert {i["publication_id"] for i in found.json()["items"]} == {
            str(by_title.publication_id),
            str(by_summary.publication_id),
        }
        english = await client.get("/v1/search/publications", params={"q": "rectification"})
        assert [i["publication_id"] for i in english.json()["items"]] == [
            str(by_english.publication_id)
        ]
        wildcard = await client.get("/v1/search/publications", params={"q": "%"})
        assert wildcard.json()["items"] == []

    async def test_published_date_range(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        now = utcnow()
        old = await published.publish_version(
            stack, kind="notice", published_at=now - timedelta(days=40)
        )
        recent = await published.publish_version(
            stack, kind="notice", published_at=now - timedelta(days=2)
        )
        since = (now - timedelta(days=10)).isoformat()
        response = await client.get("/v1/search/publications", params={"published_from": since})
        assert [i["publication_id"] for i in response.json()["items"]] == [
            str(recent.publication_id)
        ]
        until = await client.get("/v1/search/publications", params={"published_to": since})
        assert [i["publication_id"] for i in until.json()["items"]] == [str(old.publication_id)]
        backwards = await client.get(
            "/v1/search/publications",
            params={"published_from": now.isoformat(), "published_to": since},
        )
        assert backwards.status_code == 422
        assert backwards.json()["code"] == "invalid-date-range"

    async def test_each_publication_appears_once_at_its_latest_version(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        cycle = uuid.uuid4()
        first = await published.publish_version(
            stack, data=published.results_data(cycle, [], status="preliminary")
        )
        await published.publish_version(
            stack,
            publication_id=first.publication_id,
            data=published.results_data(cycle, [], status="finalized", result_version=2),
        )
        items = (await client.get("/v1/search/publications")).json()["items"]
        assert len(items) == 1
        assert items[0]["version"] == 2 and items[0]["supersedes"] == 1
        # A search lists; the content itself is the publication's to give.
        assert "data" not in items[0] and "body" not in items[0]

    async def test_a_retraction_stays_visible_with_its_reason_and_no_content(
        self, stack: Stack
    ) -> None:
        client = stack.client("disclosure")
        await published.publish_version(
            stack,
            kind="notice",
            title="有误的公告",
            summary="这段内容已撤回",
            body="正文",
            retracted="数据口径有误",
        )
        (item,) = (await client.get("/v1/search/publications")).json()["items"]
        assert item["title"] == "有误的公告" and item["withdrawn"] is True
        assert item["retraction_reason"] == "数据口径有误" and item["retracted_at"]
        assert item["summary"] is None and item["status"] == "retracted"
        # Withdrawn text is not searchable either.
        hidden = await client.get("/v1/search/publications", params={"q": "这段内容"})
        assert hidden.json()["items"] == []

    async def test_drafts_never_appear(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        response = await client.post(
            "/v1/publications",
            headers=auth(),
            json={"jurisdiction_code": "231100", "kind": "notice", "title": "草稿公告"},
        )
        assert response.status_code == 201, response.text
        for headers in ({}, auth()):
            found = await client.get("/v1/search/publications", headers=headers)
            assert found.json()["items"] == []

    async def test_bad_filters_are_422_not_500(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        for params in (
            {"kind": "secret"},
            {"cycle_id": "nope"},
            {"jurisdiction": "12"},
            {"cursor": "garbage"},
            {"published_from": "yesterday"},
        ):
            response = await client.get("/v1/search/publications", params=params)
            assert response.status_code == 422, params


class TestPaginationAndCaching:
    async def test_pages_are_stable_while_new_items_are_published(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        made = [
            await published.publish_version(stack, kind="notice", title=f"公告{i}")
            for i in range(5)
        ]
        first = (await client.get("/v1/search/publications", params={"limit": 2})).json()
        assert [i["title"] for i in first["items"]] == ["公告4", "公告3"]
        await published.publish_version(stack, kind="notice", title="新公告")
        seen = [i["title"] for i in first["items"]]
        cursor = first["next_cursor"]
        while cursor:
            page = (
                await client.get("/v1/search/publications", params={"limit": 2, "cursor": cursor})
            ).json()
            seen += [i["title"] for i in page["items"]]
            cursor = page["next_cursor"]
        assert seen == [f"公告{i}" for i in reversed(range(5))]
        assert len(made) == 5

    async def test_every_public_read_revalidates_with_its_etag(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        cycle = uuid.uuid4()
        dept = uuid.uuid4()
        await published.known_cycle(stack, cycle_id=cycle)
        await published.publish_version(
            stack,
            data=published.results_data(
                cycle,
                [
                    published.department(
                        "财政局", 90, 1, indicators=[published.indicator("E1", 9, 8)]
                    )
                ],
            ),
        )
        paths = [
            "/v1/search/publications",
            f"/v1/departments/{dept}/results",
            "/v1/results/export.csv",
            "/v1/results/export.json",
            "/v1/feed.atom",
            "/v1/catalog.jsonld",
            "/v1/comparison?indicator=E1",
            "/v1/transparency",
        ]
        for path in paths:
            first = await client.get(path)
            assert first.status_code == 200, (path, first.text)
            assert first.headers["cache-control"].startswith("public, max-age="), path
            etag = first.headers["etag"]
            again = await client.get(path, headers={"if-none-match": etag})
            assert again.status_code == 304 and again.content == b"", path
            assert again.headers["etag"] == etag
        signed_in = await client.get("/v1/search/publications", headers=auth())
        assert signed_in.headers["cache-control"] == "private, no-cache"

    async def test_a_new_publication_changes_the_etag(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        first = await client.get("/v1/feed.atom")
        await published.publish_version(stack, kind="notice", title="新公告")
        changed = await client.get(
            "/v1/feed.atom", headers={"if-none-match": first.headers["etag"]}
        )
        assert changed.status_code == 200 and changed.headers["etag"] != first.headers["etag"]

    async def test_a_retraction_through_the_workflow_changes_every_etag(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        created = await client.post(
            "/v1/publications",
            headers=auth(),
            json={"jurisdiction_code": "231100", "kind": "plan", "title": "指标体系"},
        )
        publication = created.json()["id"]
        published_now = await client.post(f"/v1/publications/{publication}/publish", headers=auth())
        assert published_now.status_code == 200, published_now.text
        paths = ("/v1/search/publications", "/v1/feed.atom", "/v1/catalog.jsonld")
        answers = {p: await client.get(p) for p in paths}
        assert {p: a.status_code for p, a in answers.items()} == dict.fromkeys(paths, 200), [
            a.text for a in answers.values()
        ]
        before = {p: a.headers["etag"] for p, a in answers.items()}
        retracted = await client.post(
            f"/v1/publications/{publication}/retract", json={"reason": "口径有误"}, headers=auth()
        )
        assert retracted.status_code == 200, retracted.text
        for path in paths:
            answer = await client.get(path, headers={"if-none-match": before[path]})
            assert answer.status_code == 200, path
        (item,) = (await client.get("/v1/search/publications")).json()["items"]
        assert item["status"] == "retracted" and item["retraction_reason"] == "口径有误"


class TestDepartmentHistory:
    async def test_one_result_per_cycle_at_its_latest_version_newest_first(
        self, stack: Stack
    ) -> None:
        client = stack.client("disclosure")
        dept = uuid.uuid4()

        async def result(period: str, total: float, *, publication_id=None, version=1):
            cycle = uuid.uuid4() if publication_id is None else None
            snapshot = published.department("财政局", total, 2, department_id=dept)
            snapshot |= {
                "cycle_id": str(cycle or uuid.uuid4()),
                "cycle": f"{period}-ECO",
                "name": f"{period}年度考评",
                "period": period,
                "category": "economic",
                "result_version": version,
                "status": "finalized",
            }
            return await published.publish_version(
                stack,
                kind="department_result",
                department_id=dept,
                publication_id=publication_id,
                data=snapshot,
            )

        y2024 = await result("2024", 81.5)
        await result("2025", 84.0)
        await result("2024", 83.0, publication_id=y2024.publication_id, version=2)
        await result("2026", 50.0)
        other = await published.publish_version(
            stack, kind="department_result", department_id=uuid.uuid4(), title="别的部门"
        )
        response = await client.get(f"/v1/departments/{dept}/results")
        assert response.status_code == 200
        items = response.json()["items"]
        assert [(i["period"], i["total"], i["version"]) for i in items] == [
            ("2026", 50.0, 1),
            ("2024", 83.0, 2),
            ("2025", 84.0, 1),
        ]
        assert all(i["publication_id"] != str(other.publication_id) for i in items)
        paged = await client.get(f"/v1/departments/{dept}/results", params={"limit": 2})
        rest = await client.get(
            f"/v1/departments/{dept}/results",
            params={"limit": 2, "cursor": paged.json()["next_cursor"]},
        )
        assert [i["period"] for i in paged.json()["items"] + rest.json()["items"]] == [
            "2026",
            "2024",
            "2025",
        ]

    async def test_unknown_department_has_an_empty_history(self, stack: Stack) -> None:
        response = await stack.client("disclosure").get(f"/v1/departments/{uuid.uuid4()}/results")
        assert response.status_code == 200 and response.json()["items"] == []


class TestRateLimit:
    async def test_past_the_limit_an_address_gets_429_with_retry_after(self, stack: Stack) -> None:
        app = stack.apps["disclosure"]
        app.state.public_settings = PublicSettings(public_rate_limit="3/minute")
        try:
            client = stack.client("disclosure")
            answers = [(await client.get("/v1/search/publications")).status_code for _ in range(4)]
            assert answers == [200, 200, 200, 429]
            refused = await client.get("/v1/feed.atom")
            assert refused.status_code == 429
            assert int(refused.headers["retry-after"]) >= 1
            assert refused.json()["code"] == "rate-limited"
        finally:
            del app.state.public_settings
            del app.state.public_rate_limiter


class TestEarlyAnswers:
    """Revalidations answered ahead of routing are still whole answers of the service."""

    async def test_a_304_carries_its_request_id_and_is_counted_under_its_route(
        self, stack: Stack
    ) -> None:
        await published.publish_version(stack, kind="notice", title="公告")
        client = stack.client("disclosure")
        first = await client.get("/v1/search/publications?limit=5")
        again = await client.get(
            "/v1/search/publications?limit=5",
            headers={"if-none-match": first.headers["etag"], "x-request-id": "early-304-probe"},
        )
        assert again.status_code == 304 and again.headers["x-request-id"] == "early-304-probe"
        assert again.headers["cache-control"].startswith("public, max-age=")
        metrics = (await client.get("/metrics")).text
        assert 'method="GET",route="/v1/search/publications",status="304"' in metrics, metrics

    async def test_a_signed_in_caller_is_answered_by_the_route_itself(self, stack: Stack) -> None:
        await published.publish_version(stack, kind="notice", title="公告")
        client = stack.client("disclosure")
        first = await client.get("/v1/search/publications")
        signed_in = await client.get(
            "/v1/search/publications",
            headers={**auth(), "if-none-match": first.headers["etag"]},
        )
        # Not the anonymous answer: the signed-in caller's own, kept private.
        assert signed_in.headers["cache-control"] == "private, no-cache"

    async def test_a_path_of_another_route_is_not_answered_early(self, stack: Stack) -> None:
        await published.publish_version(stack, kind="notice", title="公告")
        client = stack.client("disclosure")
        listed = await client.get("/v1/search/publications")
        # The list's ETag offered to a read that does not answer early changes nothing.
        ledger = await client.get("/v1/ledger", headers={"if-none-match": listed.headers["etag"]})
        assert ledger.status_code == 200 and "items" in ledger.json()

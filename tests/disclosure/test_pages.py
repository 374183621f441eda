"""The public pages: server-rendered, accessible, both languages, charts with their numbers."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

from sqlalchemy import update

from services.disclosure.models import PublicationVersion
from tests.disclosure import published
from tests.harness import HARBIN, Stack, auth

SVG = "{http://www.w3.org/2000/svg}"


def svgs(html: str) -> list[ET.Element]:
    """Each inline SVG of the page, parsed on its own."""
    found, rest = [], html
    while "<svg" in rest:
        start = rest.index("<svg")
        end = rest.index("</svg>", start) + len("</svg>")
        found.append(ET.fromstring(rest[start:end]))
        rest = rest[end:]
    return found


class Outline(HTMLParser):
    """The landmarks, headings, html lang and any external or scripted resource."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[str] = []
        self._heading: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("h1", "h2"):
            self._heading = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h1", "h2") and self._heading is not None:
            self.headings.append("".join(self._heading).strip())
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading.append(data)

    def first(self, tag: str) -> dict[str, str | None]:
        return next(attrs for name, attrs in self.tags if name == tag)

    def has(self, tag: str) -> bool:
        return any(name == tag for name, _ in self.tags)


def outline(html: str) -> Outline:
    parser = Outline()
    parser.feed(html)
    return parser


def assert_accessible_and_self_contained(html: str, lang: str) -> Outline:
    page = outline(html)
    assert page.first("html")["lang"] == lang
    for landmark in ("header", "nav", "main", "footer"):
        assert page.has(landmark), landmark
    assert page.has("h1")
    assert page.first("a")["href"] == "#main"  # skip link first
    assert not page.has("script")
    for tag, attrs in page.tags:
        for attribute in ("src", "href"):
            value = attrs.get(attribute) or ""
            assert not value.startswith(("http://", "https://", "//")), (tag, value)
    return page


async def seed_cycle(stack: Stack) -> tuple[uuid.UUID, uuid.UUID]:
    cycle, fin = uuid.uuid4(), uuid.uuid4()
    await published.publish_version(
        stack,
        title="2026年度经济类考评结果",
        data=published.results_data(
            cycle,
            [
                published.department("财政局", 92.5, 1, department_id=fin),
                published.department("<b>税务局</b>", 88.0, 2),
                published.department("商务局", 71.25, 3),
            ],
        ),
    )
    return cycle, fin


class TestHome:
    async def test_latest_results_ranked_with_a_chart_in_chinese(self, stack: Stack) -> None:
        await seed_cycle(stack)
        response = await stack.client("disclosure").get("/pages")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        page = assert_accessible_and_self_contained(response.text, "zh-CN")
        assert page.headings[0] == "最新考评结果"
        (chart,) = svgs(response.text)
        bars = chart.findall(f"{SVG}g[@class='bar']")
        assert [(b.get("data-label"), b.get("data-value")) for b in bars] == [
            ("财政局", "92.5"),
            ("<b>税务局</b>", "88"),
            ("商务局", "71.25"),
        ]
        assert "<b>税务局</b>" not in response.text  # escaped everywhere
        assert "<caption>图表数据" in response.text  # the chart's numbers as a table

    async def test_english_on_request_and_links_keep_the_language(self, stack: Stack) -> None:
        await seed_cycle(stack)
        response = await stack.client("disclosure").get("/pages?lang=en")
        page = assert_accessible_and_self_contained(response.text, "en")
        assert page.headings[0] == "Latest results"
        hrefs = [a.get("href") or "" for tag, a in page.tags if tag == "a"]
        assert "/pages/comparison?lang=en" in hrefs
        assert "/pages" in hrefs  # the switch back to Chinese
        assert (await stack.client("disclosure").get("/pages?lang=fr")).status_code == 422

    async def test_empty_site_says_so(self, stack: Stack) -> None:
        response = await stack.client("disclosure").get("/pages")
        assert response.status_code == 200 and "尚未公开考评结果" in response.text

    async def test_pages_revalidate_with_their_etag(self, stack: Stack) -> None:
        await seed_cycle(stack)
        client = stack.client("disclosure")
        first = await client.get("/pages")
        assert first.headers["cache-control"].startswith("public")
        again = await client.get("/pages", headers={"if-none-match": first.headers["etag"]})
        assert again.status_code == 304


class TestCyclePage:
    async def test_ranking_chart_table_and_versions(self, stack: Stack) -> None:
        cycle, fin = await seed_cycle(stack)
        response = await stack.client("disclosure").get(f"/pages/cycles/{cycle}")
        assert response.status_code == 200
        assert_accessible_and_self_contained(response.text, "zh-CN")
        (chart,) = svgs(response.text)
        assert chart.get("role") == "img"
        assert chart.find(f"{SVG}title").text == "2026年度经济类考评：economic排名"
        assert [b.get("data-value") for b in chart.findall(f"{SVG}g[@class='bar']")] == [
            "92.5",
            "88",
            "71.25",
        ]
        assert f'href="/pages/departments/{fin}"' in response.text
        assert "版本历史" in response.text

    async def test_an_unpublished_cycle_is_404(self, stack: Stack) -> None:
        response = await stack.client("disclosure").get(f"/pages/cycles/{uuid.uuid4()}")
        assert response.status_code == 404


class TestDepartmentPage:
    async def test_history_line_breakdown_and_rectification(self, stack: Stack) -> None:
        dept = uuid.uuid4()
        for period, total in (("2024", 80.0), ("2026", 90.5), ("2025", 85.0)):
            snapshot = published.department(
                "财政局",
                total,
                1,
                department_id=dept,
                indicators=[published.indicator("E1", 95, 9.5)],
            ) | {"cycle_id": str(uuid.uuid4()), "period": period, "name": f"{period}考评"}
            snapshot["group_scores"] = [
                {
                    "code": "superior",
                    "kind": "superior",
                    "name": "上级评价",
                    "weight": 40,
                    "score": 90,
                    "points": 36,
                }
            ]
            await published.publish_version(
                stack, kind="department_result", department_id=dept, data=snapshot
            )
        await published.publish_version(
            stack,
            kind="rectification",
            department_id=dept,
            data={
                "department": "FIN",
                "closure_rate": 0.5,
                "tasks": [
                    {
                        "task_id": "t1",
                        "title": "完善预算公开",
                        "origin": "weakest_indicator",
                        "status": "closed",
                        "progress": 100,
                        "deadline": "2026-06-30",
                        "escalation_level": 0,
                    },
                    {
                        "task_id": "t2",
                        "title": "提升服务满意度",
                        "origin": "weakest_dimension",
                        "status": "in_progress",
                        "progress": 40,
                        "deadline": "2026-09-30",
                        "escalation_level": 1,
                    },
                ],
            },
        )
        response = await stack.client("disclosure").get(f"/pages/departments/{dept}")
        assert response.status_code == 200
        assert_accessible_and_self_contained(response.text, "zh-CN")
        (chart,) = svgs(response.text)
        points = chart.findall(f"{SVG}g[@class='point']")
        assert [(p.get("data-label"), p.get("data-value")) for p in points] == [
            ("2024", "80"),
            ("2025", "85"),
            ("2026", "90.5"),
        ]
        assert 'data-indicator="E1"' in response.text and "上级评价" in response.text
        assert 'data-closure-rate="0.5"' in response.text and "50%" in response.text
        assert "提升服务满意度" in response.text

    async def test_nothing_published_is_404(self, stack: Stack) -> None:
        response = await stack.client("disclosure").get(f"/pages/departments/{uuid.uuid4()}")
        assert response.status_code == 404


class TestOtherPages:
    async def test_comparison_page(self, stack: Stack) -> None:
        for jurisdiction, points in (("231100", 9.0), (HARBIN, 7.5)):
            await published.publish_version(
                stack,
                jurisdiction=jurisdiction,
                data=published.results_data(
                    uuid.uuid4(),
                    [
                        published.department(
                            f"{jurisdiction}发改委",
                            80,
                            1,
                            indicators=[published.indicator("GDP", points * 10, points)],
                        )
                    ],
                ),
            )
        client = stack.client("disclosure")
        blank = await client.get("/pages/comparison")
        assert blank.status_code == 200 and svgs(blank.text) == []
        response = await client.get("/pages/comparison?indicator=GDP&lang=en")
        assert_accessible_and_self_contained(response.text, "en")
        (chart,) = svgs(response.text)
        assert [b.get("data-value") for b in chart.findall(f"{SVG}g[@class='bar']")] == ["9", "7.5"]

    async def test_ledger_page_shows_entries_and_fails_verification_when_tampered(
        self, stack: Stack
    ) -> None:
        client = stack.client("disclosure")
        created = await client.post(
            "/v1/publications",
            headers=auth(),
            json={"jurisdiction_code": "231100", "kind": "plan", "title": "2026年度指标体系"},
        )
        assert created.status_code == 201, created.text
        publish = await client.post(
            f"/v1/publications/{created.json()['id']}/publish", headers=auth()
        )
        assert publish.status_code == 200, publish.text
        page = await client.get("/pages/ledger")
        assert page.status_code == 200
        assert_accessible_and_self_contained(page.text, "zh-CN")
        assert 'data-ledger-valid="true"' in page.text and 'data-seq="1"' in page.text
        db = stack.apps["disclosure"].state.db
        async with db.session() as session, session.begin():
            await session.execute(update(PublicationVersion).values(title="悄悄改过的标题"))
        tampered = await client.get("/pages/ledger")
        assert 'data-ledger-valid="false"' in tampered.text
        assert 'data-first-invalid="1"' in tampered.text

    async def test_transparency_page(self, stack: Stack) -> None:
        await published.known_cycle(stack, name="2026年度经济类考评")
        response = await stack.client("disclosure").get("/pages/transparency")
        assert response.status_code == 200
        assert_accessible_and_self_contained(response.text, "zh-CN")
        assert (
            "2026年度经济类考评" in response.text and 'data-item="final_results"' in response.text
        )

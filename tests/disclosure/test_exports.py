"""Exports of published results: CSV and JSON, read back with the standard parsers."""

from __future__ import annotations

import csv
import io
import uuid

from tests.disclosure import published
from tests.harness import HARBIN, Stack


async def two_cycles(stack: Stack) -> tuple[uuid.UUID, uuid.UUID]:
    first, second = uuid.uuid4(), uuid.uuid4()
    await published.publish_version(
        stack,
        data=published.results_data(
            first,
            [
                published.department(
                    "财政局",
                    92.5,
                    1,
                    code="FIN",
                    indicators=[
                        published.indicator("E1", 95, 9.5),
                        published.indicator("E2", 80, 8),
                    ],
                ),
                published.department(
                    '=HYPERLINK("x")',
                    71,
                    2,
                    code="TAX",
                    indicators=[published.indicator("E1", 70, 7)],
                ),
            ],
        ),
    )
    await published.publish_version(
        stack,
        jurisdiction=HARBIN,
        data=published.results_data(
            second, [published.department("哈尔滨财政局", 88, 1, code="FIN")], period="2025"
        ),
    )
    return first, second


class TestCsv:
    async def test_one_row_per_department_and_cycle(self, stack: Stack) -> None:
        first, second = await two_cycles(stack)
        response = await stack.client("disclosure").get("/v1/results/export.csv")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert response.headers["content-disposition"] == 'attachment; filename="results.csv"'
        rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert [(r["cycle_id"], r["department_name"], r["total"], r["rank"]) for r in rows] == [
            (str(first), "财政局", "92.5", "1"),
            (str(first), '\'=HYPERLINK("x")', "71", "2"),  # never a formula
            (str(second), "哈尔滨财政局", "88", "1"),
        ]
        assert rows[2]["jurisdiction_code"] == HARBIN and rows[2]["period"] == "2025"
        assert rows[0]["tied"] == "false" and rows[0]["status"] == "finalized"

    async def test_indicator_detail_and_filters(self, stack: Stack) -> None:
        first, _ = await two_cycles(stack)
        response = await stack.client("disclosure").get(
            "/v1/results/export.csv",
            params={"detail": "indicators", "cycle_id": str(first), "period": "2026"},
        )
        assert 'filename="results-2026-indicators.csv"' in response.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert [(r["department"], r["indicator_code"], r["value"], r["points"]) for r in rows] == [
            ("FIN", "E1", "95", "9.5"),
            ("FIN", "E2", "80", "8"),
            ("TAX", "E1", "70", "7"),
        ]

    async def test_a_revision_replaces_and_a_retraction_removes(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        cycle = uuid.uuid4()
        first = await published.publish_version(
            stack, data=published.results_data(cycle, [published.department("财政局", 80, 1)])
        )
        await published.publish_version(
            stack,
            publication_id=first.publication_id,
            data=published.results_data(
                cycle, [published.department("财政局", 84, 1)], result_version=2, status="revised"
            ),
        )
        await published.publish_version(
            stack,
            data=published.results_data(uuid.uuid4(), [published.department("教育局", 60, 1)]),
            retracted="数据有误",
        )
        rows = list(
            csv.DictReader(
                io.StringIO(
                    (await client.get("/v1/results/export.csv")).content.decode("utf-8-sig")
                )
            )
        )
        assert [(r["department_name"], r["total"], r["publication_version"]) for r in rows] == [
            ("财政局", "84", "2")
        ]

    async def test_nothing_published_is_just_the_header(self, stack: Stack) -> None:
        response = await stack.client("disclosure").get("/v1/results/export.csv")
        reader = csv.reader(io.StringIO(response.content.decode("utf-8-sig")))
        header = next(reader)
        assert header[:3] == ["jurisdiction_code", "cycle_id", "cycle"]
        assert list(reader) == []


class TestJson:
    async def test_the_same_rows_as_json(self, stack: Stack) -> None:
        await two_cycles(stack)
        client = stack.client("disclosure")
        response = await client.get(
            "/v1/results/export.json", params={"jurisdiction": HARBIN, "detail": "departments"}
        )
        assert response.status_code == 200
        assert (
            response.headers["content-disposition"] == 'attachment; filename="results-230100.json"'
        )
        body = response.json()
        assert body["columns"][0] == "jurisdiction_code"
        assert [(r["department_name"], r["total"]) for r in body["rows"]] == [("哈尔滨财政局", 88)]
        detail = (await client.get("/v1/results/export.json?detail=indicators")).json()
        assert "indicator_code" in detail["columns"]
        assert {r["indicator_code"] for r in detail["rows"]} == {"E1", "E2"}

    async def test_bad_parameters_are_422(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        for query in ("detail=everything", "cycle_id=x", "period=last-year"):
            assert (await client.get(f"/v1/results/export.json?{query}")).status_code == 422

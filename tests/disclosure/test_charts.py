"""Server-side SVG charts: well-formed, accessible, carrying their numbers, escaping labels."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from services.disclosure.charts import Bar, Point, bar_chart, format_number, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


class TestBarChart:
    def test_each_bar_carries_its_label_and_value_in_order(self) -> None:
        root = parse(
            bar_chart(
                [Bar("财政局", 92.5), Bar("教育局", 88.0), Bar("交通局", 71.25)],
                title="经济类部门排名",
            )
        )
        groups = root.findall(f"{SVG}g[@class='bar']")
        assert [g.get("data-label") for g in groups] == ["财政局", "教育局", "交通局"]
        assert [g.get("data-value") for g in groups] == ["92.5", "88", "71.25"]
        shown = [g.find(f"{SVG}text[@class='bar-value']").text for g in groups]
        assert shown == ["92.5", "88", "71.25"]

    def test_bar_lengths_follow_the_values(self) -> None:
        root = parse(bar_chart([Bar("A", 80), Bar("B", 40)], title="t", max_value=100))
        widths = [float(r.get("width")) for r in root.iter(f"{SVG}rect")]
        assert widths[0] == 2 * widths[1] > 0

    def test_is_an_accessible_image_with_title_and_description(self) -> None:
        root = parse(bar_chart([Bar("A", 1)], title="Ranking", ident="cycle-ranking"))
        assert root.get("role") == "img"
        assert root.find(f"{SVG}title").text == "Ranking"
        assert "A: 1" in root.find(f"{SVG}desc").text
        labelled_by = root.get("aria-labelledby").split()
        ids = {el.get("id") for el in root.iter() if el.get("id")}
        assert set(labelled_by) <= ids

    def test_highlighted_bar_is_marked_and_coloured_apart(self) -> None:
        root = parse(bar_chart([Bar("A", 50), Bar("B", 60, highlight=True)], title="t"))
        a, b = root.findall(f"{SVG}g[@class='bar']")
        assert a.get("data-highlight") is None and b.get("data-highlight") == "true"
        assert a.find(f"{SVG}rect").get("fill") != b.find(f"{SVG}rect").get("fill")

    def test_labels_cannot_inject_markup(self) -> None:
        evil = '<script>alert("x")</script> & "quoted"'
        svg = bar_chart([Bar(evil, 3)], title=evil, ident='x" onload="alert(1)')
        root = parse(svg)
        assert "<script>" not in svg
        assert root.find(f"{SVG}g").get("data-label") == evil
        assert root.find(f"{SVG}title").text == evil
        assert not list(root.iter("script")) and not list(root.iter(f"{SVG}script"))
        assert root.get("onload") is None

    def test_empty_ranking_still_renders(self) -> None:
        root = parse(bar_chart([], title="No results yet"))
        assert root.findall(f"{SVG}g[@class='bar']") == []
        assert root.find(f"{SVG}title").text == "No results yet"


class TestLineChart:
    def test_each_point_carries_its_period_and_value(self) -> None:
        root = parse(
            line_chart(
                [Point("2024", 81.0), Point("2025", 85.5), Point("2026", 90.25)], title="历年得分"
            )
        )
        points = root.findall(f"{SVG}g[@class='point']")
        assert [p.get("data-label") for p in points] == ["2024", "2025", "2026"]
        assert [p.get("data-value") for p in points] == ["81", "85.5", "90.25"]
        assert [p.find(f"{SVG}text").text for p in points] == ["81", "85.5", "90.25"]
        periods = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "period-label"]
        assert periods == ["2024", "2025", "2026"]

    def test_higher_scores_are_drawn_higher(self) -> None:
        root = parse(line_chart([Point("a", 20), Point("b", 80)], title="t", max_value=100))
        ys = [float(c.get("cy")) for c in root.iter(f"{SVG}circle")]
        assert ys[0] > ys[1]  # SVG y grows downwards
        xs = [float(c.get("cx")) for c in root.iter(f"{SVG}circle")]
        assert xs[0] < xs[1]

    def test_a_period_without_score_breaks_the_line(self) -> None:
        root = parse(
            line_chart(
                [Point("1", 10), Point("2", 20), Point("3", None), Point("4", 30), Point("5", 40)],
                title="t",
            )
        )
        assert len(root.findall(f"{SVG}g[@class='point']")) == 4
        assert len(root.findall(f"{SVG}polyline")) == 2

    def test_single_point_and_escaped_period(self) -> None:
        root = parse(line_chart([Point("<2026>", 75)], title="t & u"))
        point = root.find(f"{SVG}g[@class='point']")
        assert point.get("data-label") == "<2026>" and point.get("data-value") == "75"
        assert root.find(f"{SVG}title").text == "t & u"
        assert root.get("role") == "img"


def test_numbers_read_as_people_write_them() -> None:
    assert [format_number(v) for v in (90.0, 87.5, 71.256, -0.001, 0)] == [
        "90",
        "87.5",
        "71.26",
        "0",
        "0",
    ]

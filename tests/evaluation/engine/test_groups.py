"""Group scores and weights: scorecards, weighting, redistribution, normalization."""

from __future__ import annotations

from typing import Any

import pytest

from services.evaluation.engine import CycleRules, ScorecardStats, score_cycle
from tests.evaluation.engine.builders import (
    citizens,
    cycle,
    dimension,
    leaf,
    objective,
    rating_stats,
    scorecard_group,
)

# One indicator of weight 100 scored by ratio against 100: the value is the objective score.
NODES = [dimension("A", leaf("A.1", weight=100, rule={"method": "ratio"}, target=100))]


def _scores(values: dict[str, float]) -> dict[str, dict[str, float]]:
    return {department: {"A.1": value} for department, value in values.items()}


def _card(group: str, department: str, dimension: str, scores: list[float], dont_know: int = 0):
    return ScorecardStats(
        group_code=group,
        department_id=department,
        dimension_code=dimension,
        n=len(scores),
        sum=sum(scores),
        sum_sq=sum(s * s for s in scores),
        dont_know=dont_know,
    )


def _group(result: Any, code: str) -> dict[str, Any]:
    return next(node for node in result.breakdown["children"] if node["code"] == code)


class TestScorecards:
    def test_dimension_mean_rescaled_and_dont_know_excluded(self) -> None:
        # Scores 8, 9, 10 of 10 (two "don't know" answers left out): mean 9 → 90.
        result = score_cycle(
            cycle(
                departments=["d"],
                groups=[scorecard_group("experts", 100, dimensions=[("work", 10, None)])],
                scorecards=(_card("experts", "d", "work", [8, 9, 10], dont_know=2),),
            )
        ).results[0]
        node = _group(result, "experts")["children"][0]
        assert (node["score"], node["n"], node["mean"], node["dont_know"]) == (90.0, 3, 9.0, 2)
        assert node["sd"] == 1.0
        assert result.total == 90.0

    def test_equal_dimension_weights_when_none_given(self) -> None:
        # work: mean 4 of 5 → 80; integrity: mean 3 of 5 → 60; equal weights: 70.
        group = scorecard_group(
            "leaders",
            100,
            kind="leadership",
            dimensions=[("work", 5, None), ("integrity", 5, None)],
        )
        result = score_cycle(
            cycle(
                departments=["d"],
                groups=[group],
                scorecards=(
                    _card("leaders", "d", "work", [4, 4]),
                    _card("leaders", "d", "integrity", [3, 3]),
                ),
            )
        ).results[0]
        assert result.total == 70.0
        assert [c["points"] for c in _group(result, "leaders")["children"]] == [40.0, 30.0]

    def test_dimension_weights(self) -> None:
        # 80 × 3/4 + 60 × 1/4 = 75
        group = scorecard_group(
            "leaders", 100, dimensions=[("work", 5, 3.0), ("integrity", 5, 1.0)]
        )
        result = score_cycle(
            cycle(
                departments=["d"],
                groups=[group],
                scorecards=(
                    _card("leaders", "d", "work", [4]),
                    _card("leaders", "d", "integrity", [3]),
                ),
            )
        ).results[0]
        assert result.total == 75.0
        assert [c["weight"] for c in _group(result, "leaders")["children"]] == [75.0, 25.0]

    def test_a_dimension_without_answers_hands_its_weight_to_the_others(self) -> None:
        group = scorecard_group(
            "leaders", 100, dimensions=[("work", 5, None), ("integrity", 5, None)]
        )
        result = score_cycle(
            cycle(
                departments=["d"],
                groups=[group],
                scorecards=(
                    _card("leaders", "d", "work", [4]),
                    _card("leaders", "d", "integrity", [], dont_know=3),
                ),
            )
        ).results[0]
        assert result.total == 80.0
        node = _group(result, "leaders")
        assert "no answers on integrity" in node["explanation"]
        assert [d.code for d in result.weakest_dimensions] == ["work"]


class TestWeighting:
    def test_total_is_the_weighted_sum_of_groups(self) -> None:
        # objective 90 × 60 % = 54; citizens index 75 × 40 % = 30 → 84.
        result = score_cycle(
            cycle(
                nodes=NODES,
                departments=["d"],
                groups=[objective(60), citizens(40)],
                values=_scores({"d": 90}),
                ratings=(rating_stats("d", [4, 4]),),
            )
        ).results[0]
        assert [(g.code, g.score, g.points) for g in result.group_scores] == [
            ("objective", 90.0, 54.0),
            ("citizens", 75.0, 30.0),
        ]
        assert result.total == 84.0
        assert _group(result, "citizens")["children"][0]["points"] == 30.0

    def test_group_without_data_has_its_weight_redistributed(self) -> None:
        # No citizen ratings for d2: objective 60 and experts 20 share the 100 in proportion,
        # 75 and 25. d2: 90 × 0.75 + 80 × 0.25 = 87.5; d1 keeps the nominal weights.
        groups = [
            objective(60),
            citizens(20),
            scorecard_group("experts", 20, dimensions=[("work", 10, None)]),
        ]
        outcome = score_cycle(
            cycle(
                nodes=NODES,
                departments=["d1", "d2"],
                groups=groups,
                values=_scores({"d1": 90, "d2": 90}),
                ratings=(rating_stats("d1", [5]),),
                scorecards=(
                    _card("experts", "d1", "work", [8]),
                    _card("experts", "d2", "work", [8]),
                ),
            )
        )
        by_department = {r.department_id: r for r in outcome.results}
        d2 = by_department["d2"]
        assert d2.total == 87.5
        assert [(g.code, g.effective_weight, g.has_data) for g in d2.group_scores] == [
            ("objective", 75.0, True),
            ("citizens", 0.0, False),
            ("experts", 25.0, True),
        ]
        assert _group(d2, "citizens")["points"] == 0.0
        assert "citizens (20) without data" in d2.breakdown["explanation"]
        assert "objective 60 → 75" in d2.breakdown["explanation"]
        # d1: 54 + 20 + 16
        assert by_department["d1"].total == 90.0

    def test_group_that_does_not_rate_a_department(self) -> None:
        # Deputies rate only d1; for d2 the objective group carries the whole weight.
        deputies = scorecard_group(
            "deputies",
            50,
            kind="deputy",
            dimensions=[("work", 10, None)],
            department_ids=frozenset({"d1"}),
        )
        outcome = score_cycle(
            cycle(
                nodes=NODES,
                departments=["d1", "d2"],
                groups=[objective(50), deputies],
                values=_scores({"d1": 80, "d2": 80}),
                scorecards=(_card("deputies", "d1", "work", [10]),),
            )
        )
        by_department = {r.department_id: r for r in outcome.results}
        assert by_department["d1"].total == 90.0
        assert by_department["d2"].total == 80.0
        assert (
            "does not rate this department"
            in _group(by_department["d2"], "deputies")["explanation"]
        )

    def test_below_minimum_sample_counts_but_is_flagged(self) -> None:
        result = score_cycle(
            cycle(
                nodes=NODES,
                departments=["d"],
                groups=[objective(50), citizens(50, min_sample=3)],
                values=_scores({"d": 100}),
                ratings=(rating_stats("d", [3, 3]),),
            )
        ).results[0]
        assert result.total == 75.0
        assert result.below_min_sample == ("citizens", "citizens/service")
        assert result.group_scores[1].below_min_sample is True

    def test_below_minimum_sample_can_redistribute_instead(self) -> None:
        result = score_cycle(
            cycle(
                nodes=NODES,
                departments=["d"],
                groups=[objective(50), citizens(50, min_sample=3)],
                values=_scores({"d": 100}),
                ratings=(rating_stats("d", [3, 3]),),
                rules=CycleRules(below_min_sample="redistribute"),
            )
        ).results[0]
        assert result.total == 100.0
        node = _group(result, "citizens")
        assert node["points"] == 0.0
        assert "below the minimum sample, not counted" in node["explanation"]
        assert [c["points"] for c in node["children"]] == [0.0]

    def test_no_group_with_data_totals_zero(self) -> None:
        result = score_cycle(cycle(departments=["d"], groups=[citizens(100)], ratings=())).results[
            0
        ]
        assert result.total == 0.0
        assert "no group has data" in result.breakdown["explanation"]


class TestNormalization:
    def _outcome(self, method: str) -> dict[str, Any]:
        # Objective scores 60, 80, 100 across three departments; experts 9, 9, 9 of 10.
        outcome = score_cycle(
            cycle(
                nodes=NODES,
                departments=["a", "b", "c"],
                groups=[
                    objective(50),
                    scorecard_group("experts", 50, dimensions=[("work", 10, None)]),
                ],
                values=_scores({"a": 60, "b": 80, "c": 100}),
                scorecards=tuple(_card("experts", d, "work", [9]) for d in "abc"),
                rules=CycleRules(normalization=method),  # type: ignore[arg-type]
            )
        )
        return {r.department_id: r for r in outcome.results}

    def test_min_max(self) -> None:
        # (s − 60) / (100 − 60) × 100: 0, 50, 100. Experts all 90: left as they are.
        results = self._outcome("min_max")
        assert [results[d].group_scores[0].score for d in "abc"] == [0.0, 50.0, 100.0]
        assert [results[d].group_scores[1].score for d in "abc"] == [90.0, 90.0, 90.0]
        assert [results[d].total for d in "abc"] == [45.0, 70.0, 95.0]
        node = _group(results["a"], "objective")
        normalization = next(c for c in node["children"] if c["kind"] == "normalization")
        # 30 points of the total from the raw 60, 0 after normalization
        assert normalization["points"] == -30.0
        assert "min-max across 3 departments" in node["explanation"]
        assert "not normalized" in _group(results["a"], "experts")["explanation"]

    def test_z_score(self) -> None:
        # mean 80, population sd √((400 + 0 + 400) / 3) = 16.329932;
        # 50 + 10 × (60 − 80) / 16.329932 = 37.752551, 50, 62.247449.
        results = self._outcome("z_score")
        assert [results[d].group_scores[0].score for d in "abc"] == pytest.approx(
            [37.7526, 50.0, 62.2474]
        )
        assert results["a"].total == pytest.approx(37.7526 / 2 + 45, abs=1e-4)

    def test_none_keeps_the_raw_scores(self) -> None:
        results = self._outcome("none")
        assert [results[d].total for d in "abc"] == [75.0, 85.0, 95.0]

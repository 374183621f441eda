"""Upheld appeals: adjustments to an indicator's points or a group's score, before totals."""

from __future__ import annotations

from services.evaluation.engine import AdjustmentInput, ScorecardStats, score_cycle
from tests.evaluation.engine.builders import cycle, dimension, leaf, objective, scorecard_group

NODES = [
    dimension(
        "A",
        leaf("A.1", weight=60, rule={"method": "ratio"}, target=100),
        leaf("A.2", weight=40, rule={"method": "ratio"}, target=100),
    )
]
GROUPS = [objective(50), scorecard_group("experts", 50, dimensions=[("work", 10, None)])]


def _outcome(*adjustments: AdjustmentInput):
    return score_cycle(
        cycle(
            nodes=NODES,
            departments=["d1", "d2"],
            groups=GROUPS,
            values={"d1": {"A.1": 50, "A.2": 100}, "d2": {"A.1": 100, "A.2": 100}},
            scorecards=tuple(
                ScorecardStats("experts", d, "work", 1, 8.0, 64.0) for d in ("d1", "d2")
            ),
            adjustments=adjustments,
        )
    )


def _result(outcome, department: str):
    return next(r for r in outcome.results if r.department_id == department)


class TestIndicatorAdjustment:
    def test_points_added_to_the_indicator_before_the_total(self) -> None:
        # A.1: 50 % of 60 = 30, +6 on appeal = 36; objective 76 × 50 % = 38; experts 40.
        outcome = _outcome(AdjustmentInput("d1", "indicator", "A.1", 6, "AP-1", "数据口径有误"))
        result = _result(outcome, "d1")
        assert result.total == 78.0
        indicator = result.breakdown["children"][0]["children"][0]["children"][0]
        assert indicator["score"] == 36.0
        assert indicator["points"] == 18.0
        assert "appeal AP-1 upheld: +6 (数据口径有误)" in indicator["explanation"]
        assert _result(outcome, "d2").total == 90.0

    def test_the_weakest_indicators_follow_the_adjustment(self) -> None:
        outcome = _outcome(AdjustmentInput("d1", "indicator", "A.1", 30, "AP-1"))
        assert _result(outcome, "d1").weakest_indicators[0].achievement == 1.0


class TestGroupAdjustment:
    def test_points_added_to_the_group_score(self) -> None:
        # experts 80 + 5 = 85 × 50 % = 42.5; objective (30 + 40) × 50 % = 35.
        outcome = _outcome(AdjustmentInput("d1", "group", "experts", 5, "AP-2"))
        result = _result(outcome, "d1")
        assert result.group_scores[1].score == 85.0
        assert result.total == 77.5
        group = result.breakdown["children"][1]
        adjustment = group["children"][-1]
        assert (adjustment["kind"], adjustment["points"], adjustment["appeal_id"]) == (
            "adjustment",
            2.5,
            "AP-2",
        )
        assert "appeal AP-2 upheld: +5" in group["explanation"]

    def test_several_adjustments_add_up(self) -> None:
        outcome = _outcome(
            AdjustmentInput("d1", "group", "experts", 5, "AP-2"),
            AdjustmentInput("d1", "group", "experts", -1, "AP-3"),
        )
        assert _result(outcome, "d1").group_scores[1].score == 84.0


class TestUnapplied:
    def test_unknown_targets_are_reported_not_applied(self) -> None:
        outcome = _outcome(
            AdjustmentInput("d1", "indicator", "Z.9", 6, "AP-1"),
            AdjustmentInput("d1", "indicator", "A", 6, "AP-2"),
            AdjustmentInput("d1", "group", "deputies", 6, "AP-3"),
            AdjustmentInput("d9", "group", "experts", 6, "AP-4"),
        )
        assert [(u.adjustment.appeal_id, u.reason) for u in outcome.unapplied_adjustments] == [
            ("AP-3", "no group 'deputies' to adjust"),
            ("AP-2", "no indicator 'A' to adjust"),
            ("AP-1", "no indicator 'Z.9' to adjust"),
            ("AP-4", "not a department of the cycle"),
        ]
        assert _result(outcome, "d1").total == 75.0

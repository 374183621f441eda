"""The objective group through the engine: every scoring rule, the tree, bonus and veto.

Expected points are worked out by hand. One department, the objective group alone at weight
100, so a leaf's points of the total are its points of the base 100.
"""

from __future__ import annotations

from typing import Any

import pytest

from services.evaluation.engine import CycleRules, EngineInputError, score_cycle
from tests.evaluation.engine.builders import cycle, dimension, leaf, objective


def _one(nodes: list[dict[str, Any]], values: dict[str, float], **kwargs: Any) -> Any:
    outcome = score_cycle(
        cycle(nodes=nodes, departments=["d"], groups=[objective()], values={"d": values}, **kwargs)
    )
    return outcome.results[0]


def _leaves(node: dict[str, Any]) -> dict[str, dict[str, Any]]:
    if not node["children"]:
        return {node["code"]: node}
    found: dict[str, dict[str, Any]] = {}
    for child in node["children"]:
        found.update(_leaves(child))
    return found


class TestEachRule:
    @pytest.mark.parametrize(
        ("rule", "target", "polarity", "value", "points"),
        [
            # ratio: 90 / 100 × 20 = 18
            ({"method": "ratio"}, 100, "higher", 90, 18.0),
            # ratio capped: 130 / 100 = 1.3 > ceiling 1.2 → 1.2 × 20 = 24
            ({"method": "ratio", "ceiling": 1.2}, 100, "higher", 130, 24.0),
            # ratio, lower is better: 50 / 80 × 20 = 12.5
            ({"method": "ratio"}, 50, "lower", 80, 12.5),
            # linear interval: (75 − 60) / (100 − 60) = 0.375 × 20 = 7.5
            ({"method": "linear_interval", "best": 100, "worst": 60}, None, "higher", 75, 7.5),
            # with floor 0.2: (0.2 + 0.8 × 0.375) × 20 = 10
            (
                {"method": "linear_interval", "best": 100, "worst": 60, "floor": 0.2},
                None,
                "higher",
                75,
                10.0,
            ),
            # threshold band [70, 90) earns 0.6 × 20 = 12
            (
                {
                    "method": "threshold_bands",
                    "bands": [{"min": 90, "points": 1}, {"min": 70, "max": 90, "points": 0.6}],
                },
                None,
                "higher",
                75,
                12.0,
            ),
            # deduction by shortfall: 100 − 92 = 8 short, 20 − 0.5 × 8 = 16
            (
                {"method": "deduction", "per_unit": 0.5, "basis": "shortfall"},
                100,
                "higher",
                92,
                16.0,
            ),
            # deduction by incidents: 20 − 3 × 3 = 11
            ({"method": "deduction", "per_unit": 3, "basis": "incident"}, None, "higher", 3, 11.0),
        ],
    )
    def test_points_of_the_rule(
        self, rule: dict[str, Any], target: float | None, polarity: str, value: float, points: float
    ) -> None:
        nodes = [
            dimension(
                "A",
                leaf("A.1", weight=20, rule=rule, target=target, polarity=polarity),
                leaf("A.2", weight=80, rule={"method": "ratio"}, target=10),
            )
        ]
        result = _one(nodes, {"A.1": value, "A.2": 10})
        node = _leaves(result.breakdown)["A.1"]
        assert node["points"] == points
        assert node["score"] == points
        assert node["value"] == value
        assert node["rule"]["method"] == rule["method"]
        assert result.total == points + 80

    def test_formula_computes_its_value_from_the_departments_values(self) -> None:
        # value = 100 × (30 + 10) / 50 = 80; ratio against target 100: 0.8 × 10 = 8
        nodes = [
            dimension(
                "A",
                leaf("A.1", weight=0, rule={"method": "ratio"}, target=1),
                leaf("A.2", weight=0, rule={"method": "ratio"}, target=1),
                leaf("A.3", weight=0, rule={"method": "ratio"}, target=1),
                leaf(
                    "A.4",
                    weight=10,
                    rule={
                        "method": "formula",
                        "numerator": "#{A.1} + #{A.2}",
                        "denominator": "#{A.3}",
                        "factor": 100,
                    },
                    target=100,
                ),
                leaf("A.5", weight=90, rule={"method": "ratio"}, target=1),
            )
        ]
        result = _one(nodes, {"A.1": 30, "A.2": 10, "A.3": 50, "A.5": 1})
        node = _leaves(result.breakdown)["A.4"]
        assert node["value"] == 80
        assert node["points"] == 8.0
        assert "100 × 40 / 50 = 80" in node["explanation"]
        assert result.total == 98.0

    def test_missing_value_scores_zero_and_says_so(self) -> None:
        nodes = [dimension("A", leaf("A.1", weight=100, rule={"method": "ratio"}, target=10))]
        result = _one(nodes, {})
        node = _leaves(result.breakdown)["A.1"]
        assert (node["points"], node["explanation"]) == (0.0, "no value")
        assert result.total == 0.0
        assert result.weakest_indicators[0].code == "A.1"

    def test_target_override_for_the_department(self) -> None:
        # 90 against the department's own target 90: full 100
        nodes = [
            dimension(
                "A",
                leaf(
                    "A.1",
                    weight=100,
                    rule={"method": "ratio"},
                    target=100,
                    target_overrides={"d": 90},
                ),
            )
        ]
        result = _one(nodes, {"A.1": 90})
        assert _leaves(result.breakdown)["A.1"]["target"] == 90
        assert result.total == 100.0

    def test_an_unscorable_leaf_scores_zero_without_stopping_the_cycle(self) -> None:
        # A ratio without a target cannot be scored.
        nodes = [
            dimension(
                "A",
                leaf("A.1", weight=50, rule={"method": "ratio"}),
                leaf("A.2", weight=50, rule={"method": "ratio"}, target=10),
            )
        ]
        result = _one(nodes, {"A.1": 5, "A.2": 10})
        node = _leaves(result.breakdown)["A.1"]
        assert node["points"] == 0.0
        assert node["error"] is True
        assert node["explanation"].startswith("cannot be scored: the ratio rule needs a target")
        assert result.total == 50.0

    def test_an_invalid_rule_is_an_input_error(self) -> None:
        nodes = [dimension("A", leaf("A.1", weight=100, rule={"method": "guess"}, target=1))]
        with pytest.raises(EngineInputError, match=r"A\.1"):
            _one(nodes, {})


class TestTree:
    def test_sub_indicators_sum_into_indicators_and_dimensions(self) -> None:
        # Weights are points of the base 100 at every level: A (60) = A.1 (40) + A.2 (20),
        # A.1 = A.1.1 (25) + A.1.2 (15). Values: A.1.1 at 80 % → 20, A.1.2 full → 15,
        # A.2 at 50 % → 10, B full → 40.
        nodes = [
            dimension(
                "A",
                dimension(
                    "A.1",
                    leaf("A.1.1", weight=25, rule={"method": "ratio"}, target=10),
                    leaf("A.1.2", weight=15, rule={"method": "ratio"}, target=10),
                ),
                leaf("A.2", weight=20, rule={"method": "ratio"}, target=10),
            ),
            dimension("B", leaf("B.1", weight=40, rule={"method": "ratio"}, target=10)),
        ]
        result = _one(nodes, {"A.1.1": 8, "A.1.2": 10, "A.2": 5, "B.1": 10})
        group = result.breakdown["children"][0]
        a, b = group["children"]
        assert (a["code"], a["kind"], a["points"], a["weight"]) == ("A", "dimension", 45.0, 60)
        assert (a["children"][0]["kind"], a["children"][0]["points"]) == ("indicator", 35.0)
        assert b["points"] == 40.0
        assert result.total == 85.0
        assert [w.code for w in result.weakest_indicators] == ["A.2", "A.1.1", "A.1.2"]
        assert [w.achievement for w in result.weakest_indicators] == [0.5, 0.8, 1.0]


class TestBonus:
    def _nodes(self) -> list[dict[str, Any]]:
        return [
            dimension(
                "A",
                leaf("A.1", weight=100, rule={"method": "ratio"}, target=10),
                leaf("A.B", weight=0, rule={"method": "bonus", "per_unit": 2, "cap": 10}),
            )
        ]

    def test_bonus_adds_outside_the_base(self) -> None:
        # base 90 + bonus 2 × 2 = 4 → 94
        result = _one(self._nodes(), {"A.1": 9, "A.B": 2})
        assert result.total == 94.0
        assert _leaves(result.breakdown)["A.B"]["bonus"] is True

    def test_bonus_capped_by_the_cycle(self) -> None:
        # bonus 2 × 4 = 8 capped at the cycle's 5: 95 + 5 = 100 (the group score passes 100
        # only by its bonus); the cap shows as a node carrying −3.
        result = _one(self._nodes(), {"A.1": 9.5, "A.B": 4}, rules=CycleRules(bonus_cap=5))
        group = result.breakdown["children"][0]
        cap = next(c for c in group["children"] if c["kind"] == "bonus_cap")
        assert cap["points"] == -3.0
        assert group["score"] == 100.0
        assert result.total == 100.0

    def test_bonus_is_not_a_weak_indicator(self) -> None:
        result = _one(self._nodes(), {"A.1": 9, "A.B": 0})
        assert [w.code for w in result.weakest_indicators] == ["A.1"]


class TestVeto:
    def _nodes(self) -> list[dict[str, Any]]:
        veto = {
            "method": "veto",
            "operator": ">=",
            "threshold": 1,
            "grade_cap": "pass",
            "reason": "重大安全事故",
        }
        return [
            dimension(
                "A",
                leaf("A.1", weight=100, rule={"method": "ratio"}, target=10),
                leaf("A.V", weight=0, rule=veto),
            )
        ]

    def test_met_veto_caps_the_grade_not_the_points(self) -> None:
        result = _one(self._nodes(), {"A.1": 10, "A.V": 1})
        assert result.total == 100.0
        assert result.band_grade == "excellent"
        assert result.grade == "pass"
        assert result.vetoed is True
        assert result.veto_explanation is not None
        assert "A.V" in result.veto_explanation and "重大安全事故" in result.veto_explanation
        assert "veto caps the grade at 'pass'" in result.grade_explanation

    def test_veto_not_met(self) -> None:
        result = _one(self._nodes(), {"A.1": 10, "A.V": 0})
        assert (result.grade, result.vetoed, result.veto_explanation) == ("excellent", False, None)

    def test_veto_never_raises_a_grade(self) -> None:
        # 70 is "fail" already; a cap at "pass" leaves it there.
        result = _one(self._nodes(), {"A.1": 7, "A.V": 3})
        assert (result.grade, result.vetoed) == ("fail", True)

"""Scoring rules: parameter validation per rule, and the points each rule gives a value.

Expected points are computed by hand in each test, not by the code under test.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from services.scoring.rules import (
    Band,
    Bonus,
    Deduction,
    Formula,
    LinearInterval,
    Ratio,
    Score,
    ScoringError,
    ThresholdBands,
    Veto,
    needs_target,
    parse_rule,
    references,
    score,
    validate_weight,
)


def _invalid(data: dict[str, Any], field: str) -> str:
    """Assert ``data`` fails validation once, naming ``field``; return the error message."""
    with pytest.raises(ValidationError) as info:
        parse_rule(data)
    errors = info.value.errors()
    assert len(errors) == 1, errors
    where = ".".join(str(part) for part in errors[0]["loc"])
    assert field in where or field in errors[0]["msg"], errors[0]
    assert field in str(info.value)
    return errors[0]["msg"]


def _score(
    rule: dict[str, Any],
    value: float | None,
    *,
    weight: float = 10,
    polarity: str = "higher",
    target: float | None = None,
    values_by_code: dict[str, float] | None = None,
) -> Score:
    return score(
        parse_rule(rule),
        weight=weight,
        polarity=polarity,
        value=value,
        target=target,
        values_by_code=values_by_code,
    )


RATIO = {"method": "ratio"}
LINEAR = {"method": "linear_interval", "best": 90, "worst": 50}
BANDS = {
    "method": "threshold_bands",
    "bands": [
        {"min": 90, "points": 1},
        {"min": 80, "max": 90, "points": 0.8},
        {"min": 60, "max": 80, "points": 0.5},
    ],
}
SHORTFALL = {"method": "deduction", "per_unit": 2, "basis": "shortfall"}
INCIDENT = {"method": "deduction", "per_unit": 3, "basis": "incident"}
BONUS = {"method": "bonus", "per_unit": 0.5, "cap": 2}
VETO = {
    "method": "veto",
    "operator": ">",
    "threshold": 0,
    "grade_cap": "fail",
    "reason": "a major production accident",
}
FORMULA = {"method": "formula", "numerator": "#{A}", "denominator": "#{B}", "factor": 100}
ALL_RULES = [RATIO, LINEAR, BANDS, SHORTFALL, INCIDENT, BONUS, VETO, FORMULA]


class TestParsing:
    @pytest.mark.parametrize(
        ("data", "kind"),
        [
            (RATIO, Ratio),
            (LINEAR, LinearInterval),
            (BANDS, ThresholdBands),
            (SHORTFALL, Deduction),
            (BONUS, Bonus),
            (VETO, Veto),
            (FORMULA, Formula),
        ],
    )
    def test_method_picks_the_rule_and_json_round_trips(
        self, data: dict[str, Any], kind: type[BaseModel]
    ) -> None:
        rule = parse_rule(data)
        assert type(rule) is kind
        assert parse_rule(rule.model_dump()) == rule
        assert parse_rule(rule.model_dump(mode="json")) == rule

    def test_defaults(self) -> None:
        assert parse_rule(RATIO) == Ratio(ceiling=1.0)
        assert parse_rule(LINEAR).floor == 0.0
        assert parse_rule(SHORTFALL).unit_size == 1.0
        formula = parse_rule({"method": "formula", "numerator": "#{A}"})
        assert (formula.denominator, formula.factor, formula.ceiling) == (None, 1.0, 1.0)

    def test_rules_are_frozen(self) -> None:
        rule = parse_rule(RATIO)
        with pytest.raises(ValidationError, match="frozen"):
            rule.ceiling = 2.0  # type: ignore[misc]

    def test_unknown_method(self) -> None:
        _invalid({"method": "guess"}, "method")

    def test_missing_method(self) -> None:
        _invalid({"ceiling": 1.0}, "method")

    @pytest.mark.parametrize("data", ALL_RULES)
    def test_unknown_parameters_are_refused(self, data: dict[str, Any]) -> None:
        _invalid({**data, "weight": 5}, "weight")

    def test_strings_are_stripped(self) -> None:
        rule = parse_rule({**VETO, "grade_cap": "  fail ", "reason": " accident "})
        assert (rule.grade_cap, rule.reason) == ("fail", "accident")


class TestValidation:
    @pytest.mark.parametrize(
        ("data", "field"),
        [
            ({**RATIO, "ceiling": 0.99}, "ceiling"),
            ({**RATIO, "ceiling": 2.01}, "ceiling"),
            ({**RATIO, "ceiling": float("nan")}, "ceiling"),
            ({**RATIO, "ceiling": "high"}, "ceiling"),
            ({"method": "linear_interval", "worst": 50}, "best"),
            ({"method": "linear_interval", "best": 90}, "worst"),
            ({**LINEAR, "worst": 90}, "worst"),
            ({**LINEAR, "floor": -0.1}, "floor"),
            ({**LINEAR, "floor": 1.0}, "floor"),
            ({**LINEAR, "best": float("inf")}, "best"),
            ({"method": "threshold_bands"}, "bands"),
            ({"method": "threshold_bands", "bands": []}, "bands"),
            (
                {
                    "method": "threshold_bands",
                    "bands": [{"min": i, "max": i + 1, "points": 0.5} for i in range(21)],
                },
                "bands",
            ),
            ({"method": "threshold_bands", "bands": [{"min": 1, "points": 1.01}]}, "points"),
            ({"method": "threshold_bands", "bands": [{"min": 1, "points": -0.1}]}, "points"),
            ({"method": "threshold_bands", "bands": [{"min": 1}]}, "points"),
            ({"method": "threshold_bands", "bands": [{"min": 1, "points": 1, "x": 1}]}, "x"),
            ({**SHORTFALL, "per_unit": 0}, "per_unit"),
            ({**SHORTFALL, "per_unit": -1}, "per_unit"),
            ({"method": "deduction", "basis": "incident"}, "per_unit"),
            ({"method": "deduction", "per_unit": 1}, "basis"),
            ({**SHORTFALL, "basis": "surplus"}, "basis"),
            ({**SHORTFALL, "unit_size": 0}, "unit_size"),
            ({**SHORTFALL, "unit_size": -0.5}, "unit_size"),
            ({**BONUS, "per_unit": 0}, "per_unit"),
            ({**BONUS, "cap": 0}, "cap"),
            ({"method": "bonus", "per_unit": 1}, "cap"),
            ({**VETO, "operator": "!="}, "operator"),
            ({**VETO, "operator": "=>"}, "operator"),
            ({key: v for key, v in VETO.items() if key != "threshold"}, "threshold"),
            ({**VETO, "grade_cap": ""}, "grade_cap"),
            ({**VETO, "grade_cap": "   "}, "grade_cap"),
            ({**VETO, "grade_cap": "x" * 33}, "grade_cap"),
            ({**VETO, "reason": ""}, "reason"),
            ({**VETO, "reason": "x" * 201}, "reason"),
            ({key: v for key, v in VETO.items() if key != "reason"}, "reason"),
            ({"method": "formula"}, "numerator"),
            ({**FORMULA, "factor": 0}, "factor"),
            ({**FORMULA, "ceiling": 3}, "ceiling"),
        ],
    )
    def test_invalid_parameter_names_its_field(self, data: dict[str, Any], field: str) -> None:
        _invalid(data, field)

    def test_boundary_values_are_accepted(self) -> None:
        assert parse_rule({**RATIO, "ceiling": 2}).ceiling == 2
        assert parse_rule({**LINEAR, "floor": 0.99}).floor == 0.99
        assert parse_rule({**VETO, "grade_cap": "x" * 32, "reason": "y" * 200})
        twenty = [{"min": i, "max": i + 1, "points": i / 20} for i in range(20)]
        assert len(parse_rule({"method": "threshold_bands", "bands": twenty}).bands) == 20

    def test_best_equal_to_worst_is_explained(self) -> None:
        assert "worst must differ from best" in _invalid({**LINEAR, "worst": 90}, "worst")

    def test_a_band_needs_a_bound(self) -> None:
        message = _invalid({"method": "threshold_bands", "bands": [{"points": 1}]}, "min")
        assert "a band needs min or max" in message

    def test_a_band_needs_min_below_max(self) -> None:
        bands = [{"min": 5, "max": 5, "points": 1}]
        message = _invalid({"method": "threshold_bands", "bands": bands}, "max")
        assert "min must be less than max" in message

    @pytest.mark.parametrize(
        ("bands", "message"),
        [
            (
                [{"min": 90, "points": 1}, {"min": 80, "max": 95, "points": 0.8}],
                "bands 1 and 2 overlap: [90, ∞) and [80, 95)",
            ),
            (
                [
                    {"min": 90, "points": 1},
                    {"min": 60, "max": 80, "points": 0.5},
                    {"max": 61, "points": 0},
                ],
                "bands 2 and 3 overlap: [60, 80) and (−∞, 61)",
            ),
            (
                [{"min": 0, "max": 10, "points": 1}, {"min": 0, "max": 10, "points": 0.5}],
                "bands 1 and 2 overlap",
            ),
            (
                [{"min": 0, "max": 10, "points": 1}, {"min": 2, "max": 3, "points": 0.5}],
                "bands 1 and 2 overlap",
            ),
            ([{"max": 10, "points": 1}, {"max": 0, "points": 0.5}], "bands 1 and 2 overlap"),
        ],
    )
    def test_overlapping_bands_are_named(self, bands: list[dict[str, Any]], message: str) -> None:
        assert message in _invalid({"method": "threshold_bands", "bands": bands}, "bands")

    def test_adjacent_bands_do_not_overlap(self) -> None:
        bands = [{"max": 60, "points": 0}, {"min": 60, "max": 80, "points": 0.5}]
        assert len(parse_rule({"method": "threshold_bands", "bands": bands}).bands) == 2

    @pytest.mark.parametrize(
        ("field", "source", "message"),
        [
            ("numerator", "", "invalid formula: empty formula"),
            ("numerator", "#{A} +", "invalid formula: unexpected end of formula at position 6"),
            ("numerator", "__import__('os')", "invalid formula: unknown character '_'"),
            ("denominator", "#{B", "invalid formula: unterminated reference at position 0"),
            ("denominator", "2 ** 3", "invalid formula: unexpected '*' at position 3"),
        ],
    )
    def test_a_bad_formula_fails_with_the_parser_message(
        self, field: str, source: str, message: str
    ) -> None:
        assert message in _invalid({**FORMULA, field: source}, field)


class TestRatio:
    def test_higher_is_better(self) -> None:
        result = _score(RATIO, 82, weight=8, target=90)
        assert result.points == 7.2889  # 8 × 82 / 90 = 7.28888…
        assert result.explanation == "82 / 90 × 8 = 7.2889"
        assert (result.value, result.bonus, result.veto) == (82, False, None)

    def test_lower_is_better(self) -> None:
        result = _score(RATIO, 12, polarity="lower", target=10)
        assert result.points == 8.3333  # 10 × 10 / 12
        assert result.explanation == "10 / 12 × 10 = 8.3333"

    def test_over_achievement_is_capped_at_the_ceiling(self) -> None:
        assert _score(RATIO, 99, weight=8, target=90).points == 8
        ceiling = {**RATIO, "ceiling": 1.2}
        assert _score(ceiling, 99, weight=8, target=90).points == 8.8  # 8 × 1.1
        capped = _score(ceiling, 120, weight=8, target=90)
        assert capped.points == 9.6  # 120 / 90 = 1.333 → 1.2 × 8
        assert capped.explanation == "120 / 90 = 1.3333 capped at 1.2; 1.2 × 8 = 9.6"
        assert _score(ceiling, 8, polarity="lower", target=10).points == 12  # 1.25 → 1.2

    def test_lower_with_zero_or_less_earns_the_ceiling(self) -> None:
        assert _score(RATIO, 0, polarity="lower", target=10).points == 10
        assert _score({**RATIO, "ceiling": 1.5}, 0, polarity="lower", target=10).points == 15
        assert _score(RATIO, -3, polarity="lower", target=10).points == 10

    def test_never_below_zero(self) -> None:
        result = _score(RATIO, -5, target=10)
        assert result.points == 0
        assert result.explanation == "-5 / 10 < 0 scores 0"

    @pytest.mark.parametrize("target", [None, 0, -1])
    def test_needs_a_positive_target(self, target: float | None) -> None:
        with pytest.raises(ScoringError, match="ratio rule needs a target"):
            _score(RATIO, 5, target=target)


class TestLinearInterval:
    @pytest.mark.parametrize(
        ("value", "points"),
        [(90, 10), (95, 10), (70, 5), (60, 2.5), (50, 0), (10, 0)],
    )
    def test_higher_between_worst_and_best(self, value: float, points: float) -> None:
        assert _score(LINEAR, value).points == points

    @pytest.mark.parametrize(
        ("value", "points"),
        [(90, 10), (70, 6), (60, 4), (50, 2), (40, 2)],  # 10 × (0.2 + 0.8 × share)
    )
    def test_floor_is_the_share_at_the_worst_end(self, value: float, points: float) -> None:
        assert _score({**LINEAR, "floor": 0.2}, value).points == pytest.approx(points)

    @pytest.mark.parametrize(
        ("value", "points"),
        [(2, 10), (1, 10), (4, 7.5), (10, 0), (12, 0)],  # share = (value − 10) / (2 − 10)
    )
    def test_lower_is_better_when_best_is_below_worst(self, value: float, points: float) -> None:
        rule = {"method": "linear_interval", "best": 2, "worst": 10}
        assert _score(rule, value).points == points

    def test_direction_follows_best_and_worst_not_polarity(self) -> None:
        assert _score(LINEAR, 70, polarity="lower").points == 5

    def test_explanations(self) -> None:
        assert _score(LINEAR, 70).explanation == "(70 − 50) / (90 − 50) = 0.5; 0.5 × 10 = 5"
        assert _score({**LINEAR, "floor": 0.2}, 70).explanation == (
            "(70 − 50) / (90 − 50) = 0.5; (0.2 + 0.8 × 0.5) × 10 = 6"
        )
        assert _score(LINEAR, 95).explanation == "95 reaches best 90: full 10"
        assert _score({**LINEAR, "floor": 0.2}, 40).explanation == (
            "40 reaches worst 50: 0.2 × 10 = 2"
        )


class TestThresholdBands:
    @pytest.mark.parametrize(
        ("value", "points"),
        [
            (100, 10),
            (90, 10),  # min is inclusive
            (89.999, 8),  # max is exclusive
            (80, 8),
            (79.9, 5),
            (60, 5),
            (59.99, 0),  # in no band
        ],
    )
    def test_band_edges(self, value: float, points: float) -> None:
        assert _score(BANDS, value).points == points

    def test_points_are_a_fraction_of_the_weight(self) -> None:
        result = _score(BANDS, 85, weight=8)
        assert result.points == 6.4
        assert result.explanation == "85 in band 2 [80, 90): 0.8 × 8 = 6.4"

    def test_no_band_scores_zero(self) -> None:
        assert _score(BANDS, 10).explanation == "10 is in no band: 0"

    def test_band_order_does_not_matter_and_open_ends_work(self) -> None:
        rule = {
            "method": "threshold_bands",
            "bands": [{"min": 0, "max": 3, "points": 0.6}, {"max": 0, "points": 1}],
        }
        assert _score(rule, -100).points == 10
        assert _score(rule, 0).points == 6
        assert _score(rule, 3).points == 0

    def test_band_contains(self) -> None:
        band = Band(min=1, max=2, points=1)
        assert [band.contains(v) for v in (0.9, 1, 1.5, 2)] == [False, True, True, False]


class TestDeduction:
    @pytest.mark.parametrize(
        ("value", "points"),
        [(96, 10), (95, 10), (92, 4), (94.5, 9), (90, 0), (80, 0)],  # 10 − 2 × (95 − value)
    )
    def test_shortfall_higher(self, value: float, points: float) -> None:
        assert _score(SHORTFALL, value, target=95).points == points

    @pytest.mark.parametrize(
        ("value", "points"),
        [(4, 10), (5, 10), (6.5, 7), (12, 0)],  # 10 − 2 × (value − 5)
    )
    def test_shortfall_lower(self, value: float, points: float) -> None:
        assert _score(SHORTFALL, value, polarity="lower", target=5).points == points

    def test_unit_size_counts_deductions_per_unit_in_proportion(self) -> None:
        rule = {**SHORTFALL, "per_unit": 1, "unit_size": 0.5}
        assert _score(rule, 94, target=95).points == 8  # 1 short = 2 units of 0.5
        assert _score(rule, 94.75, target=95).points == 9.5  # 0.25 short = half a unit
        assert (
            _score(rule, 94, target=95).explanation == "1 short of target 95: 10 − 1 × 1 / 0.5 = 8"
        )

    def test_never_below_zero(self) -> None:
        result = _score(SHORTFALL, 80, target=95)
        assert result.points == 0
        assert result.explanation == "15 short of target 95: 10 − 2 × 15 < 0, floored at 0"

    def test_shortfall_needs_a_target(self) -> None:
        with pytest.raises(ScoringError, match="deduction rule needs a target"):
            _score(SHORTFALL, 90)

    def test_a_zero_or_negative_target_is_fine_for_shortfall(self) -> None:
        assert _score(SHORTFALL, -1, target=0).points == 8

    @pytest.mark.parametrize(("value", "points"), [(0, 10), (1, 7), (2, 4), (3, 1), (4, 0)])
    def test_incidents(self, value: float, points: float) -> None:
        assert _score(INCIDENT, value).points == points  # 10 − 3 × incidents

    def test_incidents_ignore_target_and_polarity(self) -> None:
        assert _score(INCIDENT, 2, polarity="lower", target=5).points == 4
        assert _score(INCIDENT, 2).explanation == "2 incidents: 10 − 3 × 2 = 4"

    def test_incidents_with_unit_size(self) -> None:
        assert _score({**INCIDENT, "unit_size": 2}, 3).points == 5.5  # 10 − 3 × 3 / 2

    def test_negative_incident_count_is_an_error(self) -> None:
        with pytest.raises(ScoringError, match="incident count cannot be negative"):
            _score(INCIDENT, -1)


class TestBonus:
    @pytest.mark.parametrize(("value", "points"), [(0, 0), (1, 0.5), (3, 1.5), (4, 2), (10, 2)])
    def test_per_unit_up_to_the_cap(self, value: float, points: float) -> None:
        result = _score(BONUS, value, weight=0)
        assert result.points == points
        assert result.bonus is True

    def test_explanation(self) -> None:
        assert _score(BONUS, 10, weight=0).explanation == "min(2, 0.5 × 10) = 2 bonus"

    def test_negative_value_is_an_error(self) -> None:
        with pytest.raises(ScoringError, match="bonus value cannot be negative"):
            _score(BONUS, -1, weight=0)

    def test_missing_value_is_still_a_bonus_score(self) -> None:
        assert _score(BONUS, None, weight=0) == Score(0.0, True, None, None, "no value")


class TestVeto:
    @pytest.mark.parametrize(
        ("operator", "threshold", "value", "vetoed"),
        [
            (">", 0, 1, True),
            (">", 0, 0, False),
            (">=", 3, 3, True),
            (">=", 3, 2.9, False),
            ("<", 60, 59.9, True),
            ("<", 60, 60, False),
            ("<=", 60, 60, True),
            ("<=", 60, 60.1, False),
            ("==", 1, 1, True),
            ("==", 1, 0, False),
        ],
    )
    def test_each_operator(
        self, operator: str, threshold: float, value: float, vetoed: bool
    ) -> None:
        rule = {**VETO, "operator": operator, "threshold": threshold}
        result = _score(rule, value, weight=0)
        assert result.points == 0
        assert result.bonus is False
        assert result.veto == ("fail" if vetoed else None)

    def test_explanations(self) -> None:
        assert _score(VETO, 2, weight=0).explanation == (
            "2 > 0: veto, grade capped at 'fail' (a major production accident)"
        )
        assert _score(VETO, 0, weight=0).explanation == "0 > 0 does not hold: no veto"

    def test_missing_value_does_not_veto(self) -> None:
        assert _score(VETO, None, weight=0).veto is None


class TestFormula:
    VALUES = {"A": 45, "B": 50}

    def test_percentage_scored_like_ratio(self) -> None:
        result = _score(FORMULA, None, weight=8, target=95, values_by_code=self.VALUES)
        assert result.value == pytest.approx(90)  # 100 × 45 / 50
        assert result.points == 7.5789  # 8 × 90 / 95 = 7.57894…
        assert result.explanation == "value = 100 × 45 / 50 = 90; 90 / 95 × 8 = 7.5789"

    def test_the_reported_value_is_not_used(self) -> None:
        result = _score(FORMULA, 1.0, weight=8, target=95, values_by_code=self.VALUES)
        assert result.value == pytest.approx(90)

    def test_ceiling(self) -> None:
        rule = {**FORMULA, "ceiling": 1.1}
        assert _score(rule, None, target=80, values_by_code=self.VALUES).points == 11

    def test_rate_per_100k_lower_is_better(self) -> None:
        rule = {
            "method": "formula",
            "numerator": "#{deaths}",
            "denominator": "#{population}",
            "factor": 100_000,
        }
        values = {"deaths": 12, "population": 600_000}  # 2 per 100 000
        assert _score(rule, None, polarity="lower", target=2.5, values_by_code=values).points == 10
        values = {"deaths": 15, "population": 600_000}  # 2.5 per 100 000
        assert _score(rule, None, polarity="lower", target=2, values_by_code=values).points == 8

    def test_without_denominator(self) -> None:
        rule = {"method": "formula", "numerator": "(#{A} + #{B}) / 2"}
        result = _score(rule, None, target=50, values_by_code=self.VALUES)
        assert result.value == 47.5
        assert result.points == 9.5
        assert result.explanation == "value = 47.5; 47.5 / 50 × 10 = 9.5"

    def test_missing_reference_gives_no_value(self) -> None:
        result = _score(FORMULA, 80, weight=8, target=95, values_by_code={"A": 45})
        assert (result.points, result.value, result.veto) == (0, None, None)
        assert result.explanation == "no value: missing #{B}"

    @pytest.mark.parametrize("values", [None, {}])
    def test_no_values_at_all(self, values: dict[str, float] | None) -> None:
        result = _score(FORMULA, None, target=95, values_by_code=values)
        assert (result.points, result.value) == (0, None)
        assert result.explanation == "no value: missing #{A}, #{B}"

    def test_zero_denominator_gives_no_value(self) -> None:
        result = _score(FORMULA, None, target=95, values_by_code={"A": 45, "B": 0})
        assert (result.points, result.value) == (0, None)
        assert result.explanation == "no value: the denominator is 0"

    def test_division_by_zero_inside_the_numerator_gives_no_value(self) -> None:
        rule = {"method": "formula", "numerator": "#{A} / (#{B} - 50)"}
        result = _score(rule, None, target=1, values_by_code=self.VALUES)
        assert (result.points, result.value) == (0, None)
        assert result.explanation.startswith("no value")

    def test_needs_a_positive_target(self) -> None:
        with pytest.raises(ScoringError, match="formula rule needs a target"):
            _score(FORMULA, None, values_by_code=self.VALUES)

    def test_factor_without_denominator(self) -> None:
        rule = {"method": "formula", "numerator": "#{A} / 90", "factor": 100}
        result = _score(rule, None, target=40, values_by_code=self.VALUES)
        assert result.value == pytest.approx(50)  # 100 × 45 / 90
        assert result.points == 10
        assert (
            result.explanation == "value = 100 × 0.5 = 50; 50 / 40 = 1.25 capped at 1; 1 × 10 = 10"
        )

    def test_references(self) -> None:
        rule = parse_rule({**FORMULA, "numerator": "#{A} + #{C.1}"})
        assert references(rule) == frozenset({"A", "B", "C.1"})
        assert references(parse_rule({"method": "formula", "numerator": "2"})) == frozenset()

    @pytest.mark.parametrize("data", [RATIO, LINEAR, BANDS, SHORTFALL, BONUS, VETO])
    def test_other_rules_reference_nothing(self, data: dict[str, Any]) -> None:
        assert references(parse_rule(data)) == frozenset()


class TestCommon:
    @pytest.mark.parametrize("data", ALL_RULES)
    def test_missing_value_scores_zero_and_never_raises(self, data: dict[str, Any]) -> None:
        result = _score(data, None, target=None)
        assert (result.points, result.value, result.veto) == (0, None, None)
        assert result.explanation.startswith("no value")

    def test_missing_value_explanation(self) -> None:
        assert _score(RATIO, None) == Score(0.0, False, None, None, "no value")

    def test_points_are_rounded_to_four_decimals(self) -> None:
        assert _score(RATIO, 1, weight=1, target=3).points == 0.3333

    @pytest.mark.parametrize("polarity", ["up", "", "HIGHER"])
    def test_unknown_polarity_is_an_error(self, polarity: str) -> None:
        with pytest.raises(ScoringError, match="polarity"):
            _score(RATIO, 1, polarity=polarity, target=1)

    @pytest.mark.parametrize("weight", [-1, float("nan"), float("inf")])
    def test_bad_weight_is_an_error(self, weight: float) -> None:
        with pytest.raises(ScoringError, match="weight"):
            _score(RATIO, 1, weight=weight, target=1)

    def test_value_and_target_must_be_finite(self) -> None:
        with pytest.raises(ScoringError, match="value must be a finite number"):
            _score(RATIO, float("nan"), target=1)
        with pytest.raises(ScoringError, match="target must be a finite number"):
            _score(RATIO, 1, target=float("inf"))

    def test_score_is_frozen(self) -> None:
        result = _score(RATIO, 1, target=1)
        with pytest.raises(AttributeError):
            result.points = 3  # type: ignore[misc]

    @pytest.mark.parametrize(
        ("data", "expected"),
        [
            (RATIO, True),
            (FORMULA, True),
            (SHORTFALL, True),
            (INCIDENT, False),
            (LINEAR, False),
            (BANDS, False),
            (BONUS, False),
            (VETO, False),
        ],
    )
    def test_needs_target(self, data: dict[str, Any], expected: bool) -> None:
        assert needs_target(parse_rule(data)) is expected


class TestValidateWeight:
    @pytest.mark.parametrize("data", [VETO, BONUS])
    def test_veto_and_bonus_take_weight_zero(self, data: dict[str, Any]) -> None:
        rule = parse_rule(data)
        validate_weight(rule, 0)
        with pytest.raises(ValueError, match=f"weight must be 0 for a {rule.method} rule"):
            validate_weight(rule, 1)

    @pytest.mark.parametrize("data", [RATIO, LINEAR, BANDS, SHORTFALL, INCIDENT, FORMULA])
    def test_other_rules_take_any_weight_zero_meaning_tracked_not_scored(
        self, data: dict[str, Any]
    ) -> None:
        rule = parse_rule(data)
        for weight in (8, 0.5, 0):
            validate_weight(rule, weight)

    @pytest.mark.parametrize("weight", [-1, float("nan"), float("inf")])
    def test_weight_must_be_finite_and_not_negative(self, weight: float) -> None:
        for data in (RATIO, VETO):
            with pytest.raises(ValueError, match="weight must be a finite number"):
                validate_weight(parse_rule(data), weight)

"""Ranking with ties, grade bands, quotas (with the tie that straddles one) and veto caps."""

from __future__ import annotations

from typing import Any

import pytest

from services.evaluation.engine import (
    CycleRules,
    EngineInputError,
    GradeBand,
    digest,
    score_cycle,
)
from tests.evaluation.engine.builders import cycle, dimension, leaf, objective

NODES = [dimension("A", leaf("A.1", weight=100, rule={"method": "ratio"}, target=100))]
VETO_NODES = [
    dimension(
        "A",
        leaf("A.1", weight=100, rule={"method": "ratio"}, target=100),
        leaf(
            "A.V",
            weight=0,
            rule={
                "method": "veto",
                "operator": ">=",
                "threshold": 1,
                "grade_cap": "good",
                "reason": "安全生产事故",
            },
        ),
    )
]


def _outcome(totals: dict[str, float], rules: CycleRules | None = None, **kwargs: Any):
    nodes = kwargs.pop("nodes", NODES)
    values = kwargs.pop("values", {d: {"A.1": total} for d, total in totals.items()})
    return score_cycle(
        cycle(
            nodes=nodes,
            departments=list(totals),
            groups=[objective()],
            values=values,
            rules=rules or CycleRules(),
        )
    )


def _grades(outcome: Any) -> dict[str, str]:
    return {r.department_id: r.grade for r in outcome.results}


class TestRanking:
    def test_competition_ranking_with_ties(self) -> None:
        outcome = _outcome({"a": 90, "b": 95, "c": 90, "d": 80})
        assert [(r.department_id, r.rank, r.tied) for r in outcome.results] == [
            ("b", 1, False),
            ("a", 2, True),
            ("c", 2, True),
            ("d", 4, False),
        ]

    def test_ties_are_equal_totals_at_four_decimals(self) -> None:
        # 90.00001 and 90.00004 both round to 90.0000; 90.0001 does not.
        outcome = _outcome({"a": 90.00004, "b": 90.00001, "c": 90.0001})
        assert [(r.department_id, r.total, r.rank, r.tied) for r in outcome.results] == [
            ("c", 90.0001, 1, False),
            ("a", 90.0, 2, True),
            ("b", 90.0, 2, True),
        ]

    def test_order_of_the_input_does_not_matter(self) -> None:
        first = _outcome({"a": 90, "b": 95, "c": 90})
        second = _outcome({"c": 90, "b": 95, "a": 90})
        assert first == second

    def test_rank_and_grade_in_the_breakdown(self) -> None:
        result = _outcome({"a": 90, "b": 95}).results[1]
        assert (result.breakdown["rank"], result.breakdown["grade"]) == (2, "good")


class TestBands:
    @pytest.mark.parametrize(
        ("total", "grade"),
        [(100, "excellent"), (95, "excellent"), (94.9999, "good"), (90, "good"), (80, "pass")],
    )
    def test_default_bands(self, total: float, grade: str) -> None:
        assert _grades(_outcome({"a": total})) == {"a": grade}

    def test_below_every_band_is_the_worst(self) -> None:
        rules = CycleRules(grade_bands=(GradeBand("A", 90), GradeBand("B", 60)))
        assert _grades(_outcome({"a": 59.9, "b": 60}, rules)) == {"a": "B", "b": "B"}

    def test_minus_infinity_is_no_minimum_and_stays_json(self) -> None:
        band = GradeBand("fail", float("-inf"))
        assert band.min_total is None
        rules = CycleRules(grade_bands=(GradeBand("A", 90), band))
        inputs = cycle(nodes=NODES, departments=["a"], groups=[objective()], rules=rules)
        assert len(digest(inputs)) == 64

    def test_bands_must_fall(self) -> None:
        rules = CycleRules(grade_bands=(GradeBand("A", 60), GradeBand("B", 90)))
        with pytest.raises(EngineInputError, match="highest minimum to the lowest"):
            _outcome({"a": 70}, rules)


class TestQuotas:
    def test_beyond_the_quota_drops_to_the_next_band_by_rank(self) -> None:
        rules = CycleRules(quotas={"excellent": 2})
        outcome = _outcome({"a": 99, "b": 98, "c": 97, "d": 91}, rules)
        assert _grades(outcome) == {"a": "excellent", "b": "excellent", "c": "good", "d": "good"}
        c = next(r for r in outcome.results if r.department_id == "c")
        assert c.band_grade == "excellent"
        assert "quota of 2 for 'excellent' full: 'good'" in c.grade_explanation

    def test_a_tie_straddling_the_quota_drops_entirely(self) -> None:
        # Quota 2; b and c tie for second place: both drop, only a is excellent.
        rules = CycleRules(quotas={"excellent": 2})
        outcome = _outcome({"a": 99, "b": 97, "c": 97, "d": 96}, rules)
        assert _grades(outcome) == {"a": "excellent", "b": "good", "c": "good", "d": "good"}
        b = next(r for r in outcome.results if r.department_id == "b")
        assert "tied at 97 across the quota of 2" in b.grade_explanation

    def test_a_tie_within_the_quota_stays(self) -> None:
        rules = CycleRules(quotas={"excellent": 2})
        outcome = _outcome({"a": 97, "b": 97, "c": 96}, rules)
        assert _grades(outcome) == {"a": "excellent", "b": "excellent", "c": "good"}

    def test_dropped_departments_cascade_through_the_next_quota(self) -> None:
        # excellent: 1, good: 2. a excellent; b, c drop into good with d; good keeps b and c
        # (the best by rank), d drops to pass.
        rules = CycleRules(quotas={"excellent": 1, "good": 2})
        outcome = _outcome({"a": 99, "b": 98, "c": 96, "d": 92, "e": 85}, rules)
        assert _grades(outcome) == {
            "a": "excellent",
            "b": "good",
            "c": "good",
            "d": "pass",
            "e": "pass",
        }

    def test_quota_zero(self) -> None:
        rules = CycleRules(quotas={"excellent": 0})
        assert _grades(_outcome({"a": 99}, rules)) == {"a": "good"}

    def test_quota_is_never_exceeded(self) -> None:
        rules = CycleRules(quotas={"excellent": 3, "good": 2})
        totals = {f"d{i}": 90 + (i % 4) * 2.5 for i in range(12)}
        grades = list(_grades(_outcome(totals, rules)).values())
        assert grades.count("excellent") <= 3
        assert grades.count("good") <= 2


class TestVetoCap:
    def test_veto_caps_the_grade(self) -> None:
        values = {"a": {"A.1": 99, "A.V": 1}, "b": {"A.1": 99, "A.V": 0}}
        outcome = _outcome({"a": 0, "b": 0}, nodes=VETO_NODES, values=values)
        assert _grades(outcome) == {"a": "good", "b": "excellent"}
        assert {r.department_id: r.vetoed for r in outcome.results} == {"a": True, "b": False}

    def test_a_vetoed_department_takes_no_quota_place(self) -> None:
        # Quota 1: a (vetoed, capped at good) leaves the excellent place to b.
        values = {"a": {"A.1": 99, "A.V": 1}, "b": {"A.1": 98, "A.V": 0}}
        rules = CycleRules(quotas={"excellent": 1})
        outcome = _outcome({"a": 0, "b": 0}, rules, nodes=VETO_NODES, values=values)
        assert _grades(outcome) == {"a": "good", "b": "excellent"}

    def test_a_cap_that_names_no_band_caps_at_the_worst(self) -> None:
        nodes = [
            dimension(
                "A",
                leaf("A.1", weight=100, rule={"method": "ratio"}, target=100),
                leaf(
                    "A.V",
                    weight=0,
                    rule={
                        "method": "veto",
                        "operator": ">",
                        "threshold": 0,
                        "grade_cap": "不合格",
                        "reason": "违纪",
                    },
                ),
            )
        ]
        outcome = _outcome({"a": 0}, nodes=nodes, values={"a": {"A.1": 100, "A.V": 1}})
        assert _grades(outcome) == {"a": "fail"}

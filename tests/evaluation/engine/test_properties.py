"""For random cycles: every breakdown node's points are the sum of its children's, the total
is the breakdown's root, and quotas hold."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.evaluation.engine import (
    AdjustmentInput,
    CycleInput,
    CycleRules,
    DimensionInput,
    GroupInput,
    RatingStats,
    ScorecardStats,
    score_cycle,
)

FINITE = st.floats(min_value=-50, max_value=250, allow_nan=False, allow_infinity=False)
WEIGHT = st.floats(min_value=0, max_value=60, allow_nan=False, allow_infinity=False)
RULES: list[tuple[dict[str, Any], float | None]] = [
    ({"method": "ratio", "ceiling": 1.2}, 80.0),
    ({"method": "ratio"}, None),  # cannot be scored: no target
    ({"method": "linear_interval", "best": 10, "worst": 90, "floor": 0.3}, None),
    (
        {
            "method": "threshold_bands",
            "bands": [{"max": 40, "points": 0.2}, {"min": 40, "max": 90, "points": 0.7}],
        },
        None,
    ),
    ({"method": "deduction", "per_unit": 0.7, "basis": "shortfall", "unit_size": 3}, 60.0),
    ({"method": "deduction", "per_unit": 2, "basis": "incident"}, None),
    ({"method": "formula", "numerator": "#{L0} * 2", "denominator": "#{L1}"}, 1.5),
]
BONUS = {"method": "bonus", "per_unit": 1.5, "cap": 6}
VETO = {"method": "veto", "operator": ">", "threshold": 100, "grade_cap": "pass", "reason": "x"}


@st.composite
def trees(draw: st.DrawFn) -> list[dict[str, Any]]:
    counter = iter(range(1000))
    dimensions = []
    for d in range(draw(st.integers(1, 3))):
        children = []
        for _ in range(draw(st.integers(1, 4))):
            if draw(st.booleans()) and draw(st.booleans()):
                subs = [_leaf(draw, next(counter)) for _ in range(draw(st.integers(1, 3)))]
                children.append(_parent(f"I{next(counter)}", subs))
            else:
                children.append(_leaf(draw, next(counter)))
        dimensions.append(_parent(f"D{d}", children))
    # Formulas refer to L0 and L1; make sure they exist as plain leaves.
    dimensions.append(
        _parent(
            "DX",
            [
                _raw_leaf("L0", 0.0, {"method": "ratio"}, 1.0),
                _raw_leaf("L1", 0.0, {"method": "ratio"}, 1.0),
            ],
        )
    )
    return dimensions


def _leaf(draw: st.DrawFn, number: int) -> dict[str, Any]:
    kind = draw(st.sampled_from(["plain", "plain", "plain", "bonus", "veto"]))
    if kind == "bonus":
        return _raw_leaf(f"B{number}", 0.0, BONUS, None)
    if kind == "veto":
        return _raw_leaf(f"V{number}", 0.0, VETO, None)
    rule, target = draw(st.sampled_from(RULES))
    return _raw_leaf(f"X{number}", draw(WEIGHT), rule, target)


def _raw_leaf(code: str, weight: float, rule: dict[str, Any], target: float | None):
    return {
        "code": code,
        "name_zh": code,
        "weight": weight,
        "polarity": "higher",
        "target": target,
        "target_overrides": {},
        "rule": rule,
        "children": [],
    }


def _parent(code: str, children: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "code": code,
        "name_zh": code,
        "weight": sum(c["weight"] for c in children),
        "polarity": "higher",
        "target": None,
        "target_overrides": {},
        "rule": None,
        "children": children,
    }


def _leaf_codes(nodes: list[dict[str, Any]]) -> list[str]:
    codes = []
    for node in nodes:
        codes += _leaf_codes(node["children"]) if node["children"] else [node["code"]]
    return codes


@st.composite
def cycles(draw: st.DrawFn) -> CycleInput:
    departments = [f"d{i}" for i in range(draw(st.integers(1, 6)))]
    nodes = draw(trees())
    leaves = _leaf_codes(nodes)

    def some_departments() -> frozenset[str] | None:
        if draw(st.booleans()):
            return None
        return frozenset(draw(st.lists(st.sampled_from(departments), unique=True)))

    groups: list[GroupInput] = []
    if draw(st.booleans()):
        groups.append(
            GroupInput("obj", "objective", "objective", draw(WEIGHT), 1, some_departments())
        )
    if draw(st.booleans()):
        dims = tuple(
            DimensionInput(f"q{i}", f"q{i}", None, draw(st.none() | WEIGHT))
            for i in range(draw(st.integers(1, 3)))
        )
        groups.append(
            GroupInput(
                "cit",
                "citizen",
                "citizens",
                draw(WEIGHT),
                draw(st.integers(0, 4)),
                some_departments(),
                dims,
                1,
                5,
                3,
            )
        )
    for index in range(draw(st.integers(0, 2))):
        dims = tuple(
            DimensionInput(f"s{i}", f"s{i}", draw(st.sampled_from([5, 10, 100])), None)
            for i in range(draw(st.integers(1, 3)))
        )
        groups.append(
            GroupInput(
                f"sc{index}",
                draw(st.sampled_from(["leadership", "expert", "deputy", "self", "enterprise"])),
                f"scorecard {index}",
                draw(WEIGHT),
                draw(st.integers(0, 3)),
                some_departments(),
                dims,
            )
        )

    values = {
        d: {code: draw(FINITE) for code in leaves if draw(st.integers(0, 5)) > 0}
        for d in departments
    }
    ratings = []
    scorecards = []
    for group in groups:
        for d in departments:
            for dim in group.dimensions:
                if not draw(st.booleans()):
                    continue
                if group.kind == "citizen":
                    answers = draw(st.lists(st.floats(1, 5), min_size=1, max_size=6))
                    ws = draw(
                        st.lists(st.floats(0.2, 3), min_size=len(answers), max_size=len(answers))
                    )
                    ratings.append(
                        RatingStats(
                            d,
                            dim.code,
                            len(answers),
                            sum(ws),
                            sum(w * x for w, x in zip(ws, answers, strict=True)),
                            sum(w * x * x for w, x in zip(ws, answers, strict=True)),
                            sum(w * w for w in ws),
                            draw(st.integers(0, len(answers))),
                            len(answers),
                        )
                    )
                else:
                    top = float(dim.max_score or 0)
                    answers = draw(st.lists(st.floats(0, top), max_size=5))
                    scorecards.append(
                        ScorecardStats(
                            group.code,
                            d,
                            dim.code,
                            len(answers),
                            sum(answers),
                            sum(a * a for a in answers),
                            draw(st.integers(0, 2)),
                        )
                    )
    targets = [("indicator", code) for code in leaves] + [("group", g.code) for g in groups]
    adjustments = []
    for number in range(draw(st.integers(0, 3))):
        kind, code = draw(st.sampled_from([*targets, ("group", "nope")]))
        adjustments.append(
            AdjustmentInput(
                draw(st.sampled_from(departments)),
                kind,  # type: ignore[arg-type]
                code,
                draw(st.floats(-10, 10)),
                f"AP-{number}",
            )
        )
    rules = CycleRules(
        quotas=draw(
            st.dictionaries(st.sampled_from(["excellent", "good", "pass"]), st.integers(0, 3))
        ),
        normalization=draw(st.sampled_from(["none", "min_max", "z_score"])),
        bonus_cap=draw(st.floats(0, 10)),
        below_min_sample=draw(st.sampled_from(["count", "redistribute"])),
    )
    return CycleInput(
        system_nodes=tuple(nodes),
        departments=tuple(departments),
        groups=tuple(groups),
        values=values,
        scorecards=tuple(scorecards),
        ratings=tuple(ratings),
        rules=rules,
        adjustments=tuple(adjustments),
    )


def _size(node: dict[str, Any]) -> int:
    return 1 + sum(_size(child) for child in node["children"])


def _check_node(node: dict[str, Any]) -> None:
    for key in ("code", "name", "kind", "weight", "points", "explanation", "children"):
        assert key in node, (key, node.get("code"))
    assert math.isfinite(node["points"])
    if node["children"]:
        parts = round(math.fsum(child["points"] for child in node["children"]), 4) + 0.0
        assert parts == node["points"], (node["code"], parts, node["points"])
        for child in node["children"]:
            _check_node(child)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cycles())
def test_breakdowns_add_up(cycle: CycleInput) -> None:
    outcome = score_cycle(cycle)
    assert sorted(r.department_id for r in outcome.results) == sorted(cycle.departments)
    for result in outcome.results:
        assert result.breakdown["points"] == result.total
        assert result.breakdown["kind"] == "total"
        _check_node(result.breakdown)
        assert round(math.fsum(g.points for g in result.group_scores), 4) + 0.0 == result.total
        for group, node in zip(result.group_scores, result.breakdown["children"], strict=True):
            assert group.points == node["points"]
            if not group.has_data:
                assert group.points == 0.0
                continue
            # The parts add up to the group's weighted score, up to each part's rounding (and
            # the effective weight's, shown to 4 decimals).
            assert group.score is not None
            slack = 1e-4 * (_size(node) + 1) + 1e-4 * abs(group.score) / 100
            assert abs(group.points - group.effective_weight / 100 * group.score) <= slack
        json.dumps(result.breakdown, allow_nan=False)
    for grade, quota in cycle.rules.quotas.items():
        if grade != cycle.rules.grade_bands[-1].grade:
            assert sum(r.grade == grade for r in outcome.results) <= quota
    ranks = [r.rank for r in outcome.results]
    assert ranks == sorted(ranks)

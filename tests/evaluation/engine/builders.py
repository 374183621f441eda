"""Keyword-only builders of engine inputs: a snapshot tree, groups, and rating sums."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from services.evaluation.engine import (
    CycleInput,
    CycleRules,
    DimensionInput,
    GroupInput,
    RatingStats,
)


def leaf(
    code: str,
    *,
    weight: float,
    rule: Mapping[str, Any],
    target: float | None = None,
    polarity: str = "higher",
    target_overrides: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """A leaf node as ``GET /v1/indicator-systems/{id}`` shows it."""
    return {
        "code": code,
        "name_zh": f"指标 {code}",
        "name_en": None,
        "weight": weight,
        "polarity": polarity,
        "target": target,
        "target_overrides": dict(target_overrides or {}),
        "rule": dict(rule),
        "children": [],
    }


def dimension(code: str, *children: dict[str, Any], weight: float | None = None) -> dict[str, Any]:
    return {
        "code": code,
        "name_zh": f"维度 {code}",
        "name_en": None,
        "weight": sum(child["weight"] for child in children) if weight is None else weight,
        "polarity": "higher",
        "target": None,
        "target_overrides": {},
        "rule": None,
        "children": list(children),
    }


def objective(weight: float = 100, **kwargs: Any) -> GroupInput:
    return GroupInput(code="objective", kind="objective", name="目标考核", weight=weight, **kwargs)


def citizens(
    weight: float,
    *,
    dimensions: Sequence[str] = ("service",),
    min_sample: int = 1,
    scale: tuple[float, float] = (1, 5),
    **kwargs: Any,
) -> GroupInput:
    return GroupInput(
        code="citizens",
        kind="citizen",
        name="群众满意度",
        weight=weight,
        min_sample=min_sample,
        dimensions=tuple(DimensionInput(code, code) for code in dimensions),
        scale_min=scale[0],
        scale_max=scale[1],
        top_box=3,
        **kwargs,
    )


def scorecard_group(
    code: str,
    weight: float,
    *,
    kind: str = "expert",
    dimensions: Iterable[tuple[str, float, float | None]] = (("work", 100, None),),
    min_sample: int = 1,
    **kwargs: Any,
) -> GroupInput:
    return GroupInput(
        code=code,
        kind=kind,  # type: ignore[arg-type]
        name=f"group {code}",
        weight=weight,
        min_sample=min_sample,
        dimensions=tuple(DimensionInput(c, c, m, w) for c, m, w in dimensions),
        **kwargs,
    )


def rating_stats(
    department_id: str,
    answers: Sequence[float],
    *,
    dimension: str = "service",
    weights: Sequence[float] | None = None,
    top: int = 0,
    answered: int | None = None,
    **kwargs: Any,
) -> RatingStats:
    """Sums of respondents' means ``answers`` (each weighing ``weights``, default 1)."""
    ws = [1.0] * len(answers) if weights is None else list(weights)
    return RatingStats(
        department_id=department_id,
        dimension_code=dimension,
        n=len(answers),
        sum_w=sum(ws),
        sum_wx=sum(w * x for w, x in zip(ws, answers, strict=True)),
        sum_wx2=sum(w * x * x for w, x in zip(ws, answers, strict=True)),
        sum_w2=sum(w * w for w in ws),
        top=top,
        answered=len(answers) if answered is None else answered,
        **kwargs,
    )


def cycle(
    *,
    nodes: Sequence[dict[str, Any]] = (),
    departments: Sequence[str],
    groups: Sequence[GroupInput],
    values: Mapping[str, Mapping[str, float]] | None = None,
    rules: CycleRules | None = None,
    **kwargs: Any,
) -> CycleInput:
    return CycleInput(
        system_nodes=tuple(nodes),
        departments=tuple(departments),
        groups=tuple(groups),
        values=dict(values or {}),
        rules=rules or CycleRules(),
        **kwargs,
    )


def big_cycle(departments: int = 300, indicators: int = 100) -> CycleInput:
    """A cycle of the size the platform must score fast: every rule, four groups."""
    per_dimension = indicators // 5
    weight = 100 / indicators
    rules_by_position = [
        ({"method": "ratio", "ceiling": 1.2}, 100.0),
        ({"method": "linear_interval", "best": 100, "worst": 60}, None),
        (
            {
                "method": "threshold_bands",
                "bands": [{"min": 90, "points": 1}, {"min": 70, "max": 90, "points": 0.6}],
            },
            None,
        ),
        ({"method": "deduction", "per_unit": 0.1, "basis": "shortfall"}, 100.0),
        ({"method": "formula", "numerator": "#{D1.1} + #{D1.2}", "factor": 0.5}, 80.0),
    ]
    dims = []
    for d in range(1, 6):
        children = []
        for i in range(1, per_dimension + 1):
            rule, target = rules_by_position[(d * 7 + i) % len(rules_by_position)]
            if d == 1 and i <= 2:
                rule, target = rules_by_position[0]
            children.append(leaf(f"D{d}.{i}", weight=weight, rule=rule, target=target))
        dims.append(dimension(f"D{d}", *children, weight=weight * per_dimension))
    dims[0]["children"].append(
        leaf("B1", weight=0, rule={"method": "bonus", "per_unit": 1, "cap": 3})
    )
    dims[0]["children"].append(
        leaf(
            "V1",
            weight=0,
            rule={
                "method": "veto",
                "operator": ">=",
                "threshold": 1,
                "grade_cap": "pass",
                "reason": "重大安全事故",
            },
        )
    )
    ids = [f"dept-{n:04d}" for n in range(departments)]
    values = {}
    for n, department in enumerate(ids):
        values[department] = {
            f"D{d}.{i}": 60 + (n * 7 + d * 13 + i * 3) % 45
            for d in range(1, 6)
            for i in range(1, per_dimension + 1)
        }
        values[department]["B1"] = n % 4
        values[department]["V1"] = 1 if n % 50 == 0 else 0
    ratings = tuple(
        rating_stats(department, [3 + (n % 3) * 0.5, 4, 4.5, 5, 2 + n % 4], top=3)
        for n, department in enumerate(ids)
    )
    from services.evaluation.engine import ScorecardStats

    scorecards = tuple(
        ScorecardStats("experts", department, "work", 5, 400 + n % 90, 33000, dont_know=n % 2)
        for n, department in enumerate(ids)
    )
    return cycle(
        nodes=dims,
        departments=ids,
        groups=[objective(50), citizens(30), scorecard_group("experts", 20)],
        values=values,
        ratings=ratings,
        scorecards=scorecards,
        rules=CycleRules(quotas={"excellent": 30}),
    )

"""Scoring one cycle: group scores, normalization, weights, totals, ranks, grades, breakdowns.

For every department and group, in this order:

1. the group's raw score on 0–100: the objective group's base points plus its bonus (capped
   at ``bonus_cap``; indicator adjustments are already in the leaves' points); a scorecard
   or citizen group's dimension-weighted mean;
2. normalization (``CycleRules.normalization``) of each group's raw scores across the
   departments it counts for: ``min_max``: (s − min) / (max − min) × 100; ``z_score``:
   the T-score 50 + 10 × (s − mean) / sd with the population sd. When every department
   scored the same (or only one is counted) the scores stay as they are;
3. group adjustments (upheld appeals) added to the normalized score;
4. the group's points of the total: effective weight / 100 × score.

A group counts for a department when it rates the department (``department_ids``) and has
data for it (the objective group always has, scoring missing values 0; a subjective group
needs answers on at least one dimension). Under ``below_min_sample="redistribute"`` a group
below its minimum sample does not count either. The weight of the groups that do not count
is redistributed to those that do, in proportion to their weights: effective weight = weight
× 100 / (sum of the counted groups' weights). The total is the sum of the groups' points.

Every breakdown node has ``code``, ``name``, ``kind``, ``weight``, ``points``, ``explanation``
and ``children``: ``points`` are always points of the department's total (an indicator of
weight 8 scored 6 in an objective group weighing 40 % shows points 2.4 and score 6), and a
node's points are the sum of its children's, all rounded to 4 decimals (a parent is the sum
of its rounded children). Where the group's score is not the sum of its parts (normalization,
the bonus cap, a group adjustment) a child node of that kind carries the difference.
``score`` is the node on its own scale (an indicator's points of the base 100, a group's or
dimension's 0–100).
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.evaluation.engine import grading
from services.evaluation.engine.objective import (
    CompiledTree,
    ObjectiveScore,
    ScoredNode,
    compile_tree,
    score_department,
)
from services.evaluation.engine.subjective import (
    DimensionScore,
    SubjectiveScore,
    citizen_score,
    scorecard_score,
)
from services.evaluation.engine.types import (
    GROUP_KINDS,
    SCORECARD_KINDS,
    AdjustmentInput,
    CycleInput,
    CycleOutcome,
    DepartmentResult,
    EngineInputError,
    GroupInput,
    GroupScore,
    RatingStats,
    ScorecardStats,
    UnappliedAdjustment,
    WeakDimension,
    WeakIndicator,
)


def _r(number: float) -> float:
    """Rounded to 4 decimals, never −0."""
    return round(number, 4) + 0.0


def _fmt(number: float) -> str:
    text = f"{number:.4f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _node(
    code: str,
    name: str,
    kind: str,
    weight: float | None,
    points: float,
    explanation: str,
    children: list[dict[str, Any]] | None = None,
    **inputs: Any,
) -> dict[str, Any]:
    node: dict[str, Any] = {
        "code": code,
        "name": name,
        "kind": kind,
        "weight": weight,
        "points": points,
    }
    node.update(inputs)
    node["explanation"] = explanation
    node["children"] = children or []
    return node


def _sum_points(children: Sequence[dict[str, Any]]) -> float:
    return _r(math.fsum(child["points"] for child in children))


@dataclass(slots=True)
class _GroupRaw:
    """One group × department before normalization and weighting."""

    rates: bool
    counts: bool
    score: float | None
    objective: ObjectiveScore | None = None
    subjective: SubjectiveScore | None = None
    normalized: float | None = None
    normalization_note: str = ""


# --- inputs -------------------------------------------------------------------------------


def _check_groups(groups: Sequence[GroupInput]) -> None:
    codes = [group.code for group in groups]
    if len(set(codes)) != len(codes):
        raise EngineInputError("group codes repeat")
    if sum(group.kind == "objective" for group in groups) > 1:
        raise EngineInputError("a cycle has at most one objective group")
    for group in groups:
        if group.kind not in GROUP_KINDS:
            raise EngineInputError(f"group {group.code!r}: unknown kind {group.kind!r}")
        if not math.isfinite(group.weight) or group.weight < 0:
            raise EngineInputError(f"group {group.code!r}: weight must be a number ≥ 0")
        dimension_codes = [dimension.code for dimension in group.dimensions]
        if len(set(dimension_codes)) != len(dimension_codes):
            raise EngineInputError(f"group {group.code!r}: dimension codes repeat")
        for dimension in group.dimensions:
            if dimension.weight is not None and (
                not math.isfinite(dimension.weight) or dimension.weight < 0
            ):
                raise EngineInputError(
                    f"group {group.code!r}: dimension {dimension.code!r} has a negative weight"
                )
            if group.kind in SCORECARD_KINDS and not (dimension.max_score or 0) > 0:
                raise EngineInputError(
                    f"group {group.code!r}: dimension {dimension.code!r} needs a max_score > 0"
                )
        if group.kind == "citizen" and (
            group.scale_min is None
            or group.scale_max is None
            or not group.scale_max > group.scale_min
        ):
            raise EngineInputError(
                f"group {group.code!r}: a citizen group needs scale_min < scale_max"
            )


def _index_scorecards(
    stats: Sequence[ScorecardStats], groups: Mapping[str, GroupInput], departments: set[str]
) -> dict[tuple[str, str], dict[str, ScorecardStats]]:
    indexed: dict[tuple[str, str], dict[str, ScorecardStats]] = defaultdict(dict)
    for item in stats:
        group = groups.get(item.group_code)
        if group is None or group.kind not in SCORECARD_KINDS:
            raise EngineInputError(f"scorecards name {item.group_code!r}, not a scorecard group")
        _check_stats_key(group, item.department_id, item.dimension_code, departments)
        key = (item.group_code, item.department_id)
        if item.dimension_code in indexed[key]:
            raise EngineInputError(f"scorecard sums repeat for {(*key, item.dimension_code)}")
        indexed[key][item.dimension_code] = item
    return indexed


def _index_ratings(
    stats: Sequence[RatingStats], groups: Mapping[str, GroupInput], departments: set[str]
) -> dict[tuple[str, str], dict[str, RatingStats]]:
    citizen_groups = [code for code, group in groups.items() if group.kind == "citizen"]
    indexed: dict[tuple[str, str], dict[str, RatingStats]] = defaultdict(dict)
    for item in stats:
        code = item.group_code
        if code is None:
            if len(citizen_groups) != 1:
                raise EngineInputError(
                    "ratings without a group code need exactly one citizen group"
                )
            code = citizen_groups[0]
        group = groups.get(code)
        if group is None or group.kind != "citizen":
            raise EngineInputError(f"ratings name {code!r}, not a citizen group")
        _check_stats_key(group, item.department_id, item.dimension_code, departments)
        key = (code, item.department_id)
        if item.dimension_code in indexed[key]:
            raise EngineInputError(f"rating sums repeat for {(*key, item.dimension_code)}")
        indexed[key][item.dimension_code] = item
    return indexed


def _check_stats_key(
    group: GroupInput, department_id: str, dimension_code: str, departments: set[str]
) -> None:
    if department_id not in departments:
        raise EngineInputError(f"sums for {department_id!r}, not a department of the cycle")
    if all(dimension.code != dimension_code for dimension in group.dimensions):
        raise EngineInputError(f"group {group.code!r} has no dimension {dimension_code!r}")


def _rates(group: GroupInput, department_id: str) -> bool:
    return group.department_ids is None or department_id in group.department_ids


# --- normalization ------------------------------------------------------------------------


def _normalize(method: str, raws: dict[str, _GroupRaw]) -> None:
    """Set each counted raw's ``normalized`` score (see the module doc)."""
    pool = sorted(
        (department, raw.score)
        for department, raw in raws.items()
        if raw.counts and raw.score is not None
    )
    scores = [score for _, score in pool]
    for raw in raws.values():
        raw.normalized = raw.score
    if method == "none" or not scores:
        return
    if len(scores) < 2:
        for department, _ in pool:
            raws[department].normalization_note = "one department only: not normalized"
        return
    if method == "min_max":
        low, high = min(scores), max(scores)
        for department, score in pool:
            raw = raws[department]
            if high == low:
                raw.normalization_note = "every department scored the same: not normalized"
                continue
            raw.normalized = _r((score - low) / (high - low) * 100)
            raw.normalization_note = (
                f"min-max across {len(pool)} departments: ({_fmt(score)} − {_fmt(low)}) / "
                f"({_fmt(high)} − {_fmt(low)}) × 100 = {_fmt(raw.normalized)}"
            )
        return
    if method == "z_score":
        mean = math.fsum(scores) / len(scores)
        sd = math.sqrt(math.fsum((score - mean) ** 2 for score in scores) / len(scores))
        for department, score in pool:
            raw = raws[department]
            if sd == 0:
                raw.normalization_note = "every department scored the same: not normalized"
                continue
            raw.normalized = _r(50 + 10 * (score - mean) / sd)
            raw.normalization_note = (
                f"z-score across {len(pool)} departments (mean {_fmt(mean)}, sd {_fmt(sd)}): "
                f"50 + 10 × ({_fmt(score)} − {_fmt(mean)}) / {_fmt(sd)} = {_fmt(raw.normalized)}"
            )
        return
    raise EngineInputError(f"unknown normalization {method!r}")


# --- breakdown nodes ----------------------------------------------------------------------


def _objective_children(
    objective: ObjectiveScore, scale: float
) -> tuple[list[dict[str, Any]], list[tuple[float, str, ScoredNode]]]:
    """The group's breakdown children, and (achievement, code, leaf) of its scored leaves."""
    weak: list[tuple[float, str, ScoredNode]] = []

    def build(scored: ScoredNode) -> dict[str, Any]:
        node = scored.node
        if node.is_leaf:
            if node.weight > 0 and not scored.bonus:
                weak.append((_r(scored.score / node.weight), node.code, scored))
            # A dict literal, not _node(): this runs once per indicator and department.
            leaf: dict[str, Any] = {
                "code": node.code,
                "name": node.name,
                "kind": "indicator",
                "weight": node.weight,
                "points": round(scale * scored.score, 4) + 0.0,
                "score": scored.score,
                "value": scored.value,
                "target": scored.target,
                "polarity": node.polarity,
                "rule": node.rule_json,
            }
            if scored.bonus:
                leaf["bonus"] = True
            if scored.veto is not None:
                leaf["veto"] = scored.veto
            if scored.error:
                leaf["error"] = True
            leaf["explanation"] = scored.explanation
            leaf["children"] = []
            return leaf
        children = [build(child) for child in scored.children]
        return _node(
            node.code,
            node.name,
            node.kind,
            node.weight,
            _sum_points(children),
            f"sum of its {len(children)} parts: {_fmt(scored.score)} of {_fmt(node.weight)}",
            children,
            score=scored.score,
        )

    return [build(root) for root in objective.roots], weak


def _dimension_node(
    group: GroupInput, dimension: DimensionScore, scale: float, counted: bool
) -> dict[str, Any]:
    code, name = dimension.dimension.code, dimension.dimension.name
    weight = _r(dimension.nominal_share * 100)
    if dimension.score is None:
        return _node(
            code,
            name,
            "citizen_dimension" if group.kind == "citizen" else "scorecard_dimension",
            weight,
            0.0,
            "no answers" + ("" if counted else "; the group does not count"),
            n=dimension.n,
            score=None,
            dont_know=dimension.dont_know if group.kind != "citizen" else None,
        )
    score = _r(dimension.score)
    points = _r(scale * dimension.share * dimension.score) if counted else 0.0
    share = f"{_fmt(dimension.share * 100)} % of the group"
    flag = "; below the minimum sample" if dimension.below_min_sample else ""
    if group.kind == "citizen":
        sat = dimension.satisfaction
        assert sat is not None and dimension.stats is not None
        assert group.scale_min is not None and group.scale_max is not None
        ci_text = (
            "no interval (sample too small)"
            if sat.ci is None
            else f"95 % CI {_fmt(sat.ci[0])}–{_fmt(sat.ci[1])} (t({_fmt(sat.df or 0)}) = "
            f"{_fmt(sat.t or 0)}, n_eff {_fmt(sat.n_eff)})"
        )
        explanation = (
            f"satisfaction index ({_fmt(sat.mean)} − {_fmt(group.scale_min)}) / "
            f"({_fmt(group.scale_max)} − {_fmt(group.scale_min)}) × 100 = {_fmt(score)}, "
            f"n {sat.n}, {ci_text}; {share}{flag}"
        )
        return _node(
            code,
            name,
            "citizen_dimension",
            weight,
            points,
            explanation,
            score=score,
            n=sat.n,
            n_eff=_r(sat.n_eff),
            mean=_r(sat.mean),
            sd=None if sat.sd is None else _r(sat.sd),
            se=None if sat.se is None else _r(sat.se),
            df=None if sat.df is None else _r(sat.df),
            t=None if sat.t is None else _r(sat.t),
            ci=None if sat.ci is None else [_r(sat.ci[0]), _r(sat.ci[1])],
            satisfaction_rate=None if sat.rate is None else _r(sat.rate),
            top=dimension.stats.top,
            answered=dimension.stats.answered,
            below_min_sample=dimension.below_min_sample,
        )
    assert dimension.mean is not None
    max_score = float(dimension.dimension.max_score or 0)
    explanation = (
        f"mean {_fmt(dimension.mean)} of {_fmt(max_score)} × 100 = {_fmt(score)} "
        f"over {dimension.n} answers"
        + (f" ({dimension.dont_know} don't know, not counted)" if dimension.dont_know else "")
        + f"; {share}{flag}"
    )
    return _node(
        code,
        name,
        "scorecard_dimension",
        weight,
        points,
        explanation,
        score=score,
        n=dimension.n,
        mean=_r(dimension.mean),
        sd=None if dimension.sd is None else _r(dimension.sd),
        max_score=max_score,
        dont_know=dimension.dont_know,
        below_min_sample=dimension.below_min_sample,
    )


# --- the cycle ----------------------------------------------------------------------------


def score_cycle(cycle: CycleInput) -> CycleOutcome:
    """Score every department of one cycle (one category); the same inputs give the same
    outcome, bit for bit. Raises ``EngineInputError`` for inputs that do not fit together."""
    rules = cycle.rules
    grading.check_bands(rules.grade_bands)
    if rules.normalization not in ("none", "min_max", "z_score"):
        raise EngineInputError(f"unknown normalization {rules.normalization!r}")
    if rules.below_min_sample not in ("count", "redistribute"):
        raise EngineInputError(f"unknown below_min_sample {rules.below_min_sample!r}")
    departments = sorted(set(cycle.departments))
    if len(departments) != len(cycle.departments):
        raise EngineInputError("departments repeat")
    department_set = set(departments)
    _check_groups(cycle.groups)
    groups = {group.code: group for group in cycle.groups}
    objective_group = next((g for g in cycle.groups if g.kind == "objective"), None)
    tree: CompiledTree | None = None
    if objective_group is not None:
        tree = compile_tree(cycle.system_nodes)
    scorecards = _index_scorecards(cycle.scorecards, groups, department_set)
    ratings = _index_ratings(cycle.ratings, groups, department_set)

    # Adjustments, sorted so that their order in the input never matters.
    unapplied: list[UnappliedAdjustment] = []
    leaf_adjustments: dict[str, dict[str, list[AdjustmentInput]]] = defaultdict(
        lambda: defaultdict(list)
    )
    group_adjustments: dict[str, dict[str, list[AdjustmentInput]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for adjustment in sorted(
        cycle.adjustments,
        key=lambda a: (a.department_id, a.target_kind, a.target_code, a.appeal_id, a.points),
    ):
        reason = None
        if adjustment.department_id not in department_set:
            reason = "not a department of the cycle"
        elif not math.isfinite(adjustment.points):
            reason = "points are not a finite number"
        elif adjustment.target_kind == "indicator":
            if tree is None or objective_group is None:
                reason = "the cycle has no objective group"
            elif adjustment.target_code not in tree.leaf_codes:
                reason = f"no indicator {adjustment.target_code!r} to adjust"
            elif not _rates(objective_group, adjustment.department_id):
                reason = "the objective group does not rate the department"
            else:
                leaf_adjustments[adjustment.department_id][adjustment.target_code].append(
                    adjustment
                )
        elif adjustment.target_kind == "group":
            if adjustment.target_code not in groups:
                reason = f"no group {adjustment.target_code!r} to adjust"
            else:
                group_adjustments[adjustment.department_id][adjustment.target_code].append(
                    adjustment
                )
        else:
            reason = f"unknown target kind {adjustment.target_kind!r}"
        if reason is not None:
            unapplied.append(UnappliedAdjustment(adjustment, reason))

    # 1. raw group scores
    raws: dict[str, dict[str, _GroupRaw]] = {}
    redistribute_small = rules.below_min_sample == "redistribute"
    for group in cycle.groups:
        per_department: dict[str, _GroupRaw] = {}
        for department in departments:
            if not _rates(group, department):
                per_department[department] = _GroupRaw(rates=False, counts=False, score=None)
                continue
            if group.kind == "objective":
                assert tree is not None
                objective = score_department(
                    tree,
                    department,
                    cycle.values.get(department, {}),
                    bonus_cap=rules.bonus_cap,
                    adjustments=leaf_adjustments.get(department, {}),
                )
                per_department[department] = _GroupRaw(
                    rates=True,
                    counts=bool(tree.roots),
                    score=objective.score if tree.roots else None,
                    objective=objective,
                )
                continue
            if group.kind == "citizen":
                subjective = citizen_score(group, ratings.get((group.code, department), {}))
            else:
                subjective = scorecard_score(group, scorecards.get((group.code, department), {}))
            counts = subjective.score is not None and not (
                redistribute_small and subjective.below_min_sample
            )
            per_department[department] = _GroupRaw(
                rates=True, counts=counts, score=subjective.score, subjective=subjective
            )
        raws[group.code] = per_department

    # 2. normalization per group
    for group in cycle.groups:
        _normalize(rules.normalization, raws[group.code])

    # 3–4. per department: adjustments, weights, totals, breakdown
    partial: dict[str, dict[str, Any]] = {}
    for department in departments:
        partial[department] = _department(
            cycle, department, raws, group_adjustments.get(department, {}), unapplied
        )

    ranked = grading.rank({department: partial[department]["total"] for department in departments})
    graded = grading.grade(
        ranked,
        rules.grade_bands,
        rules.quotas,
        {department: partial[department]["veto_caps"] for department in departments},
    )
    results = []
    for entry in ranked:
        info = partial[entry.department_id]
        grade = graded[entry.department_id]
        breakdown = info["breakdown"]
        breakdown["rank"] = entry.rank
        breakdown["tied"] = entry.tied
        breakdown["grade"] = grade.grade
        breakdown["grade_explanation"] = grade.explanation
        results.append(
            DepartmentResult(
                department_id=entry.department_id,
                total=entry.total,
                rank=entry.rank,
                tied=entry.tied,
                grade=grade.grade,
                band_grade=grade.band_grade,
                grade_explanation=grade.explanation,
                vetoed=bool(info["veto_caps"]),
                veto_explanation=info["veto_explanation"],
                group_scores=tuple(info["group_scores"]),
                weakest_indicators=tuple(info["weak_indicators"][: rules.weakest_count]),
                weakest_dimensions=tuple(info["weak_dimensions"][: rules.weakest_count]),
                below_min_sample=tuple(info["below_min_sample"]),
                breakdown=breakdown,
            )
        )
    unapplied.sort(
        key=lambda u: (
            u.adjustment.department_id,
            u.adjustment.target_kind,
            u.adjustment.target_code,
            u.adjustment.appeal_id,
        )
    )
    return CycleOutcome(results=tuple(results), unapplied_adjustments=tuple(unapplied))


def _department(
    cycle: CycleInput,
    department: str,
    raws: Mapping[str, Mapping[str, _GroupRaw]],
    adjustments: Mapping[str, Sequence[AdjustmentInput]],
    unapplied: list[UnappliedAdjustment],
) -> dict[str, Any]:
    rules = cycle.rules
    counted = [group for group in cycle.groups if raws[group.code][department].counts]
    counted_weight = math.fsum(group.weight for group in counted)
    everyone_counts = len(counted) == len(cycle.groups)

    def effective(group: GroupInput) -> float:
        if not raws[group.code][department].counts or counted_weight <= 0:
            return 0.0
        if everyone_counts:
            return float(group.weight)
        return group.weight * 100 / counted_weight

    group_nodes: list[dict[str, Any]] = []
    group_scores: list[GroupScore] = []
    weak_indicators: list[tuple[float, str, ScoredNode]] = []
    weak_dimensions: list[tuple[float, str, str, str]] = []
    below_min: list[str] = []
    veto_caps: list[str] = []
    veto_notes: list[str] = []

    for group in cycle.groups:
        raw = raws[group.code][department]
        weight_eff = effective(group)
        scale = weight_eff / 100
        own_adjustments = list(adjustments.get(group.code, ()))
        if own_adjustments and not raw.counts:
            unapplied.extend(
                UnappliedAdjustment(a, "the group has no data for the department")
                for a in own_adjustments
            )
            own_adjustments = []
        children: list[dict[str, Any]] = []
        notes: list[str] = []
        extras: dict[str, Any] = {"group_kind": group.kind}
        n: int | None = None
        below = False

        if raw.objective is not None:
            objective = raw.objective
            children, weak = _objective_children(objective, scale if raw.counts else 0.0)
            weak_indicators.extend(weak)
            for leaf in objective.vetoes:
                assert leaf.veto is not None
                veto_caps.append(leaf.veto)
                veto_notes.append(f"{leaf.node.code}: {leaf.explanation}")
            extras.update(
                base=objective.base, bonus=objective.bonus, capped_bonus=objective.capped_bonus
            )
            if objective.bonus > objective.capped_bonus:
                excess = objective.capped_bonus - objective.bonus
                children.append(
                    _node(
                        "bonus_cap",
                        "Bonus cap",
                        "bonus_cap",
                        None,
                        _r(scale * excess) if raw.counts else 0.0,
                        f"bonus {_fmt(objective.bonus)} capped at {_fmt(rules.bonus_cap)}: "
                        f"{_fmt(excess)}",
                        score=_r(excess),
                    )
                )
            notes.append(
                f"base {_fmt(objective.base)} + bonus {_fmt(objective.capped_bonus)}"
                + (
                    f" (of {_fmt(objective.bonus)}, capped at {_fmt(rules.bonus_cap)})"
                    if objective.bonus > objective.capped_bonus
                    else ""
                )
                + f" = {_fmt(objective.score)}"
            )
        elif raw.subjective is not None:
            subjective = raw.subjective
            n = subjective.n
            below = subjective.below_min_sample
            if below:
                below_min.append(group.code)
                notes.append(f"n {n} is below the minimum sample {group.min_sample}")
            for dimension in subjective.dimensions:
                if dimension.below_min_sample:
                    below_min.append(f"{group.code}/{dimension.dimension.code}")
                if dimension.score is not None:
                    weak_dimensions.append(
                        (
                            _r(dimension.score),
                            group.code,
                            dimension.dimension.code,
                            dimension.dimension.name,
                        )
                    )
                children.append(_dimension_node(group, dimension, scale, raw.counts))
            notes.extend(subjective.notes)
            if group.kind == "citizen":
                extras.update(
                    scale_min=float(group.scale_min or 0),
                    scale_max=float(group.scale_max or 0),
                    top_box=group.top_box,
                    excluded=subjective.excluded,
                    held=subjective.held,
                )
                if subjective.excluded or subjective.held:
                    notes.append(
                        f"{subjective.excluded} responses excluded and {subjective.held} held "
                        "for review by the quality rules, not counted"
                    )
            extras.update(n=n, min_sample=group.min_sample, below_min_sample=below)
            if subjective.score is not None:
                notes.append(f"dimension-weighted mean {_fmt(subjective.score)}")

        score: float | None = None
        if raw.counts:
            assert raw.score is not None and raw.normalized is not None
            score = raw.normalized
            if raw.normalization_note:
                notes.append(raw.normalization_note)
            if raw.normalized != raw.score:
                target = _r(scale * raw.normalized)
                children.append(
                    _node(
                        "normalization",
                        "Normalization",
                        "normalization",
                        None,
                        _r(target - _sum_points(children)),
                        raw.normalization_note,
                        score=_r(raw.normalized - raw.score),
                        method=rules.normalization,
                    )
                )
            for adjustment in own_adjustments:
                score = _r(score + adjustment.points)
                note = f"appeal {adjustment.appeal_id} upheld: {adjustment.points:+.4g}" + (
                    f" ({adjustment.note})" if adjustment.note else ""
                )
                notes.append(note)
                children.append(
                    _node(
                        f"appeal:{adjustment.appeal_id}",
                        "Appeal adjustment",
                        "adjustment",
                        None,
                        _r(scale * adjustment.points),
                        note,
                        score=float(adjustment.points),
                        appeal_id=adjustment.appeal_id,
                    )
                )
        points = _sum_points(children) if raw.counts else 0.0
        if not raw.rates:
            explanation = "does not rate this department: its weight goes to the other groups"
        elif not raw.counts:
            explanation = (
                "no data for this department"
                if raw.score is None
                else "below the minimum sample, not counted"
            ) + ": its weight goes to the other groups"
            explanation = "; ".join([*notes, explanation])
        else:
            assert score is not None
            weighting = (
                f"weight {_fmt(group.weight)}"
                if weight_eff == group.weight
                else f"weight {_fmt(group.weight)} redistributed to {_fmt(weight_eff)}"
            )
            explanation = "; ".join(
                [*notes, f"{weighting}: {_fmt(weight_eff)} % × {_fmt(score)} = {_fmt(points)}"]
            )
        group_nodes.append(
            _node(
                group.code,
                group.name,
                "group",
                float(group.weight),
                points,
                explanation,
                children,
                effective_weight=_r(weight_eff),
                score=score,
                **extras,
            )
        )
        group_scores.append(
            GroupScore(
                code=group.code,
                kind=group.kind,
                name=group.name,
                weight=float(group.weight),
                effective_weight=_r(weight_eff),
                score=score,
                points=points,
                has_data=raw.counts,
                n=n,
                below_min_sample=below,
            )
        )

    total = _sum_points(group_nodes)
    missing = [group for group in cycle.groups if not raws[group.code][department].counts]
    if not counted:
        total_note = "no group has data for this department: total 0"
    elif counted_weight <= 0:
        total_note = "the groups with data for this department weigh 0: total 0"
    elif missing:
        total_note = (
            "sum of the groups' points; "
            + ", ".join(f"{g.code} ({_fmt(g.weight)})" for g in missing)
            + " without data: the weight goes to "
            + ", ".join(f"{g.code} {_fmt(g.weight)} → {_fmt(effective(g))}" for g in counted)
            + " in proportion"
        )
    else:
        total_note = "sum of the groups' points"
    veto_explanation = "; ".join(veto_notes) if veto_notes else None
    if veto_explanation:
        total_note += f"; veto: {veto_explanation}"
    breakdown = _node(
        "total",
        "Total",
        "total",
        100.0,
        total,
        total_note,
        group_nodes,
        department_id=department,
        vetoed=bool(veto_caps),
    )
    weakest = heapq.nsmallest(rules.weakest_count, weak_indicators, key=lambda w: (w[0], w[1]))
    weak_dimensions.sort()
    return {
        "total": total,
        "breakdown": breakdown,
        "group_scores": group_scores,
        "weak_indicators": [
            WeakIndicator(
                code=leaf.node.code,
                name=leaf.node.name,
                weight=leaf.node.weight,
                points=leaf.score,
                achievement=achievement,
            )
            for achievement, _, leaf in weakest
        ],
        "weak_dimensions": [
            WeakDimension(group_code=g, code=c, name=name, score=s)
            for s, g, c, name in weak_dimensions
        ],
        "below_min_sample": below_min,
        "veto_caps": veto_caps,
        "veto_explanation": veto_explanation,
    }

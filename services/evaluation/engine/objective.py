"""The objective group: every leaf of the indicator tree scored by its rule, summed up the tree.

Weights in the tree are points of the base 100 at every level (the indicator service checks
that a node's children add up to its weight and the dimensions to 100), so a node's score is
the plain sum of its children's. Leaves score with ``services.scoring.rules.score``: formula
leaves compute their value from the department's values. Bonus leaves (weight 0) add points
outside the base 100, which the group caps at the cycle's ``bonus_cap``; a met veto caps the
department's grade. A missing value scores 0 ("no value"); a value the rule cannot score
(e.g. a ratio without a target) scores 0 and says why, it never stops the cycle.

The tree is compiled once per cycle: each rule parsed once, not once per department.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.evaluation.engine.types import AdjustmentInput, EngineInputError
from services.scoring import rules


@dataclass(slots=True)
class CompiledNode:
    code: str
    name: str
    level: int
    weight: float
    polarity: str
    target: float | None
    target_overrides: Mapping[str, float]
    rule: rules.ScoringRule | None
    rule_json: dict[str, Any] | None
    children: list[CompiledNode] = field(default_factory=list)

    @property
    def is_leaf(self) -> bool:
        return not self.children

    @property
    def kind(self) -> str:
        return "dimension" if self.level == 1 and self.children else "indicator"


@dataclass(frozen=True, slots=True)
class CompiledTree:
    roots: tuple[CompiledNode, ...]
    leaves: tuple[CompiledNode, ...]
    leaf_codes: frozenset[str]


@dataclass(slots=True)
class ScoredNode:
    """A node's score for one department, on the base 100 (before the group's weight)."""

    node: CompiledNode
    score: float
    children: list[ScoredNode]
    value: float | None = None
    target: float | None = None
    explanation: str = ""
    bonus: bool = False
    veto: str | None = None
    error: bool = False


@dataclass(slots=True)
class ObjectiveScore:
    roots: list[ScoredNode]
    leaves: list[ScoredNode]
    base: float
    bonus: float
    capped_bonus: float
    score: float  # base + capped bonus, rounded to 4 decimals
    vetoes: list[ScoredNode]


def _float(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EngineInputError(f"{what} must be a number, got {value!r}")
    return float(value)


def compile_tree(nodes: Sequence[Mapping[str, Any]]) -> CompiledTree:
    """The snapshot's nested nodes, each leaf's rule parsed once."""
    leaves: list[CompiledNode] = []

    def build(node: Mapping[str, Any], level: int) -> CompiledNode:
        code = str(node["code"])
        children_json = node.get("children") or []
        rule_json = node.get("rule")
        rule = None
        if not children_json:
            if rule_json is None:
                raise EngineInputError(f"indicator {code!r} has no scoring rule")
            try:
                rule = rules.parse_rule(rule_json)
            except ValueError as exc:
                raise EngineInputError(f"indicator {code!r}: invalid rule: {exc}") from exc
            rule_json = rule.model_dump(mode="json")
        target = node.get("target")
        overrides = {
            str(department): _float(value, f"{code}'s target override")
            for department, value in (node.get("target_overrides") or {}).items()
        }
        compiled = CompiledNode(
            code=code,
            name=str(node.get("name_zh") or node.get("name_en") or node.get("name") or code),
            level=level,
            weight=_float(node.get("weight", 0), f"{code}'s weight"),
            polarity=str(node.get("polarity", "higher")),
            target=None if target is None else _float(target, f"{code}'s target"),
            target_overrides=overrides,
            rule=rule,
            rule_json=rule_json if not children_json else None,
        )
        compiled.children = [build(child, level + 1) for child in children_json]
        if compiled.is_leaf:
            leaves.append(compiled)
        return compiled

    roots = tuple(build(node, 1) for node in nodes)
    codes = [leaf.code for leaf in leaves]
    if len(set(codes)) != len(codes):
        raise EngineInputError("indicator codes repeat in the tree")
    return CompiledTree(roots=roots, leaves=tuple(leaves), leaf_codes=frozenset(codes))


def _score_leaf(
    node: CompiledNode,
    department_id: str,
    values: Mapping[str, float],
    adjustments: Sequence[AdjustmentInput],
) -> ScoredNode:
    assert node.rule is not None
    target = node.target_overrides.get(department_id, node.target)
    value = values.get(node.code)
    if value is not None:
        value = float(value)  # 80 and 80.0 are one input: the breakdown shows them alike
    try:
        scored = rules.score(
            node.rule,
            weight=node.weight,
            polarity=node.polarity,
            value=value,
            target=target,
            values_by_code=values,
        )
    except rules.ScoringError as exc:
        leaf = ScoredNode(
            node=node,
            score=0.0,
            children=[],
            value=value,
            target=target,
            explanation=f"cannot be scored: {exc}; 0 points",
            bonus=isinstance(node.rule, rules.Bonus),
            error=True,
        )
    else:
        leaf = ScoredNode(
            node=node,
            score=scored.points,
            children=[],
            value=scored.value,
            target=target,
            explanation=scored.explanation,
            bonus=scored.bonus,
            veto=scored.veto,
        )
    for adjustment in adjustments:
        leaf.score = round(leaf.score + adjustment.points, 4) + 0.0
        leaf.explanation += f"; {_adjustment_note(adjustment)}"
    if adjustments:
        leaf.explanation += f" = {_fmt(leaf.score)}"
    return leaf


def _adjustment_note(adjustment: AdjustmentInput) -> str:
    note = f" ({adjustment.note})" if adjustment.note else ""
    return f"appeal {adjustment.appeal_id} upheld: {adjustment.points:+.4g}{note}"


def score_department(
    tree: CompiledTree,
    department_id: str,
    values: Mapping[str, float],
    *,
    bonus_cap: float,
    adjustments: Mapping[str, Sequence[AdjustmentInput]],
) -> ObjectiveScore:
    """One department's objective score: the scored tree, base, bonus (capped) and vetoes.

    ``adjustments``: indicator code → the upheld appeals' changes to that leaf's points.
    """
    leaves: list[ScoredNode] = []

    def walk(node: CompiledNode) -> ScoredNode:
        if node.is_leaf:
            leaf = _score_leaf(node, department_id, values, adjustments.get(node.code, ()))
            leaves.append(leaf)
            return leaf
        children = [walk(child) for child in node.children]
        return ScoredNode(
            node=node,
            score=round(sum(child.score for child in children), 4) + 0.0,
            children=children,
        )

    roots = [walk(node) for node in tree.roots]
    base = round(sum(leaf.score for leaf in leaves if not leaf.bonus), 4) + 0.0
    bonus = round(sum(leaf.score for leaf in leaves if leaf.bonus), 4) + 0.0
    capped = min(bonus, bonus_cap)
    return ObjectiveScore(
        roots=roots,
        leaves=leaves,
        base=base,
        bonus=bonus,
        capped_bonus=capped,
        score=round(base + capped, 4) + 0.0,
        vetoes=[leaf for leaf in leaves if leaf.veto is not None],
    )


def _fmt(number: float) -> str:
    text = f"{number:.4f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text

"""Scoring rules of indicators: each rule's parameters, their validation, and scoring a value.

An indicator has a ``weight`` (its points of the base 100), a ``polarity`` (``"higher"`` or
``"lower"`` is better), an optional ``target`` and one rule, chosen by ``method``:

- ``ratio``: weight × min(value / target, ceiling); lower: target / value (value ≤ 0 → ceiling).
- ``linear_interval``: weight × (floor + (1 − floor) × clamp((value − worst) / (best − worst))).
- ``threshold_bands``: weight × points of the band with min ≤ value < max; 0 in no band.
- ``deduction``: max(0, weight − per_unit × amount / unit_size); amount = shortfall or incidents.
- ``bonus``: min(cap, per_unit × value) bonus points outside the base 100 (weight 0).
- ``veto``: 0 points; when ``value <operator> threshold`` the grade is capped at grade_cap.
- ``formula``: value = factor × numerator / denominator of other indicators, scored as ratio.

``clamp`` keeps a fraction within 0..1. The achievement of ``ratio`` and ``formula`` never
goes below 0. ``shortfall`` is how far the value falls short of the target in the polarity's
direction (0 when it meets the target), in proportion, not rounded to whole units.

A missing value (not reported yet, or a formula whose inputs are not all there) scores 0
points with the explanation "no value" and never raises; ``ScoringError`` is for inputs that
cannot be scored at all, such as a ratio without a target.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_validator,
)

from services.scoring import formula

Polarity = Literal["higher", "lower"]
POLARITIES: tuple[str, ...] = ("higher", "lower")
MAX_BANDS = 20


class ScoringError(Exception):
    """Inputs that cannot be scored, e.g. a ratio rule without a target."""


class _Rule(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, str_strip_whitespace=True
    )


class Ratio(_Rule):
    """Achievement against the target, up to ``ceiling`` (1.2 lets 120 % earn 120 %)."""

    method: Literal["ratio"] = "ratio"
    ceiling: float = Field(default=1.0, ge=1.0, le=2.0)


class LinearInterval(_Rule):
    """Linear between ``worst`` (``floor`` × weight) and ``best`` (full weight).

    The direction follows from ``best`` and ``worst``: best < worst means lower is better.
    """

    method: Literal["linear_interval"] = "linear_interval"
    best: float
    worst: float
    floor: float = Field(default=0.0, ge=0.0, lt=1.0)

    @field_validator("worst")
    @classmethod
    def _differs_from_best(cls, worst: float, info: ValidationInfo) -> float:
        if info.data.get("best") == worst:
            raise ValueError("worst must differ from best")
        return worst


class Band(_Rule):
    """Values with ``min ≤ value < max`` earn ``points`` × weight; an absent bound is open."""

    min: float | None = None
    max: float | None = None
    points: float = Field(ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _bounded(self) -> Band:
        if self.min is None and self.max is None:
            raise ValueError("a band needs min or max (or both)")
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError("min must be less than max")
        return self

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in the band: min inclusive, max exclusive."""
        above = self.min is None or value >= self.min
        below = self.max is None or value < self.max
        return above and below

    def label(self) -> str:
        """The band as an interval, e.g. ``[60, 80)`` or ``(−∞, 60)``."""
        low = "(−∞" if self.min is None else f"[{_fmt(self.min)}"
        high = "∞" if self.max is None else _fmt(self.max)
        return f"{low}, {high})"


class ThresholdBands(_Rule):
    """Fixed shares of the weight by the band the value falls in; no band scores 0."""

    method: Literal["threshold_bands"] = "threshold_bands"
    bands: list[Band] = Field(min_length=1, max_length=MAX_BANDS)

    @field_validator("bands")
    @classmethod
    def _disjoint(cls, bands: list[Band]) -> list[Band]:
        for i, first in enumerate(bands):
            for j in range(i + 1, len(bands)):
                second = bands[j]
                low = max(_lower(first), _lower(second))
                high = min(_upper(first), _upper(second))
                if low < high:
                    raise ValueError(
                        f"bands {i + 1} and {j + 1} overlap: {first.label()} and {second.label()}"
                    )
        return bands


class Deduction(_Rule):
    """Full weight minus ``per_unit`` points per ``unit_size`` of shortfall or incidents.

    ``shortfall`` needs a target and counts how far the value misses it in the polarity's
    direction; ``incident`` treats the value itself as a count of incidents.
    """

    method: Literal["deduction"] = "deduction"
    per_unit: float = Field(gt=0.0)
    basis: Literal["shortfall", "incident"]
    unit_size: float = Field(default=1.0, gt=0.0)


class Bonus(_Rule):
    """Extra points outside the base 100: ``per_unit`` per unit of value, up to ``cap``."""

    method: Literal["bonus"] = "bonus"
    per_unit: float = Field(gt=0.0)
    cap: float = Field(gt=0.0)


class Veto(_Rule):
    """One-vote veto: a value meeting ``operator threshold`` caps the grade at ``grade_cap``."""

    method: Literal["veto"] = "veto"
    operator: Literal[">", ">=", "<", "<=", "=="]
    threshold: float
    grade_cap: str = Field(min_length=1, max_length=32)
    reason: str = Field(min_length=1, max_length=200)


class Formula(_Rule):
    """A value computed from other indicators (DHIS2-style), then scored like ``ratio``.

    ``numerator`` and ``denominator`` use the language of ``services.scoring.formula`` and
    refer to other indicators as ``#{CODE}``; ``factor`` scales the quotient, e.g. 100 for a
    percentage or 100000 for a rate per 100 000.
    """

    method: Literal["formula"] = "formula"
    numerator: str
    denominator: str | None = None
    factor: float = 1.0
    ceiling: float = Field(default=1.0, ge=1.0, le=2.0)

    @field_validator("numerator", "denominator")
    @classmethod
    def _parses(cls, source: str | None) -> str | None:
        if source is not None:
            try:
                formula.parse(source)
            except formula.InvalidFormula as exc:
                raise ValueError(f"invalid formula: {exc.detail}") from exc
        return source

    @field_validator("factor")
    @classmethod
    def _nonzero(cls, factor: float) -> float:
        if factor == 0:
            raise ValueError("factor must not be 0")
        return factor

    def expressions(self) -> tuple[formula.Expression, formula.Expression | None]:
        """The parsed numerator and denominator (None when there is no denominator)."""
        denominator = None if self.denominator is None else _parsed(self.denominator)
        return _parsed(self.numerator), denominator


# Scoring a formula for every department parses it once, not once per department: the
# syntax trees are immutable, so one may be shared.
_parsed = functools.lru_cache(maxsize=4096)(formula.parse)


ScoringRule = Annotated[
    Ratio | LinearInterval | ThresholdBands | Deduction | Bonus | Veto | Formula,
    Field(discriminator="method"),
]

_RULE_ADAPTER: TypeAdapter[ScoringRule] = TypeAdapter(ScoringRule)


def parse_rule(data: Mapping[str, Any]) -> ScoringRule:
    """Validate a rule's JSON form; raises pydantic ``ValidationError`` naming the field."""
    return _RULE_ADAPTER.validate_python(data)


def references(rule: ScoringRule) -> frozenset[str]:
    """The indicator codes a formula rule refers to; empty for every other rule."""
    if not isinstance(rule, Formula):
        return frozenset()
    numerator, denominator = rule.expressions()
    if denominator is None:
        return numerator.references()
    return numerator.references() | denominator.references()


def needs_target(rule: ScoringRule) -> bool:
    """Whether scoring a value with ``rule`` needs the indicator's target."""
    if isinstance(rule, Deduction):
        return rule.basis == "shortfall"
    return isinstance(rule, Ratio | Formula)


def validate_weight(rule: ScoringRule, weight: float) -> None:
    """Raise ``ValueError`` when ``weight`` does not suit ``rule``.

    Veto and bonus rules sit outside the base 100 points, so they carry weight 0. Every other
    rule shares out the 100; weight 0 there is an indicator that is reported and tracked but
    not scored — typically an input of a formula (DHIS2's data elements behind an indicator).
    Raising ``ValueError`` lets a pydantic validator call this and report it as a 422.
    """
    if not math.isfinite(weight) or weight < 0:
        raise ValueError(f"weight must be a finite number ≥ 0, got {weight}")
    if isinstance(rule, Veto | Bonus) and weight != 0:
        raise ValueError(
            f"weight must be 0 for a {rule.method} rule: it sits outside the base 100 points"
        )


# --- scoring ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Score:
    """The outcome of scoring one value.

    ``points`` is rounded to 4 decimals; ``bonus`` marks points outside the base 100;
    ``veto`` is the grade cap a met veto imposes; ``value`` is the value scored (for a
    formula the computed one); ``explanation`` shows the arithmetic for people.
    """

    points: float
    bonus: bool
    veto: str | None
    value: float | None
    explanation: str


def score(
    rule: ScoringRule,
    *,
    weight: float,
    polarity: str,
    value: float | None,
    target: float | None,
    values_by_code: Mapping[str, float] | None = None,
) -> Score:
    """Score ``value`` under ``rule``; a formula rule computes its value from ``values_by_code``.

    A missing value scores 0 points ("no value") before any other check of the rule's needs;
    ``ScoringError`` is raised for inputs that cannot be scored: an unknown polarity, a weight
    that is negative or not finite, a value or target that is not finite, a ratio, formula or
    shortfall deduction without a target, and a negative incident count or bonus value.
    """
    if polarity not in POLARITIES:
        raise ScoringError(f"polarity must be 'higher' or 'lower', got {polarity!r}")
    if not math.isfinite(weight) or weight < 0:
        raise ScoringError(f"weight must be a finite number ≥ 0, got {weight}")
    if target is not None and not math.isfinite(target):
        raise ScoringError(f"target must be a finite number, got {target}")

    prefix = ""
    if isinstance(rule, Formula):
        value, note = _formula_value(rule, values_by_code or {})
        if value is None:
            return _result(rule, 0.0, None, f"no value: {note}")
        prefix = f"{note}; "
    elif value is None:
        return _result(rule, 0.0, None, "no value")
    elif not math.isfinite(value):
        raise ScoringError(f"value must be a finite number, got {value}")

    match rule:
        case Ratio() | Formula():
            points, explanation = _ratio(rule, weight, polarity, value, target)
        case LinearInterval():
            points, explanation = _linear_interval(rule, weight, value)
        case ThresholdBands():
            points, explanation = _threshold_bands(rule, weight, value)
        case Deduction():
            points, explanation = _deduction(rule, weight, polarity, value, target)
        case Bonus():
            points, explanation = _bonus(rule, value)
        case Veto():
            return _veto(rule, value)
        case _:
            raise ScoringError(f"not a scoring rule: {rule!r}")
    return _result(rule, points, value, prefix + explanation)


def _result(
    rule: ScoringRule, points: float, value: float | None, explanation: str, veto: str | None = None
) -> Score:
    return Score(
        points=round(points, 4) + 0.0,
        bonus=isinstance(rule, Bonus),
        veto=veto,
        value=value,
        explanation=explanation,
    )


def _require_target(rule: ScoringRule, target: float | None, *, positive: bool) -> float:
    if target is None:
        raise ScoringError(f"the {rule.method} rule needs a target")
    if positive and target <= 0:
        raise ScoringError(f"the {rule.method} rule needs a target greater than 0, got {target}")
    return target


def _ratio(
    rule: Ratio | Formula, weight: float, polarity: str, value: float, target: float | None
) -> tuple[float, str]:
    target = _require_target(rule, target, positive=True)
    ceiling = rule.ceiling
    w = _fmt(weight)
    if polarity == "lower" and value <= 0:
        points = ceiling * weight
        return (
            points,
            f"{_fmt(value)} ≤ 0 earns the ceiling: {_fmt(ceiling)} × {w} = {_fmt(points)}",
        )
    if polarity == "higher":
        achievement, quotient = value / target, f"{_fmt(value)} / {_fmt(target)}"
    else:
        achievement, quotient = target / value, f"{_fmt(target)} / {_fmt(value)}"
    if achievement < 0:
        return 0.0, f"{quotient} < 0 scores 0"
    if achievement > ceiling:
        points = ceiling * weight
        return points, (
            f"{quotient} = {_fmt(achievement)} capped at {_fmt(ceiling)}; "
            f"{_fmt(ceiling)} × {w} = {_fmt(points)}"
        )
    points = achievement * weight
    return points, f"{quotient} × {w} = {_fmt(points)}"


def _linear_interval(rule: LinearInterval, weight: float, value: float) -> tuple[float, str]:
    best, worst, floor = rule.best, rule.worst, rule.floor
    share = (value - worst) / (best - worst)
    w = _fmt(weight)
    if share >= 1:
        return weight, f"{_fmt(value)} reaches best {_fmt(best)}: full {w}"
    if share <= 0:
        points = floor * weight
        return points, (
            f"{_fmt(value)} reaches worst {_fmt(worst)}: {_fmt(floor)} × {w} = {_fmt(points)}"
        )
    points = (floor + (1 - floor) * share) * weight
    position = f"({_fmt(value)} − {_fmt(worst)}) / ({_fmt(best)} − {_fmt(worst)}) = {_fmt(share)}"
    if floor == 0:
        return points, f"{position}; {_fmt(share)} × {w} = {_fmt(points)}"
    return points, (
        f"{position}; ({_fmt(floor)} + {_fmt(1 - floor)} × {_fmt(share)}) × {w} = {_fmt(points)}"
    )


def _threshold_bands(rule: ThresholdBands, weight: float, value: float) -> tuple[float, str]:
    for index, band in enumerate(rule.bands, start=1):
        if band.contains(value):
            points = band.points * weight
            return points, (
                f"{_fmt(value)} in band {index} {band.label()}: "
                f"{_fmt(band.points)} × {_fmt(weight)} = {_fmt(points)}"
            )
    return 0.0, f"{_fmt(value)} is in no band: 0"


def _deduction(
    rule: Deduction, weight: float, polarity: str, value: float, target: float | None
) -> tuple[float, str]:
    if rule.basis == "incident":
        if value < 0:
            raise ScoringError(f"an incident count cannot be negative, got {value}")
        amount, what = value, f"{_fmt(value)} incidents"
    else:
        target = _require_target(rule, target, positive=False)
        amount = max(0.0, target - value if polarity == "higher" else value - target)
        what = f"{_fmt(amount)} short of target {_fmt(target)}"
    units = amount / rule.unit_size
    deducted = rule.per_unit * units
    points = max(0.0, weight - deducted)
    per = "" if rule.unit_size == 1 else f" / {_fmt(rule.unit_size)}"
    arithmetic = f"{_fmt(weight)} − {_fmt(rule.per_unit)} × {_fmt(amount)}{per}"
    if weight - deducted < 0:
        return points, f"{what}: {arithmetic} < 0, floored at 0"
    return points, f"{what}: {arithmetic} = {_fmt(points)}"


def _bonus(rule: Bonus, value: float) -> tuple[float, str]:
    if value < 0:
        raise ScoringError(f"a bonus value cannot be negative, got {value}")
    points = min(rule.cap, rule.per_unit * value)
    return points, (
        f"min({_fmt(rule.cap)}, {_fmt(rule.per_unit)} × {_fmt(value)}) = {_fmt(points)} bonus"
    )


_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
}


def _veto(rule: Veto, value: float) -> Score:
    condition = f"{_fmt(value)} {rule.operator} {_fmt(rule.threshold)}"
    if _COMPARISONS[rule.operator](value, rule.threshold):
        explanation = f"{condition}: veto, grade capped at {rule.grade_cap!r} ({rule.reason})"
        return _result(rule, 0.0, value, explanation, veto=rule.grade_cap)
    return _result(rule, 0.0, value, f"{condition} does not hold: no veto")


def _formula_value(rule: Formula, values: Mapping[str, float]) -> tuple[float | None, str]:
    """The formula's value with a note on how it was computed, or None and why not."""
    missing = sorted(code for code in references(rule) if values.get(code) is None)
    if missing:
        return None, "missing " + ", ".join(f"#{{{code}}}" for code in missing)
    numerator_expression, denominator_expression = rule.expressions()
    numerator = numerator_expression.evaluate(values)
    if numerator is None:
        return None, "the numerator has no finite value"
    factor = "" if rule.factor == 1 else f"{_fmt(rule.factor)} × "
    if denominator_expression is None:
        result = rule.factor * numerator
        if rule.factor == 1:
            return result, f"value = {_fmt(result)}"
        computed = f"value = {factor}{_fmt(numerator)}"
    else:
        denominator = denominator_expression.evaluate(values)
        if denominator is None:
            return None, "the denominator has no finite value"
        if denominator == 0:
            return None, "the denominator is 0"
        result = rule.factor * numerator / denominator
        computed = f"value = {factor}{_fmt(numerator)} / {_fmt(denominator)}"
    if not math.isfinite(result):
        return None, "the value is not finite"
    return result, f"{computed} = {_fmt(result)}"


def _lower(band: Band) -> float:
    return -math.inf if band.min is None else band.min


def _upper(band: Band) -> float:
    return math.inf if band.max is None else band.max


def _fmt(number: float) -> str:
    """A number for explanations: at most 4 decimals, no trailing zeros."""
    text = f"{number:.4f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text

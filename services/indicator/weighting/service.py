"""Weights for sibling indicators, from expert judgement or from the data itself.

Two methods, both returning weights that sum to 1:

- `ahp`: the Analytic Hierarchy Process as defined by Saaty (The Analytic Hierarchy Process,
  1980). Experts compare criteria pairwise on the 1-9 scale; the weights are the normalized
  principal eigenvector of the reciprocal comparison matrix, and the consistency ratio
  CR = CI / RI (CI = (λmax − n) / (n − 1), RI = Saaty's random index) tells whether the
  judgements hang together (CR < 0.1).
- `entropy`: the standard entropy weight method. Each criterion column is min-max normalized
  (reversed for lower-is-better criteria); a criterion whose values differ more across the
  alternatives has lower Shannon entropy and so carries more weight, w_j ∝ 1 − e_j.

`scale` turns weights that sum to 1 into shares of a parent node's weight, rounded to 4
decimals so that siblings still add up to the parent exactly.

Pure Python floats: matrices have at most 15 criteria, so no numerical library is needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from services.common.errors import Unprocessable

MAX_CRITERIA = 15
CONSISTENCY_THRESHOLD = 0.1
RANDOM_INDEX = (
    0.0,
    0.0,
    0.58,
    0.90,
    1.12,
    1.24,
    1.32,
    1.41,
    1.45,
    1.49,
    1.51,
    1.48,
    1.56,
    1.57,
    1.59,
)
"""Saaty's random consistency index RI for n = 1..15 (index n − 1)."""

_DIAGONAL_TOLERANCE = 1e-9
_RECIPROCAL_TOLERANCE = 1e-6
_POWER_TOLERANCE = 1e-12
_POWER_ITERATIONS = 1000
_DECIMALS = 4
_UNIT = 10**_DECIMALS


class InvalidMatrix(Unprocessable):
    code = "invalid-matrix"
    title = "The matrix cannot be used for weighting"


@dataclass(frozen=True)
class AhpResult:
    """AHP weights (sum 1, in matrix order) and the consistency of the judgements."""

    weights: list[float]
    lambda_max: float
    ci: float
    cr: float
    ri: float
    consistent: bool


@dataclass(frozen=True)
class EntropyResult:
    """Entropy weights (sum 1, in column order) with each criterion's entropy and divergence."""

    weights: list[float]
    entropy: list[float]
    divergence: list[float]


def ahp(matrix: list[list[float]]) -> AhpResult:
    """Weights from a pairwise comparison matrix, where a[i][j] says how much i outweighs j."""
    a = _validate_comparisons(matrix)
    n = len(a)
    weights = _principal_eigenvector(a)
    lambda_max = math.fsum(aw / w for aw, w in zip(_multiply(a, weights), weights, strict=True)) / n
    # λmax ≥ n for every positive reciprocal matrix, so a negative CI is only rounding noise.
    ci = max(0.0, (lambda_max - n) / (n - 1)) if n > 2 else 0.0
    ri = RANDOM_INDEX[n - 1]
    cr = ci / ri if ri > 0 else 0.0
    return AhpResult(
        weights=weights,
        lambda_max=lambda_max,
        ci=ci,
        cr=cr,
        ri=ri,
        consistent=cr < CONSISTENCY_THRESHOLD,
    )


def entropy(data: list[list[float]], lower_is_better: list[bool] | None = None) -> EntropyResult:
    """Weights from how much each criterion (column) varies across the alternatives (rows)."""
    columns = _validate_data(data, lower_is_better)
    m = len(data)
    directions = lower_is_better if lower_is_better is not None else [False] * len(columns)
    entropies: list[float] = []
    for column, lower in zip(columns, directions, strict=True):
        low, high = min(column), max(column)
        if high == low:
            entropies.append(1.0)  # all normalized values equal: p = 1/m, maximal entropy
            continue
        span = high - low
        normalized = [(high - x) / span if lower else (x - low) / span for x in column]
        total = math.fsum(normalized)
        plogp = math.fsum(p * math.log(p) for p in (x / total for x in normalized) if p > 0)
        entropies.append(-plogp / math.log(m))
    divergence = [1.0 - e for e in entropies]
    spread = math.fsum(divergence)
    if spread <= 0:
        raise InvalidMatrix("every column is constant: the data cannot tell the criteria apart")
    return EntropyResult(
        weights=[d / spread for d in divergence], entropy=entropies, divergence=divergence
    )


def scale(weights: list[float], total: float) -> list[float]:
    """Shares of `total` (a parent's weight) in 4 decimals that add up to `round(total, 4)`.

    Rounding each share alone can miss the total by a few units of 0.0001; the remainder goes
    to the largest weight (the first, on a tie), where it distorts the proportions least. Only
    when the total is tiny next to 0.0001 per sibling would that push the largest below zero;
    the shortfall is then taken from the next largest weights instead, so no share is negative.
    """
    if not weights:
        raise InvalidMatrix("there are no weights to scale")
    for index, weight in enumerate(weights, start=1):
        if not _is_number(weight) or not math.isfinite(weight) or weight < 0:
            raise InvalidMatrix(f"weight {index} must be a finite number ≥ 0, got {weight!r}")
    if not math.isclose(math.fsum(weights), 1.0, abs_tol=1e-6):
        raise InvalidMatrix(f"the weights must sum to 1, got {math.fsum(weights):.6g}")
    if not _is_number(total) or not math.isfinite(total) or total < 0:
        raise InvalidMatrix(f"the total must be a finite number ≥ 0, got {total!r}")

    units = [round(round(w * total, _DECIMALS) * _UNIT) for w in weights]
    target = round(round(total, _DECIMALS) * _UNIT)
    by_size = sorted(range(len(weights)), key=lambda i: -weights[i])
    units[by_size[0]] += target - sum(units)
    shortfall = -units[by_size[0]]
    if shortfall > 0:
        units[by_size[0]] = 0
        for i in by_size[1:]:
            taken = min(units[i], shortfall)
            units[i] -= taken
            shortfall -= taken
    return [u / _UNIT for u in units]


def _validate_comparisons(matrix: list[list[float]]) -> list[list[float]]:
    n = len(matrix)
    if not 1 <= n <= MAX_CRITERIA:
        raise InvalidMatrix(f"the matrix must have 1 to {MAX_CRITERIA} rows, got {n}")
    for r, row in enumerate(matrix, start=1):
        if len(row) != n:
            raise InvalidMatrix(
                f"the matrix must be square: row {r} has {len(row)} entries, expected {n}"
            )
    for r, row in enumerate(matrix, start=1):
        for c, value in enumerate(row, start=1):
            if not _is_number(value):
                raise InvalidMatrix(f"entry ({r},{c}) must be a number, got {value!r}")
            if not math.isfinite(value) or value <= 0:
                raise InvalidMatrix(
                    f"entry ({r},{c}) must be a finite positive number, got {value:.6g}"
                )
    for i in range(n):
        if abs(matrix[i][i] - 1) > _DIAGONAL_TOLERANCE:
            raise InvalidMatrix(
                f"entry ({i + 1},{i + 1}) must be 1 (a criterion compared with itself), "
                f"got {matrix[i][i]:.6g}"
            )
    for i in range(n):
        for j in range(i + 1, n):
            expected = 1 / matrix[i][j]
            if not math.isclose(matrix[j][i], expected, rel_tol=_RECIPROCAL_TOLERANCE):
                raise InvalidMatrix(
                    f"entry ({j + 1},{i + 1}) must be {_ratio(expected)} (the reciprocal of "
                    f"entry ({i + 1},{j + 1})), got {matrix[j][i]:.6g}"
                )
    return [[float(value) for value in row] for row in matrix]


def _validate_data(
    data: list[list[float]], lower_is_better: list[bool] | None
) -> list[list[float]]:
    """The data as columns, after checking its shape and values."""
    m = len(data)
    if m < 2:
        raise InvalidMatrix(f"the data needs at least 2 rows (alternatives) to compare, got {m}")
    k = len(data[0])
    if k < 1:
        raise InvalidMatrix("the data needs at least 1 column (criterion), got 0")
    for r, row in enumerate(data, start=1):
        if len(row) != k:
            raise InvalidMatrix(
                f"row {r} has {len(row)} values, expected {k} (one per column, as in row 1)"
            )
        for c, value in enumerate(row, start=1):
            if not _is_number(value) or not math.isfinite(value):
                raise InvalidMatrix(
                    f"value at row {r}, column {c} must be a finite number, got {value!r}"
                )
    if lower_is_better is not None and len(lower_is_better) != k:
        raise InvalidMatrix(
            f"lower_is_better has {len(lower_is_better)} entries, expected {k} (one per column)"
        )
    return [[float(row[c]) for row in data] for c in range(k)]


def _principal_eigenvector(a: list[list[float]]) -> list[float]:
    """Power iteration: repeated A·w, normalized to sum 1, converges for a positive matrix."""
    n = len(a)
    w = [1.0 / n] * n
    for _ in range(_POWER_ITERATIONS):
        product = _multiply(a, w)
        total = math.fsum(product)
        following = [x / total for x in product]
        change = max(abs(x - y) for x, y in zip(following, w, strict=True))
        w = following
        if change < _POWER_TOLERANCE:
            break
    return w


def _multiply(a: list[list[float]], w: list[float]) -> list[float]:
    return [math.fsum(a_ij * w_j for a_ij, w_j in zip(row, w, strict=True)) for row in a]


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _ratio(value: float) -> str:
    """A judgement as people write it: 3 or 1/3 when whole, else a decimal."""
    if value >= 1 and math.isclose(value, round(value), rel_tol=1e-9):
        return str(round(value))
    if value < 1 and math.isclose(1 / value, round(1 / value), rel_tol=1e-9):
        return f"1/{round(1 / value)}"
    return f"{value:.6g}"

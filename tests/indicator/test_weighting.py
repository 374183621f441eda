from __future__ import annotations

import math
from decimal import Decimal

import pytest

from services.common.errors import Unprocessable
from services.indicator.weighting.service import (
    RANDOM_INDEX,
    AhpResult,
    EntropyResult,
    InvalidMatrix,
    ahp,
    entropy,
    scale,
)

SAATY = [[1, 3, 5], [1 / 3, 1, 3], [1 / 5, 1 / 3, 1]]


def _from_weights(weights: list[float]) -> list[list[float]]:
    return [[wi / wj for wj in weights] for wi in weights]


class TestAhp:
    def test_saaty_textbook_example(self) -> None:
        result = ahp(SAATY)
        assert isinstance(result, AhpResult)
        assert result.weights == pytest.approx([0.637, 0.258, 0.105], abs=0.001)
        assert math.fsum(result.weights) == pytest.approx(1.0, abs=1e-12)
        assert result.lambda_max == pytest.approx(3.039, abs=0.001)
        assert result.ci == pytest.approx(0.019, abs=0.001)
        assert result.ri == 0.58
        assert result.cr == pytest.approx(0.033, abs=0.001)
        assert result.consistent is True

    def test_inconsistent_judgements_are_flagged(self) -> None:
        result = ahp([[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]])
        assert result.consistent is False
        assert result.cr >= 0.1
        assert result.lambda_max == pytest.approx(1 + 9 + 1 / 9)
        assert result.weights == pytest.approx([1 / 3, 1 / 3, 1 / 3])

    @pytest.mark.parametrize(
        "weights", [[0.5, 0.3, 0.2], [0.1, 0.2, 0.3, 0.4], [1 / 15] * 15, [0.05, 0.6, 0.35]]
    )
    def test_consistent_matrix_gives_back_its_weights(self, weights: list[float]) -> None:
        result = ahp(_from_weights(weights))
        assert result.weights == pytest.approx(weights, rel=1e-12, abs=1e-15)
        assert result.lambda_max == pytest.approx(len(weights), rel=1e-12)
        assert result.ci == pytest.approx(0.0, abs=1e-12)
        assert result.cr == pytest.approx(0.0, abs=1e-12)
        assert result.ri == RANDOM_INDEX[len(weights) - 1]
        assert result.consistent is True

    def test_one_criterion_takes_all_the_weight(self) -> None:
        result = ahp([[1]])
        assert result.weights == [1.0]
        assert (result.lambda_max, result.ci, result.cr, result.ri) == (1.0, 0.0, 0.0, 0.0)
        assert result.consistent is True

    def test_two_criteria_are_always_consistent(self) -> None:
        result = ahp([[1, 4], [0.25, 1]])
        assert result.weights == pytest.approx([0.8, 0.2])
        assert result.lambda_max == pytest.approx(2.0)
        assert (result.ci, result.cr, result.ri) == (0.0, 0.0, 0.0)
        assert result.consistent is True

    def test_random_index_is_saatys_table(self) -> None:
        assert len(RANDOM_INDEX) == 15
        assert RANDOM_INDEX[2:5] == (0.58, 0.90, 1.12)
        assert RANDOM_INDEX[14] == 1.59

    def test_error_is_a_422_problem(self) -> None:
        with pytest.raises(InvalidMatrix) as caught:
            ahp([[1, 2], [2, 1]])
        assert isinstance(caught.value, Unprocessable)
        assert caught.value.status == 422
        assert caught.value.code == "invalid-matrix"
        assert caught.value.title == "The matrix cannot be used for weighting"

    @pytest.mark.parametrize(
        ("matrix", "message"),
        [
            ([], "the matrix must have 1 to 15 rows, got 0"),
            (_from_weights([1 / 16] * 16), "the matrix must have 1 to 15 rows, got 16"),
            ([[1, 2], [0.5]], "the matrix must be square: row 2 has 1 entries, expected 2"),
            ([[1, 2, 3], [0.5, 1, 1]], "the matrix must be square: row 1 has 3 entries"),
            ([[1, 0], [1, 1]], "entry (1,2) must be a finite positive number, got 0"),
            ([[1, -2], [-0.5, 1]], "entry (1,2) must be a finite positive number, got -2"),
            ([[1, 2], [math.nan, 1]], "entry (2,1) must be a finite positive number, got nan"),
            ([[1, math.inf], [0, 1]], "entry (1,2) must be a finite positive number, got inf"),
            ([[1, "3"], [1 / 3, 1]], "entry (1,2) must be a number, got '3'"),
            ([[1, True], [1, 1]], "entry (1,2) must be a number, got True"),
            ([[1, 2], [0.5, 2]], "entry (2,2) must be 1 (a criterion compared with itself), got 2"),
            (
                [[1, 3], [0.5, 1]],
                "entry (2,1) must be 1/3 (the reciprocal of entry (1,2)), got 0.5",
            ),
            (
                [[1, 1 / 4, 2], [4, 1, 1], [0.4, 1, 1]],
                "entry (3,1) must be 1/2 (the reciprocal of entry (1,3)), got 0.4",
            ),
            (
                [[1, 2.5], [0.5, 1]],
                "entry (2,1) must be 0.4 (the reciprocal of entry (1,2)), got 0.5",
            ),
        ],
    )
    def test_invalid_matrices_name_the_cell(self, matrix: list[list[float]], message: str) -> None:
        with pytest.raises(InvalidMatrix) as caught:
            ahp(matrix)
        assert caught.value.detail.startswith(message)

    def test_reciprocals_are_checked_with_relative_tolerance(self) -> None:
        assert ahp([[1, 3], [0.3333334, 1]]).weights == pytest.approx([0.75, 0.25], abs=1e-6)
        with pytest.raises(InvalidMatrix, match=r"entry \(2,1\) must be 1/3"):
            ahp([[1, 3], [0.3334, 1]])


class TestEntropy:
    def test_hand_computed_example(self) -> None:
        # Column 1 (higher is better) 1, 2, 3 normalizes to 0, 1/2, 1: p = 0, 1/3, 2/3.
        # Column 2 (lower is better) 10, 20, 40 normalizes to 1, 2/3, 0: p = 3/5, 2/5, 0.
        ln3 = math.log(3)
        e1 = -(1 / 3 * math.log(1 / 3) + 2 / 3 * math.log(2 / 3)) / ln3
        e2 = -(3 / 5 * math.log(3 / 5) + 2 / 5 * math.log(2 / 5)) / ln3
        d1, d2 = 1 - e1, 1 - e2

        result = entropy([[1, 10], [2, 20], [3, 40]], lower_is_better=[False, True])

        assert isinstance(result, EntropyResult)
        assert result.entropy == pytest.approx([e1, e2], rel=1e-12)
        assert result.divergence == pytest.approx([d1, d2], rel=1e-12)
        assert result.weights == pytest.approx([d1 / (d1 + d2), d2 / (d1 + d2)], rel=1e-12)
        assert result.weights == pytest.approx([0.5206, 0.4794], abs=1e-4)

    def test_lower_is_better_equals_the_negated_column(self) -> None:
        data = [[3.0, 120.0, 7.0], [5.0, 80.0, 2.0], [4.0, 95.0, 9.0], [8.0, 60.0, 1.0]]
        negated = [[a, -b, c] for a, b, c in data]
        reversed_ = entropy(data, lower_is_better=[False, True, False])
        plain = entropy(negated)
        assert reversed_.weights == pytest.approx(plain.weights, rel=1e-12)
        assert reversed_.entropy == pytest.approx(plain.entropy, rel=1e-12)

    def test_direction_changes_the_weights(self) -> None:
        data = [[1.0, 1.0], [2.0, 2.0], [10.0, 10.0]]
        assert entropy(data, [False, True]).weights != pytest.approx(entropy(data).weights)

    def test_constant_column_gets_no_weight(self) -> None:
        result = entropy([[1, 7, 5], [2, 7, 9], [4, 7, 6]])
        assert result.weights[1] == 0.0
        assert result.entropy[1] == 1.0
        assert result.divergence[1] == 0.0
        assert result.weights[0] > 0 and result.weights[2] > 0

    def test_single_informative_column_takes_all_the_weight(self) -> None:
        assert entropy([[1, 5], [2, 5]]).weights == [1.0, 0.0]

    def test_two_alternatives_leave_no_doubt(self) -> None:
        result = entropy([[1, 3], [2, 1]], lower_is_better=[False, False])
        assert result.entropy == [0.0, 0.0]
        assert result.weights == [0.5, 0.5]

    @pytest.mark.parametrize(
        "data",
        [
            [[0.91, 12, 3.5, 40], [0.85, 30, 2.0, 55], [0.97, 18, 4.1, 38], [0.60, 25, 3.0, 70]],
            [[1e6, -3], [2e6, -1], [1.5e6, -2]],
        ],
    )
    def test_weights_sum_to_one(self, data: list[list[float]]) -> None:
        result = entropy(data)
        assert math.fsum(result.weights) == pytest.approx(1.0, abs=1e-12)
        assert all(0 <= w <= 1 for w in result.weights)
        assert all(0 <= e <= 1 for e in result.entropy)

    def test_scale_and_shift_of_a_column_do_not_matter(self) -> None:
        data = [[1, 4], [3, 9], [2, 5], [7, 1]]
        moved = [[a * 1000 + 42, b] for a, b in data]
        assert entropy(moved).weights == pytest.approx(entropy(data).weights, rel=1e-12)

    @pytest.mark.parametrize(
        ("data", "lower_is_better", "message"),
        [
            ([], None, "the data needs at least 2 rows (alternatives) to compare, got 0"),
            ([[1, 2]], None, "the data needs at least 2 rows (alternatives) to compare, got 1"),
            ([[], []], None, "the data needs at least 1 column (criterion), got 0"),
            ([[1, 2], [3]], None, "row 2 has 1 values, expected 2"),
            ([[1, 2], [3, math.inf]], None, "value at row 2, column 2 must be a finite number"),
            ([[math.nan], [1]], None, "value at row 1, column 1 must be a finite number"),
            ([[1, None], [1, 2]], None, "value at row 1, column 2 must be a finite number"),
            ([[1, 2], [3, 4]], [True], "lower_is_better has 1 entries, expected 2"),
            (
                [[1, 2], [1, 2], [1, 2]],
                None,
                "every column is constant: the data cannot tell the criteria apart",
            ),
        ],
    )
    def test_invalid_data(
        self, data: list[list[float]], lower_is_better: list[bool] | None, message: str
    ) -> None:
        with pytest.raises(InvalidMatrix) as caught:
            entropy(data, lower_is_better)
        assert caught.value.detail.startswith(message)


def _decimal_sum(values: list[float]) -> Decimal:
    return sum((Decimal(str(v)) for v in values), Decimal(0))


class TestScale:
    def test_exact_shares_are_just_multiplied(self) -> None:
        assert scale([0.25, 0.25, 0.5], 0.3) == [0.075, 0.075, 0.15]

    def test_rounding_remainder_goes_to_the_largest_weight(self) -> None:
        # 1/3 of 0.1 rounds to 0.0333 three times, 0.0001 short of 0.1.
        assert scale([1 / 3, 1 / 3, 1 / 3], 0.1) == [0.0334, 0.0333, 0.0333]
        assert scale([0.2, 0.4, 0.4], 0.0003) == [0.0001, 0.0001, 0.0001]
        shares = scale([0.1, 0.3, 0.6], 1 / 3)
        assert shares == [0.0333, 0.1, 0.2]
        assert _decimal_sum(shares) == Decimal("0.3333")

    def test_shortfall_is_added_to_the_largest_weight(self) -> None:
        # 1/7 of 0.5 = 0.0714285… rounds to 0.0714 and 5/7 of it = 0.357142… to 0.3571.
        assert scale([1 / 7, 1 / 7, 5 / 7], 0.5) == [0.0714, 0.0714, 0.3572]

    def test_excess_is_taken_from_the_largest_weight(self) -> None:
        # 0.000264 rounds to 0.0003 and 0.000168 twice to 0.0002: 0.0001 over 0.0006.
        assert scale([0.44, 0.28, 0.28], 0.0006) == [0.0002, 0.0002, 0.0002]
        # On a tie the first of the largest weights absorbs the remainder.
        assert scale([1 / 3, 1 / 3, 1 / 3], 0.0002) == [0.0, 0.0001, 0.0001]

    @pytest.mark.parametrize(
        ("weights", "total"),
        [
            ([0.637, 0.258, 0.105], 0.35),
            ([1 / 7] * 7, 1.0),
            ([1 / 15] * 15, 0.2),
            ([0.123456, 0.876544], 0.77777),
            ([0.5206, 0.4794], 12.5),
        ],
    )
    def test_shares_add_up_to_the_rounded_total(self, weights: list[float], total: float) -> None:
        shares = scale(weights, total)
        assert _decimal_sum(shares) == Decimal(str(round(total, 4)))
        assert all(Decimal(str(s)) == round(Decimal(str(s)), 4) for s in shares)
        assert shares == pytest.approx([w * total for w in weights], abs=0.0001 * len(weights))

    def test_no_share_goes_negative_when_the_total_is_tiny(self) -> None:
        # 1/15 of 0.001 rounds up to 0.0001 fifteen times; five of them must give it back.
        shares = scale([1 / 15] * 15, 0.001)
        assert _decimal_sum(shares) == Decimal("0.001")
        assert min(shares) == 0.0
        assert sorted(shares) == [0.0] * 5 + [0.0001] * 10

    def test_zero_total_gives_zero_shares(self) -> None:
        assert scale([0.4, 0.6], 0) == [0.0, 0.0]

    @pytest.mark.parametrize(
        ("weights", "total", "message"),
        [
            ([], 1.0, "there are no weights to scale"),
            ([0.5, 0.4], 1.0, "the weights must sum to 1, got 0.9"),
            ([1.5, -0.5], 1.0, "weight 2 must be a finite number ≥ 0, got -0.5"),
            ([math.nan, 1.0], 1.0, "weight 1 must be a finite number ≥ 0, got nan"),
            ([0.5, 0.5], -1.0, "the total must be a finite number ≥ 0, got -1.0"),
            ([0.5, 0.5], math.inf, "the total must be a finite number ≥ 0, got inf"),
        ],
    )
    def test_invalid_input(self, weights: list[float], total: float, message: str) -> None:
        with pytest.raises(InvalidMatrix) as caught:
            scale(weights, total)
        assert caught.value.detail == message

"""The satisfaction index, its interval, Kish's effective n, the rate, post-stratification.

Expected numbers are worked out by hand in each test (the t quantiles are read from tables;
scipy.stats.t.ppf gives the same).
"""

from __future__ import annotations

import pytest
from scipy.stats import t as student_t

from services.evaluation.engine import (
    StratumSums,
    combine_strata,
    kish_effective_n,
    poststratification_weights,
    satisfaction,
    score_cycle,
)
from tests.evaluation.engine.builders import citizens, cycle, rating_stats


class TestSatisfactionIndex:
    def test_five_answers_by_hand(self) -> None:
        # Answers 3, 4, 4, 4, 3 on 1..5: mean 18 / 5 = 3.6; squared deviations
        # 0.36 + 0.16 + 0.16 + 0.16 + 0.36 = 1.2, s² = 1.2 / 4 = 0.3, s = 0.547723,
        # SE = s / √5 = 0.244949; t(0.975, 4) = 2.776 (tables), half-width on the scale
        # 2.776445 × 0.244949 = 0.680087, on 0–100: × 100 / (5 − 1) = 17.002185.
        # Index (3.6 − 1) / 4 × 100 = 65; interval 65 ± 17.002185 = [47.997815, 82.002185].
        result = satisfaction(rating_stats("d", [3, 4, 4, 4, 3]), scale_min=1, scale_max=5)
        assert result.index == pytest.approx(65.0)
        assert result.mean == pytest.approx(3.6)
        assert result.sd == pytest.approx(0.547723, abs=1e-6)
        assert result.se == pytest.approx(0.244949, abs=1e-6)
        assert result.df == pytest.approx(4)
        assert result.t == pytest.approx(2.776, abs=5e-4)
        assert result.ci == pytest.approx((47.997815, 82.002185), abs=1e-6)

    def test_t_is_students_quantile(self) -> None:
        result = satisfaction(rating_stats("d", [3, 4, 4, 4, 3]), scale_min=1, scale_max=5)
        assert result.t == student_t.ppf(0.975, 4)

    def test_a_single_answer_has_an_index_but_no_interval(self) -> None:
        result = satisfaction(rating_stats("d", [4]), scale_min=1, scale_max=5)
        assert result.index == pytest.approx(75.0)
        assert (result.ci, result.sd, result.t) == (None, None, None)

    def test_identical_answers_have_a_zero_width_interval(self) -> None:
        result = satisfaction(rating_stats("d", [4, 4, 4]), scale_min=1, scale_max=5)
        assert result.ci == pytest.approx((75.0, 75.0))

    def test_interval_is_clipped_to_0_100(self) -> None:
        # 1 and 5: mean 3, s = 2.828, SE = 2; t(0.975, 1) = 12.706: far wider than the scale.
        result = satisfaction(rating_stats("d", [1, 5]), scale_min=1, scale_max=5)
        assert result.ci == (0.0, 100.0)

    def test_other_scales(self) -> None:
        # 0..10 scale, answers 7 and 9: mean 8 → (8 − 0) / 10 × 100 = 80.
        result = satisfaction(rating_stats("d", [7, 9]), scale_min=0, scale_max=10)
        assert result.index == pytest.approx(80.0)


class TestKish:
    def test_equal_weights_give_n(self) -> None:
        assert kish_effective_n(5.0, 5.0) == 5.0

    def test_unequal_weights_give_less(self) -> None:
        # Weights 1, 1, 2, 2: (Σw)² / Σw² = 6² / 10 = 3.6.
        assert kish_effective_n(6.0, 10.0) == pytest.approx(3.6)

    def test_weighted_interval_uses_the_effective_n(self) -> None:
        # x = 3, 4, 4, 5 weighing 1, 1, 2, 2: Σw = 6, Σwx = 25, x̄ = 4.166667, Σwx² = 107;
        # v = 107 / 6 − 4.166667² = 0.472222; n_eff = 3.6; s² = v × 3.6 / 2.6 = 0.653846;
        # SE = √(0.653846 / 3.6) = 0.426174; df = 2.6, t(0.975, 2.6) = 3.478182;
        # index (4.166667 − 1) / 4 × 100 = 79.166667, half-width 3.478182 × 0.426174 × 25
        # = 37.057737.
        stats = rating_stats("d", [3, 4, 4, 5], weights=[1, 1, 2, 2])
        result = satisfaction(stats, scale_min=1, scale_max=5)
        assert result.n == 4
        assert result.n_eff == pytest.approx(3.6)
        assert result.df == pytest.approx(2.6)
        assert result.se == pytest.approx(0.426174, abs=1e-6)
        assert result.t == pytest.approx(3.478182, abs=1e-6)
        assert result.index == pytest.approx(79.166667, abs=1e-6)
        assert result.ci == pytest.approx((79.166667 - 37.057737, 100.0), abs=1e-6)


class TestSatisfactionRate:
    def test_share_of_top_box_answers(self) -> None:
        # 12 items answered, 9 of them in the top box: 75 %.
        stats = rating_stats("d", [4, 5, 3, 4], top=9, answered=12)
        assert satisfaction(stats, scale_min=1, scale_max=5).rate == pytest.approx(75.0)

    def test_in_the_breakdown_with_the_index_and_sample(self) -> None:
        outcome = score_cycle(
            cycle(
                departments=["d"],
                groups=[citizens(100, min_sample=10)],
                ratings=(rating_stats("d", [3, 4, 4, 4, 3], top=4, answered=5),),
            )
        )
        result = outcome.results[0]
        node = result.breakdown["children"][0]["children"][0]
        assert node["kind"] == "citizen_dimension"
        assert node["score"] == 65.0
        assert node["n"] == 5
        assert node["mean"] == 3.6
        assert node["ci"] == [47.9978, 82.0022]
        assert node["satisfaction_rate"] == 80.0
        assert node["below_min_sample"] is True
        assert result.total == 65.0
        assert result.below_min_sample == ("citizens", "citizens/service")


class TestPostStratification:
    def test_weight_is_share_over_sample_share(self) -> None:
        # 80 urban and 20 rural respondents; the population is 60 % urban, 40 % rural:
        # urban 0.6 / 0.8 = 0.75, rural 0.4 / 0.2 = 2.
        weights = poststratification_weights(
            {"urban": 80, "rural": 20}, {"urban": 0.6, "rural": 0.4}
        )
        assert weights == pytest.approx({"rural": 2.0, "urban": 0.75})

    def test_shares_renormalised_over_the_strata_sampled(self) -> None:
        # Nobody from "mountain" (share 0.5): urban and rural share the rest 0.3 : 0.2.
        weights = poststratification_weights(
            {"urban": 30, "rural": 20, "mountain": 0},
            {"urban": 0.3, "rural": 0.2, "mountain": 0.5},
        )
        # urban 0.6 / (30 / 50) = 1, rural 0.4 / (20 / 50) = 1; mountain has nobody: 0.
        assert weights == pytest.approx({"mountain": 0.0, "rural": 1.0, "urban": 1.0})

    def test_a_stratum_without_a_share_weighs_nothing(self) -> None:
        weights = poststratification_weights({"a": 10, "b": 10}, {"a": 1.0})
        assert weights == pytest.approx({"a": 2.0, "b": 0.0})

    def test_weighted_sample_adds_up_to_its_size(self) -> None:
        counts = {"a": 13, "b": 41, "c": 7}
        weights = poststratification_weights(counts, {"a": 0.2, "b": 0.5, "c": 0.3})
        assert sum(counts[s] * weights[s] for s in counts) == pytest.approx(61)

    def test_combining_strata(self) -> None:
        # Stratum a: two respondents x = 3, 5 (Σx 8, Σx² 34) weighing 2; b: one x = 4
        # weighing 0.5. Σw = 2·2 + 0.5 = 4.5; Σwx = 2·8 + 0.5·4 = 18; x̄ = 4;
        # Σw² = 2·4 + 0.25 = 8.25; n_eff = 4.5² / 8.25 = 2.454545.
        stats = combine_strata(
            "d",
            "service",
            [StratumSums("a", 2, 8.0, 34.0, 2, 2), StratumSums("b", 1, 4.0, 16.0, 1, 1)],
            {"a": 2.0, "b": 0.5},
            excluded=3,
        )
        assert (stats.n, stats.top, stats.answered, stats.excluded) == (3, 3, 3, 3)
        assert (stats.sum_w, stats.sum_wx, stats.sum_wx2, stats.sum_w2) == pytest.approx(
            (4.5, 18.0, 76.0, 8.25)
        )
        result = satisfaction(stats, scale_min=1, scale_max=5)
        assert result.mean == pytest.approx(4.0)
        assert result.n_eff == pytest.approx(2.454545, abs=1e-6)

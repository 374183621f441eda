"""The satisfaction index, its interval and post-stratification weights (pure arithmetic).

The satisfaction index of a department on a questionnaire dimension is the ACSI-style
rescaling of the weighted mean answer x̄_w = Σwx / Σw onto 0–100:

    index = (x̄_w − scale_min) / (scale_max − scale_min) × 100

where x is a respondent's mean over the dimension's answered items ("don't know" excluded)
and w the respondent's post-stratification weight (1 without population shares).

Its 95 % confidence interval uses Student's t. Weights make the sample worth less than its
size: Kish's effective sample size n_eff = (Σw)² / Σw² (n_eff = n when every w is 1) stands
in for n in the standard error and the degrees of freedom:

    v      = Σwx² / Σw − x̄_w²                   (the weighted population variance)
    s²     = v × n_eff / (n_eff − 1)            (= the sample variance when every w is 1)
    SE     = √(s² / n_eff)
    CI     = index ± t(0.975, n_eff − 1) × SE × 100 / (scale_max − scale_min)

clipped to 0–100 (the index cannot leave it). With n_eff ≤ 1 there is no interval.

The satisfaction rate is the share of answers in the top box (top / answered, as a
percentage), the figure Hangzhou publishes beside the index.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from scipy.special import stdtrit  # the quantile function scipy.stats.t.ppf calls

from services.evaluation.engine.types import RatingStats

CONFIDENCE = 0.95


@lru_cache(maxsize=4096)
def t_quantile(df: float, probability: float = 0.5 + CONFIDENCE / 2) -> float:
    """Student's t quantile: ``scipy.stats.t.ppf(probability, df)``, any df > 0."""
    return float(stdtrit(df, probability))


@dataclass(frozen=True, slots=True)
class Satisfaction:
    """One department × dimension: the index (0–100), its interval and the sample behind it.

    ``mean`` and ``sd`` are on the questionnaire scale; ``ci`` is (low, high) on 0–100, None
    when the effective sample is too small for one; ``rate`` is the top-box share in percent,
    None when no item was answered.
    """

    n: int
    n_eff: float
    mean: float
    sd: float | None
    index: float
    se: float | None
    df: float | None
    t: float | None
    ci: tuple[float, float] | None
    rate: float | None


def kish_effective_n(sum_w: float, sum_w2: float) -> float:
    """Kish's effective sample size (Σw)² / Σw²; 0 for an empty sample."""
    if sum_w2 <= 0:
        return 0.0
    return sum_w * sum_w / sum_w2


def satisfaction(stats: RatingStats, *, scale_min: float, scale_max: float) -> Satisfaction:
    """The satisfaction index, its 95 % interval and the satisfaction rate of ``stats``.

    ``stats.n`` must be at least 1 and ``stats.sum_w`` above 0.
    """
    span = scale_max - scale_min
    mean = stats.sum_wx / stats.sum_w
    index = (mean - scale_min) / span * 100
    n_eff = kish_effective_n(stats.sum_w, stats.sum_w2)
    rate = None if stats.answered <= 0 else stats.top / stats.answered * 100
    if n_eff <= 1 or stats.n < 2:
        return Satisfaction(
            n=stats.n,
            n_eff=n_eff,
            mean=mean,
            sd=None,
            index=index,
            se=None,
            df=None,
            t=None,
            ci=None,
            rate=rate,
        )
    # Rounding can leave a variance of identical answers a hair below 0.
    variance = max(0.0, stats.sum_wx2 / stats.sum_w - mean * mean) * n_eff / (n_eff - 1)
    sd = math.sqrt(variance)
    se = sd / math.sqrt(n_eff)
    df = n_eff - 1
    t = t_quantile(df)
    half = t * se / span * 100
    ci = (max(0.0, index - half), min(100.0, index + half))
    return Satisfaction(
        n=stats.n,
        n_eff=n_eff,
        mean=mean,
        sd=sd,
        index=index,
        se=se,
        df=df,
        t=t,
        ci=ci,
        rate=rate,
    )


# --- post-stratification ------------------------------------------------------------------


def poststratification_weights(
    sample_counts: Mapping[str, int], population_shares: Mapping[str, float]
) -> dict[str, float]:
    """The weight of a respondent in each stratum: share / (n / N).

    ``sample_counts``: stratum → respondents in the sample (N = their sum);
    ``population_shares``: stratum → share of the population. The shares are renormalised
    over the strata the sample has, so the weighted sample still adds up to N; a stratum
    without a share (or without respondents) weighs 0. Strata come out sorted.
    """
    total_n = sum(count for count in sample_counts.values() if count > 0)
    present = {
        stratum: count
        for stratum, count in sample_counts.items()
        if count > 0 and population_shares.get(stratum, 0) > 0
    }
    total_share = sum(population_shares[stratum] for stratum in present)
    weights = {}
    for stratum in sorted(sample_counts):
        if stratum in present:
            share = population_shares[stratum] / total_share
            weights[stratum] = share / (present[stratum] / total_n)
        else:
            weights[stratum] = 0.0
    return weights


@dataclass(frozen=True, slots=True)
class StratumSums:
    """Unweighted sums of one department × dimension × stratum, as SQL groups them."""

    stratum: str | None
    n: int
    sum_x: float
    sum_x2: float
    top: int
    answered: int


def combine_strata(
    department_id: str,
    dimension_code: str,
    strata: Iterable[StratumSums],
    weights: Mapping[str | None, float],
    *,
    excluded: int = 0,
    held: int = 0,
    group_code: str | None = None,
) -> RatingStats:
    """One ``RatingStats`` out of per-stratum sums, each respondent of a stratum weighing
    ``weights[stratum]`` (missing: 0): Σw = Σ n·w, Σwx = Σ w·Σx, Σwx² = Σ w·Σx², Σw² = Σ n·w².

    ``n``, ``top`` and ``answered`` stay unweighted counts of the respondents who have a
    weight above 0 (the rate is the sample's; the index and its interval are weighted).
    """
    n = top = answered = 0
    sum_w = sum_wx = sum_wx2 = sum_w2 = 0.0
    for cell in sorted(strata, key=lambda cell: (cell.stratum is None, cell.stratum or "")):
        weight = weights.get(cell.stratum, 0.0)
        if weight <= 0 or cell.n <= 0:
            continue
        n += cell.n
        top += cell.top
        answered += cell.answered
        sum_w += cell.n * weight
        sum_wx += weight * cell.sum_x
        sum_wx2 += weight * cell.sum_x2
        sum_w2 += cell.n * weight * weight
    return RatingStats(
        department_id=department_id,
        dimension_code=dimension_code,
        n=n,
        sum_w=sum_w,
        sum_wx=sum_wx,
        sum_wx2=sum_wx2,
        sum_w2=sum_w2,
        top=top,
        answered=answered,
        excluded=excluded,
        held=held,
        group_code=group_code,
    )

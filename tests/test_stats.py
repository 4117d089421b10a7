"""Confidence intervals and paired comparisons, checked against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from xtutor.stats import (
    PairedComparison,
    adjust_pvalues,
    bootstrap_ci,
    mean_ci,
    paired_difference,
    summarize,
)


def test_mean_ci_matches_the_t_interval_by_hand() -> None:
    x = [0.2, 0.4, 0.9]
    m, lo, hi = mean_ci(x)
    s = np.std(x, ddof=1)
    half = 4.302652729911275 * s / math.sqrt(3)  # t_{0.975, 2}
    assert m == pytest.approx(0.5)
    assert (lo, hi) == pytest.approx((0.5 - half, 0.5 + half))
    assert math.isnan(mean_ci([0.3])[1])


def test_mean_ci_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="empty"):
        mean_ci([])
    with pytest.raises(ValueError, match="NaN"):
        mean_ci([0.1, float("nan")])
    with pytest.raises(ValueError, match="confidence"):
        mean_ci([0.1, 0.2], confidence=1.5)


def test_summarize_groups_and_counts() -> None:
    df = pd.DataFrame({"m": ["a", "a", "a", "b"], "lang": ["x"] * 4, "value": [1, 2, 3, 5.0]})
    out = summarize(df, ["m", "lang"]).set_index("m")
    assert out.loc["a", "mean"] == 2.0 and out.loc["a", "n"] == 3
    assert out.loc["a", "ci_low"] < 2.0 < out.loc["a", "ci_high"]
    with pytest.raises(ValueError, match="not in the frame"):
        summarize(df, ["nope"])
    with pytest.raises(ValueError, match="empty"):
        summarize(df[df.m == "z"], ["m"])


def test_paired_difference_pairs_by_seed_and_detects_mismatch() -> None:
    df = pd.DataFrame({"method": ["a", "b"] * 3, "seed": [0, 0, 1, 1, 2, 2],
                       "value": [0.50, 0.55, 0.40, 0.47, 0.60, 0.64]})
    r = paired_difference(df, "method", "b", "a")
    d = np.array([0.05, 0.07, 0.04])
    assert r.mean == pytest.approx(d.mean()) and r.wins == 3 and r.n == 3
    assert r.significant and r.p_value < 0.05
    assert r.verdict == "significantly higher than"
    # unpaired, the between-seed spread would hide the effect; paired it does not
    assert mean_ci([0.55, 0.47, 0.64])[1] < mean_ci([0.5, 0.4, 0.6])[2]
    flipped = paired_difference(df, "method", "a", "b")
    assert flipped.mean == pytest.approx(-r.mean) and not flipped.wins
    assert flipped.verdict == "significantly lower than"
    with pytest.raises(ValueError, match="same units"):
        paired_difference(df.iloc[:5], "method", "b", "a")
    with pytest.raises(ValueError, match="no rows with method == 'c'"):
        paired_difference(df, "method", "c", "a")


def test_paired_difference_without_an_effect_is_not_significant() -> None:
    df = pd.DataFrame({"method": ["a", "b"] * 4, "seed": [0, 0, 1, 1, 2, 2, 3, 3],
                       "value": [0.5, 0.52, 0.5, 0.47, 0.5, 0.51, 0.5, 0.49]})
    r = paired_difference(df, "method", "b", "a")
    assert not r.significant and r.p_value > 0.5
    assert r.verdict == "not significantly different from"
    assert "95% CI" in str(r)


def test_bootstrap_ci_is_seeded_and_covers_the_mean() -> None:
    x = np.random.default_rng(0).normal(1.0, 0.1, size=50)
    a, b = bootstrap_ci(x, seed=3), bootstrap_ci(x, seed=3)
    assert a == b and a[1] < a[0] < a[2]
    assert a[2] - a[1] == pytest.approx(2 * 1.96 * x.std(ddof=1) / math.sqrt(50), rel=0.2)


def test_paired_difference_bootstrap_interval() -> None:
    df = pd.DataFrame({"method": ["a", "b"] * 4, "seed": [0, 0, 1, 1, 2, 2, 3, 3],
                       "value": [0.1, 0.3, 0.2, 0.3, 0.1, 0.4, 0.3, 0.35]})
    t = paired_difference(df, "method", "b", "a")
    b = paired_difference(df, "method", "b", "a", interval="bootstrap", seed=1)
    assert b.mean == pytest.approx(t.mean) and b.p_value == pytest.approx(t.p_value)
    assert 0.05 <= b.ci_low < b.mean < b.ci_high <= 0.3  # within the observed differences
    assert b.ci_high - b.ci_low < t.ci_high - t.ci_low
    with pytest.raises(ValueError, match="interval"):
        paired_difference(df, "method", "b", "a", interval="wald")


def _seed_lang_frame(diffs: dict[int, list[float]]) -> pd.DataFrame:
    """Methods a (0.5 everywhere) and b (0.5 + difference) per (seed, language)."""
    rows = []
    for s, ds in diffs.items():
        for j, d in enumerate(ds):
            rows += [{"method": "a", "seed": s, "lang": f"L{j}", "value": 0.5},
                     {"method": "b", "seed": s, "lang": f"L{j}", "value": 0.5 + d}]
    return pd.DataFrame(rows)


def test_bootstrap_ci_is_scipy_bootstrap_percentile_or_bca() -> None:
    x = np.random.default_rng(1).normal(0.3, 0.2, size=12)
    for method, name in [("percentile", "percentile"), ("bca", "BCa")]:
        ref = stats.bootstrap((x,), np.mean, n_resamples=2000, confidence_level=0.9,
                              method=name, random_state=np.random.default_rng(7))
        got = bootstrap_ci(x, 2000, 0.9, seed=7, method=method)
        assert got[0] == pytest.approx(x.mean())
        assert got[1:] == pytest.approx((ref.confidence_interval.low,
                                         ref.confidence_interval.high), rel=1e-12)
    assert bootstrap_ci(x, seed=2) != bootstrap_ci(x, seed=2, method="bca")
    with pytest.raises(ValueError, match="method must be one of"):
        bootstrap_ci(x, method="basic")
    m, lo, hi = bootstrap_ci([0.4, 0.4, 0.4])
    assert m == lo == hi == pytest.approx(0.4)  # zero width, and no scipy BCa warning
    assert bootstrap_ci([0.4, 0.4, 0.4], method="bca") == (m, m, m)
    m, lo, hi = bootstrap_ci([0.4])
    assert m == 0.4 and math.isnan(lo) and math.isnan(hi)


def test_bootstrap_ci_with_clusters_resamples_cluster_means() -> None:
    x = [0.1, 0.1, 0.1, 0.3, 0.5, 0.5]
    labels = ["s0", "s0", "s0", "s1", "s2", "s2"]
    means = [0.1, 0.3, 0.5]
    assert bootstrap_ci(x, 500, seed=4, clusters=labels) == bootstrap_ci(means, 500, seed=4)
    with pytest.raises(ValueError, match="labels"):
        bootstrap_ci(x, clusters=labels[:-1])


def test_cluster_bootstrap_ignores_how_many_languages_a_seed_has() -> None:
    per_seed = {0: 0.02, 1: 0.10, 2: 0.05, 3: 0.15, 4: -0.01}
    one = _seed_lang_frame({s: [d] for s, d in per_seed.items()})
    three = _seed_lang_frame({s: [d] * 3 for s, d in per_seed.items()})
    uneven = _seed_lang_frame({s: [d] * (3 if s == 0 else 1) for s, d in per_seed.items()})
    kw = {"on": ("seed", "lang"), "interval": "bootstrap", "seed": 5}
    ref = paired_difference(one, "method", "b", "a", **kw)
    for df in (three, uneven):
        r = paired_difference(df, "method", "b", "a", **kw)
        assert (r.mean, r.ci_low, r.ci_high) == pytest.approx((ref.mean, ref.ci_low,
                                                               ref.ci_high), abs=1e-12)
        assert r.n == 5 and r.n_units == len(df) // 2
    assert ref.n == ref.n_units == 5
    # resampling rows instead would give another (narrower) interval for the three-language run
    rows = paired_difference(three, "method", "b", "a", cluster=None, **kw)
    assert rows.n == rows.n_units == 15
    assert rows.ci_high - rows.ci_low < ref.ci_high - ref.ci_low - 1e-3


def test_row_bootstrap_is_much_narrower_than_seed_bootstrap_with_correlated_languages() -> None:
    rng = np.random.default_rng(0)
    seed_effect = [-0.10, 0.25, 0.02, 0.18]  # the model of a seed moves all its languages
    df = _seed_lang_frame({s: list(e + rng.normal(0, 0.005, size=10))
                           for s, e in enumerate(seed_effect)})
    kw = {"on": ("seed", "lang"), "interval": "bootstrap"}
    by_seed = paired_difference(df, "method", "b", "a", **kw)
    by_row = paired_difference(df, "method", "b", "a", cluster=None, **kw)
    assert by_seed.n == 4 and by_seed.n_units == 40 and by_row.n == 40
    assert by_row.ci_high - by_row.ci_low < 0.4 * (by_seed.ci_high - by_seed.ci_low)
    assert by_row.significant and not by_seed.significant  # 40 rows overstate the evidence
    assert by_seed.ci_low < 0 < by_seed.ci_high
    assert "n=4 clusters of 40 units" in str(by_seed)
    # the cluster may be any pairing column, but must be one
    by_lang = paired_difference(df, "method", "b", "a", cluster="lang", **kw)
    assert by_lang.n == 10
    with pytest.raises(ValueError, match="cluster"):
        paired_difference(df, "method", "b", "a", cluster="nope", **kw)


def test_paired_pvalue_degenerate_cases_have_no_special_zero() -> None:
    def frame(diffs: list[float]) -> pd.DataFrame:
        return _seed_lang_frame({s: [d] for s, d in enumerate(diffs)})

    zero = paired_difference(frame([0.0, 0.0, 0.0]), "method", "b", "a")
    assert zero.p_value == 1.0 and not zero.significant
    # identical non-zero differences (here only up to rounding: 0.5 + 0.05 - 0.5): no variance,
    # the t-test is undefined -> NaN, and NaN is never significant
    same = paired_difference(frame([0.05, 0.05, 0.05]), "method", "b", "a")
    assert math.isnan(same.p_value) and same.ci_low == pytest.approx(0.05)
    assert not same.significant and same.verdict == "not significantly different from"
    assert not PairedComparison(0.1, 0.1, 0.1, math.nan, 3, 3).significant
    # nearly equal differences (the old code's np.allclose case, which set p = 0): scipy's p
    d = [0.05, 0.0500001, 0.0500002]
    near = paired_difference(frame(d), "method", "b", "a")
    ref = stats.ttest_1samp(np.array(d) + 0.5 - 0.5, 0.0).pvalue
    assert 0 < near.p_value == pytest.approx(ref, rel=1e-6)
    one = paired_difference(frame([0.2]), "method", "b", "a", interval="bootstrap")
    assert math.isnan(one.p_value) and math.isnan(one.ci_low) and not one.significant


def test_paired_comparison_stays_backward_compatible() -> None:
    c = PairedComparison(0.1, 0.05, 0.15, 0.01, 3, 3)
    assert c.n_units == 3 and c.significant
    assert str(c) == "+0.100 [95% CI +0.050, +0.150], paired t-test p=0.01, n=3"


def test_adjust_pvalues_holm_and_bh() -> None:
    assert adjust_pvalues([0.01, 0.04, 0.03], method="holm") == pytest.approx([0.03, 0.06, 0.06])
    assert adjust_pvalues([0.01, 0.04, 0.03]) == adjust_pvalues([0.01, 0.04, 0.03], "holm")
    # BH by hand: sorted 0.01, 0.03, 0.04, 0.20 -> p * 4 / rank = 0.04, 0.06, 0.0533, 0.20,
    # then the running minimum from the largest: 0.04, 0.0533, 0.0533, 0.20
    assert adjust_pvalues([0.01, 0.04, 0.03, 0.20], method="bh") == pytest.approx(
        [0.04, 0.16 / 3, 0.16 / 3, 0.20])
    # clipped to 1
    assert adjust_pvalues([0.6, 0.7], method="holm") == [1.0, 1.0]
    assert adjust_pvalues([0.9, 0.95, 0.99], method="bh") == pytest.approx([0.99] * 3)
    assert adjust_pvalues([], method="bh") == []


def test_adjust_pvalues_nan_and_bad_input() -> None:
    nan = float("nan")
    out = adjust_pvalues([0.01, nan, 0.04, 0.03], method="holm")  # a family of three
    assert math.isnan(out[1])
    assert [out[0], out[2], out[3]] == pytest.approx([0.03, 0.06, 0.06])
    out = adjust_pvalues([nan, 0.01, 0.04], method="bh")
    assert math.isnan(out[0]) and out[1:] == pytest.approx([0.02, 0.04])
    assert all(math.isnan(p) for p in adjust_pvalues([nan, nan], method="bh"))
    with pytest.raises(ValueError, match=r"method must be one of \('holm', 'bh'\), got 'bonf'"):
        adjust_pvalues([0.1], method="bonf")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        adjust_pvalues([0.1, 1.5])

"""Confidence intervals and paired comparisons, checked against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from xtutor.stats import bootstrap_ci, mean_ci, paired_difference, summarize


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

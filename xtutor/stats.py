"""Small statistics for multi-seed comparisons: means with 95% confidence intervals, paired
differences across seeds, and a seeded bootstrap.

Every comparison in the book runs each condition with several seeds. :func:`mean_ci` gives the
Student-t interval of a mean over seeds; :func:`summarize` does it per group of a tidy records
frame; :func:`paired_difference` compares two methods seed by seed (the same seed shares the
pretrained encoder and the data, so the paired difference removes that variance) and reports a
paired t-test; :func:`bootstrap_ci` is the distribution-free alternative.

Example:
    >>> m, lo, hi = mean_ci([0.5, 0.6, 0.7])
    >>> round(m, 2), round(lo, 3), round(hi, 3)
    (0.6, 0.352, 0.848)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as _st


def _values(values: Sequence[float] | np.ndarray, name: str = "values") -> np.ndarray:
    x = np.asarray(values, dtype=float).ravel()
    if x.size == 0:
        raise ValueError(f"{name} is empty: a mean needs at least one value")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values: {x.tolist()}")
    return x


def mean_ci(values: Sequence[float] | np.ndarray, confidence: float = 0.95
            ) -> tuple[float, float, float]:
    """``(mean, low, high)``: the Student-t confidence interval of the mean of ``values``.

    ``mean +- t_{(1+c)/2, n-1} * s / sqrt(n)`` with ``s`` the sample standard deviation. With a
    single value the interval is undefined and ``(v, nan, nan)`` is returned; identical values
    give a zero-width interval.

    Example:
        >>> mean_ci([1.0, 1.0, 1.0])
        (1.0, 1.0, 1.0)
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    x = _values(values)
    m = float(x.mean())
    if x.size == 1:
        return m, math.nan, math.nan
    half = float(_st.t.ppf((1 + confidence) / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return m, m - half, m + half


def summarize(df: pd.DataFrame, by: Sequence[str], value: str = "value",
              confidence: float = 0.95) -> pd.DataFrame:
    """Mean, confidence interval and count of ``value`` per group of ``by`` (one row each).

    Columns: ``*by, mean, ci_low, ci_high, n``.

    Example:
        >>> df = pd.DataFrame({"method": ["a", "a", "b", "b"], "value": [1.0, 3.0, 2.0, 2.0]})
        >>> summarize(df, ["method"])[["method", "mean", "n"]].to_dict("records")
        [{'method': 'a', 'mean': 2.0, 'n': 2}, {'method': 'b', 'mean': 2.0, 'n': 2}]
    """
    missing = [c for c in [*by, value] if c not in df.columns]
    if missing:
        raise ValueError(f"summarize: columns {missing} are not in the frame "
                         f"(it has {list(df.columns)})")
    if df.empty:
        raise ValueError("summarize: the frame is empty (did a filter remove every row?)")
    rows = []
    for key, g in df.groupby(list(by), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        m, lo, hi = mean_ci(g[value].to_numpy(), confidence)
        rows.append({**dict(zip(by, key, strict=True)), "mean": m, "ci_low": lo, "ci_high": hi,
                     "n": len(g)})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class PairedComparison:
    """``treatment - control`` over matched units (seeds, or seed x language).

    ``mean``/``ci_low``/``ci_high`` describe the mean difference (Student-t or percentile
    bootstrap interval, see :func:`paired_difference`);
    ``p_value`` is the two-sided paired t-test (NaN with fewer than two units, 1.0 when every
    difference is zero); ``wins`` counts units where the treatment is higher.
    """

    mean: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    wins: int

    @property
    def significant(self) -> bool:
        """Whether the 95% interval excludes zero."""
        return bool(self.ci_low > 0 or self.ci_high < 0)

    @property
    def verdict(self) -> str:
        """What the interval says, in words, for prose: ``"significantly higher than"``,
        ``"significantly lower than"`` or ``"not significantly different from"``.

        Example:
            >>> PairedComparison(0.1, 0.05, 0.15, 0.01, 3, 3).verdict
            'significantly higher than'
        """
        if not self.significant:
            return "not significantly different from"
        return "significantly higher than" if self.mean > 0 else "significantly lower than"

    def __str__(self) -> str:
        return (f"{self.mean:+.3f} [95% CI {self.ci_low:+.3f}, {self.ci_high:+.3f}], "
                f"paired t-test p={self.p_value:.3g}, n={self.n}")


def paired_difference(df: pd.DataFrame, column: str, treatment: str, control: str,
                      on: Sequence[str] = ("seed",), value: str = "value",
                      confidence: float = 0.95, interval: str = "t",
                      n_resamples: int = 10_000, seed: int = 0) -> PairedComparison:
    """Compare ``treatment`` and ``control`` (two values of ``column``) unit by unit.

    Rows are matched on the columns ``on`` (e.g. ``("seed",)`` or ``("seed", "eval_lang")``);
    several rows per unit are averaged first. Units present for only one side are an error:
    a silent drop would bias the comparison. ``interval`` is ``"t"`` (Student-t interval of
    the mean difference) or ``"bootstrap"`` (seeded percentile bootstrap over units,
    :func:`bootstrap_ci`); the p-value is the paired t-test either way.

    Example:
        >>> df = pd.DataFrame({"method": ["a", "b"] * 3, "seed": [0, 0, 1, 1, 2, 2],
        ...                    "value": [0.5, 0.7, 0.4, 0.7, 0.6, 0.8]})
        >>> r = paired_difference(df, "method", "b", "a")
        >>> round(r.mean, 3), r.n, r.wins, r.significant
        (0.233, 3, 3, True)
        >>> b = paired_difference(df, "method", "b", "a", interval="bootstrap")
        >>> round(b.ci_low, 3), round(b.ci_high, 3)
        (0.2, 0.3)
    """
    if interval not in ("t", "bootstrap"):
        raise ValueError(f"interval must be 't' or 'bootstrap', got {interval!r}")
    on = list(on)
    missing = [c for c in [column, value, *on] if c not in df.columns]
    if missing:
        raise ValueError(f"paired_difference: columns {missing} are not in the frame")
    sides = {}
    for name in (treatment, control):
        part = df[df[column] == name]
        if part.empty:
            raise ValueError(f"paired_difference: no rows with {column} == {name!r}; values "
                             f"present: {sorted(map(str, df[column].unique()))}")
        sides[name] = part.groupby(on)[value].mean()
    t, c = sides[treatment], sides[control]
    if set(t.index) != set(c.index):
        only = sorted(set(t.index) ^ set(c.index))[:5]
        raise ValueError(f"paired_difference: {treatment!r} and {control!r} were not run on the "
                         f"same units ({on}); unmatched: {only}")
    d = (t - c.loc[t.index]).to_numpy()
    if interval == "t":
        m, lo, hi = mean_ci(d, confidence)
    else:
        m, lo, hi = bootstrap_ci(d, n_resamples, confidence, seed)
    if d.size < 2:
        p = math.nan
    elif np.allclose(d, 0):
        p = 1.0
    elif np.allclose(d, d[0]):
        p = 0.0
    else:
        p = float(_st.ttest_1samp(d, 0.0).pvalue)
    return PairedComparison(m, lo, hi, p, int(d.size), int((d > 0).sum()))


def bootstrap_ci(values: Sequence[float] | np.ndarray, n_resamples: int = 10_000,
                 confidence: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """``(mean, low, high)`` with a seeded percentile-bootstrap interval of the mean.

    Example:
        >>> m, lo, hi = bootstrap_ci([0.1, 0.2, 0.3, 0.4], seed=0)
        >>> round(m, 2), lo <= m <= hi
        (0.25, True)
    """
    if n_resamples < 100:
        raise ValueError(f"n_resamples should be at least 100, got {n_resamples}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    x = _values(values)
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(n_resamples, x.size))].mean(axis=1)
    a = (1 - confidence) / 2
    return float(x.mean()), float(np.quantile(means, a)), float(np.quantile(means, 1 - a))

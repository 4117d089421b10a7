"""Small statistics for multi-seed comparisons: means with 95% confidence intervals, paired
differences across seeds, and a seeded bootstrap.

Every comparison in the book runs each condition with several seeds. :func:`mean_ci` gives the
Student-t interval of a mean over seeds; :func:`summarize` does it per group of a tidy records
frame; :func:`paired_difference` compares two methods seed by seed (the same seed shares the
pretrained encoder and the data, so the paired difference removes that variance) and reports a
paired t-test; :func:`bootstrap_ci` is the distribution-free alternative (a cluster bootstrap
that resamples whole seeds when the units are seed x language); :func:`adjust_pvalues` corrects
a family of p-values for multiple comparisons (Holm or Benjamini-Hochberg).

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

    ``mean``/``ci_low``/``ci_high`` describe the mean difference (Student-t interval over the
    paired units, or a bootstrap interval over clusters of units, see
    :func:`paired_difference`); ``p_value`` is the two-sided paired t-test over the units (NaN
    with fewer than two units, 1.0 when every difference is zero, NaN when every difference
    is the same non-zero number: the t statistic is undefined without variance); ``n`` is the
    number of independent units the interval used (clusters, e.g. seeds, for the bootstrap);
    ``wins`` counts units where the treatment is higher; ``n_units`` is the number of paired
    units (defaults to ``n``; larger than ``n`` when several units share a cluster); ``sd`` is
    the standard deviation of the ``n`` independent differences (NaN when unknown), from which
    :func:`detectable_effect` gives the design's power.
    """

    mean: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    wins: int
    n_units: int | None = None
    sd: float = math.nan

    def __post_init__(self) -> None:
        if self.n_units is None:
            object.__setattr__(self, "n_units", self.n)

    @property
    def significant(self) -> bool:
        """Whether the 95% interval excludes zero and the p-value is defined (a NaN p-value,
        e.g. from identical non-zero differences without variance, is never significant).

        Example:
            >>> PairedComparison(0.1, 0.1, 0.1, math.nan, 3, 3).significant
            False
        """
        if math.isnan(self.p_value):
            return False
        return bool(self.ci_low > 0 or self.ci_high < 0)

    @property
    def verdict(self) -> str:
        """What the interval says, in words, for prose: ``"significantly higher than"``,
        ``"significantly lower than"`` or ``"not significantly different from"`` (also when
        the p-value is NaN, see :attr:`significant`).

        Example:
            >>> PairedComparison(0.1, 0.05, 0.15, 0.01, 3, 3).verdict
            'significantly higher than'
        """
        if not self.significant:
            return "not significantly different from"
        return "significantly higher than" if self.mean > 0 else "significantly lower than"

    def __str__(self) -> str:
        units = "" if self.n_units == self.n else f" clusters of {self.n_units} units"
        return (f"{self.mean:+.3f} [95% CI {self.ci_low:+.3f}, {self.ci_high:+.3f}], "
                f"paired t-test p={self.p_value:.3g}, n={self.n}{units}")


def _paired_t_pvalue(d: np.ndarray) -> float:
    """Two-sided one-sample t-test of ``mean(d) = 0``, with the degenerate cases decided:
    NaN with fewer than two values; 1.0 when every difference is zero; NaN when every
    difference is the same non-zero number (no variance: the t statistic is undefined).
    "Zero" and "the same" allow for floating-point rounding (1e-12 relative to
    ``max(1, max |d|)``), which scipy would otherwise turn into a tiny p-value."""
    if d.size < 2:
        return math.nan
    scale = max(1.0, float(np.abs(d).max()))
    if float(np.ptp(d)) <= 1e-12 * scale:
        return 1.0 if float(np.abs(d).max()) <= 1e-12 * scale else math.nan
    return float(_st.ttest_1samp(d, 0.0).pvalue)


#: Below this many independent units ``interval="auto"`` uses the Student-t interval; from it
#: on, the BCa bootstrap (with few units a bootstrap interval is too narrow: with 3 seeds the
#: percentile interval is the [min, max] of the three differences).
AUTO_BOOTSTRAP_MIN_UNITS = 10


def paired_difference(df: pd.DataFrame, column: str, treatment: str, control: str,
                      on: Sequence[str] = ("seed",), value: str = "value",
                      confidence: float = 0.95, interval: str = "t",
                      n_resamples: int = 10_000, seed: int = 0, *,
                      cluster: str | None = "seed",
                      bootstrap_method: str = "percentile",
                      bounds: tuple[float, float] | None = None,
                      pool: str = "units") -> PairedComparison:
    """Compare ``treatment`` and ``control`` (two values of ``column``) unit by unit.

    Rows are matched on the columns ``on`` (e.g. ``("seed",)`` or ``("seed", "eval_lang")``);
    several rows per unit are averaged first. Units present for only one side are an error:
    a silent drop would bias the comparison.

    ``interval`` is ``"t"`` (Student-t interval of the mean difference over the units),
    ``"bootstrap"`` (seeded ``scipy.stats.bootstrap`` interval, ``bootstrap_method``
    ``"percentile"`` or ``"bca"``, see :func:`bootstrap_ci`) or ``"auto"`` (the t interval over
    the independent units below :data:`AUTO_BOOTSTRAP_MIN_UNITS` of them, the BCa bootstrap
    from there on). ``bounds``: the range a difference can take (e.g. ``(-1, 1)`` for a
    difference of accuracies); the interval is clamped to it. The bootstrap resamples whole
    **clusters**: the units sharing a value of the ``cluster`` column (by default ``"seed"``
    when it is among ``on``; otherwise, or with ``cluster=None``, each unit is its own
    cluster). The languages of one seed share a model, so they are not independent: the
    differences are averaged within each cluster and the cluster means are bootstrapped;
    ``mean`` is then the mean of the cluster means (the mean over units when every cluster
    has as many units) and ``n`` the number of clusters. (Before, the bootstrap resampled
    units, which understates the uncertainty when units share a seed.)

    ``pool`` says what the t interval and the paired t-test run over: ``"units"`` (every
    paired unit, the chapters' current default: it treats the languages of one seed as
    independent, which overstates the evidence) or ``"clusters"`` (the cluster means, e.g.
    one difference per seed: seeds are the units; :mod:`xtutor.experiments.answer` uses it).
    :class:`PairedComparison` says what the p-value is when the differences have no variance;
    ``n_units`` and ``wins`` count units.

    Example:
        >>> df = pd.DataFrame({"method": ["a", "b"] * 3, "seed": [0, 0, 1, 1, 2, 2],
        ...                    "value": [0.5, 0.7, 0.4, 0.7, 0.6, 0.8]})
        >>> r = paired_difference(df, "method", "b", "a")
        >>> round(r.mean, 3), r.n, r.wins, r.significant
        (0.233, 3, 3, True)
        >>> b = paired_difference(df, "method", "b", "a", interval="bootstrap")
        >>> round(b.ci_low, 3), round(b.ci_high, 3)
        (0.2, 0.3)

        Two languages per seed: the bootstrap resamples the three seeds, not the six units.

        >>> two = pd.concat([df.assign(lang="x"), df.assign(lang="y")])
        >>> c = paired_difference(two, "method", "b", "a", on=("seed", "lang"),
        ...                       interval="bootstrap")
        >>> c.n, c.n_units, (round(c.ci_low, 3), round(c.ci_high, 3))
        (3, 6, (0.2, 0.3))
    """
    if pool not in ("units", "clusters"):
        raise ValueError(f"pool must be 'units' or 'clusters', got {pool!r}")
    if interval not in ("t", "bootstrap", "auto"):
        raise ValueError(f"interval must be 't', 'bootstrap' or 'auto', got {interval!r}")
    if bounds is not None and not bounds[0] < bounds[1]:
        raise ValueError(f"bounds must be (low, high) with low < high, got {bounds}")
    on = list(on)
    missing = [c for c in [column, value, *on] if c not in df.columns]
    if missing:
        raise ValueError(f"paired_difference: columns {missing} are not in the frame")
    if cluster is not None and cluster not in on and cluster != "seed":
        raise ValueError(f"paired_difference: cluster must be one of the pairing columns "
                         f"on={on} (or None), got {cluster!r}")
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
    diff = t - c.loc[t.index]
    d = diff.to_numpy()
    wins = int((d > 0).sum())
    labels = None
    if cluster is not None and cluster in on and len(on) > 1:
        labels = diff.index.get_level_values(cluster).to_numpy()
    means = d if labels is None else pd.Series(d).groupby(labels, sort=True).mean().to_numpy()
    units = means if pool == "clusters" else d
    p = _paired_t_pvalue(units)
    if interval == "auto":
        interval, bootstrap_method = ("t", bootstrap_method) \
            if means.size < AUTO_BOOTSTRAP_MIN_UNITS else ("bootstrap", "bca")
    if interval == "t":
        m, lo, hi = mean_ci(units, confidence)
        n = int(units.size)
    else:  # the bootstrap always resamples whole clusters
        m, lo, hi = bootstrap_ci(means, n_resamples, confidence, seed, method=bootstrap_method)
        n = int(means.size)
    if bounds is not None and not math.isnan(lo):
        lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
    used = units if interval == "t" else means
    sd = float(np.std(used, ddof=1)) if used.size > 1 else math.nan
    return PairedComparison(m, lo, hi, p, n, wins, int(d.size), sd)



def seeds_as_units(df: pd.DataFrame, column: str, treatment: str, control: str,
                   within: Sequence[str] = ("eval_lang",), value: str = "value"
                   ) -> PairedComparison:
    """``treatment - control`` with the **seeds as the units**: the rows of one seed (its
    languages, ``within``) share a model, so their differences are averaged within the seed
    first; Student-t interval below 10 seeds, BCa bootstrap from 10, clamped to [-1, 1]
    (a difference of accuracies or rates). The chapters' live comparisons use it.

    Example:
        >>> df = pd.DataFrame({"method": ["a", "b"] * 4, "seed": [0, 0, 0, 0, 1, 1, 1, 1],
        ...                    "eval_lang": ["x", "x", "y", "y"] * 2,
        ...                    "value": [.5, .6, .4, .6, .5, .7, .5, .6]})
        >>> c = seeds_as_units(df, "method", "b", "a")
        >>> round(c.mean, 3), c.n, c.n_units
        (0.15, 2, 4)
    """
    return paired_difference(df, column, treatment, control, on=("seed", *within), value=value,
                             pool="clusters", interval="auto", bounds=(-1.0, 1.0))


_BOOTSTRAP_METHODS = {"percentile": "percentile", "bca": "BCa"}


def bootstrap_ci(values: Sequence[float] | np.ndarray, n_resamples: int = 10_000,
                 confidence: float = 0.95, seed: int = 0, *, method: str = "percentile",
                 clusters: Sequence[object] | np.ndarray | None = None
                 ) -> tuple[float, float, float]:
    """``(mean, low, high)`` with a seeded bootstrap interval of the mean
    (``scipy.stats.bootstrap``; ``method`` ``"percentile"`` or ``"bca"``).

    With ``clusters`` (one label per value, e.g. the seed of each seed x language difference)
    the values are first averaged per cluster and the cluster means are resampled: whole
    clusters, not single values (a cluster bootstrap); ``mean`` is the mean of the cluster
    means. One value (or cluster) gives ``(v, nan, nan)`` like :func:`mean_ci`; identical
    values give a zero-width interval.

    Example:
        >>> m, lo, hi = bootstrap_ci([0.1, 0.2, 0.3, 0.4], seed=0)
        >>> round(m, 2), lo <= m <= hi
        (0.25, True)
        >>> bootstrap_ci([0.1, 0.1, 0.3, 0.3], clusters=[0, 0, 1, 1])[0]
        0.2
    """
    if n_resamples < 100:
        raise ValueError(f"n_resamples should be at least 100, got {n_resamples}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if method.lower() not in _BOOTSTRAP_METHODS:
        raise ValueError(f"method must be one of {sorted(_BOOTSTRAP_METHODS)}, got {method!r}")
    x = _values(values)
    if clusters is not None:
        labels = np.asarray(clusters).ravel()
        if labels.size != x.size:
            raise ValueError(f"clusters has {labels.size} labels for {x.size} values")
        x = pd.Series(x).groupby(labels, sort=True).mean().to_numpy()
    m = float(x.mean())
    if x.size == 1:
        return m, math.nan, math.nan
    if float(np.ptp(x)) == 0.0:
        return m, m, m
    res = _st.bootstrap((x,), np.mean, n_resamples=n_resamples, confidence_level=confidence,
                        method=_BOOTSTRAP_METHODS[method.lower()],
                        random_state=np.random.default_rng(seed))
    ci = res.confidence_interval
    return m, float(ci.low), float(ci.high)


def detectable_effect(sd: float, n: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest mean paired difference a two-sided paired t-test over ``n`` units detects
    with probability ``power`` at level ``alpha``, when the differences have standard
    deviation ``sd``: ``(t_{1-alpha/2, n-1} + t_{power, n-1}) * sd / sqrt(n)`` (the usual
    approximation to the noncentral t). What a "no significant effect" can rule out: effects
    this large. NaN with fewer than two units.

    Example:
        >>> round(detectable_effect(0.02, 3), 3), round(detectable_effect(0.02, 10), 3)
        (0.062, 0.02)
    """
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError(f"alpha and power must be in (0, 1), got {alpha}, {power}")
    if n < 2 or not math.isfinite(sd):
        return math.nan
    df = n - 1
    return float((_st.t.ppf(1 - alpha / 2, df) + _st.t.ppf(power, df)) * sd / math.sqrt(n))


def adjust_pvalues(pvalues: Sequence[float] | np.ndarray, method: str = "holm") -> list[float]:
    """P-values adjusted for multiple comparisons, in the input order, within ``[0, 1]``.

    ``method`` is ``"holm"`` (Holm-Bonferroni: controls the family-wise error rate) or
    ``"bh"`` (Benjamini-Hochberg, ``scipy.stats.false_discovery_control``: controls the false
    discovery rate for independent or positively dependent tests). NaN p-values stay NaN and
    do not count in the family size.

    Example:
        >>> [round(p, 6) for p in adjust_pvalues([0.01, 0.04, 0.03], method="holm")]
        [0.03, 0.06, 0.06]
        >>> [round(p, 6) for p in adjust_pvalues([0.01, 0.04, float("nan")], method="bh")]
        [0.02, 0.04, nan]
    """
    methods = ("holm", "bh")
    if method not in methods:
        raise ValueError(f"adjust_pvalues: method must be one of {methods}, got {method!r}")
    p = np.asarray(pvalues, dtype=float).ravel()
    out = np.full(p.shape, math.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    if ((q < 0) | (q > 1)).any():
        raise ValueError(f"adjust_pvalues: p-values must be in [0, 1] (or NaN), got "
                         f"{q[(q < 0) | (q > 1)].tolist()}")
    if q.size:
        if method == "bh":
            adj = _st.false_discovery_control(q, method="bh")
        else:
            order = np.argsort(q, kind="stable")
            steps = q[order] * np.arange(q.size, 0, -1)  # (m - i) * p_(i), i from 0
            adj = np.empty_like(q)
            adj[order] = np.maximum.accumulate(steps)
        out[ok] = np.clip(adj, 0.0, 1.0)
    return out.tolist()

"""Figures drawn from result records (a DataFrame from :func:`xtutor.results.load_results`).

Every function returns the matplotlib ``Figure`` and labels its axes with units.

Example:
    >>> import pandas as pd
    >>> fig = bar_by_language(pd.DataFrame({"eval_lang": ["L0", "L1"], "value": [0.9, 0.4]}),
    ...                       ylabel="accuracy (fraction)", title="t")
    >>> fig.axes[0].get_ylabel()
    'accuracy (fraction)'
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from xtutor.stats import summarize


def _readable_categories(ax: Axes, width: int = 10) -> None:
    """Tilt the x tick labels when any is longer than ``width`` characters, so that long
    method names do not run into each other."""
    labels = [t.get_text() for t in ax.get_xticklabels()]
    if any(len(t) > width for t in labels):
        ax.tick_params(axis="x", labelrotation=25)
        for t in ax.get_xticklabels():
            t.set_horizontalalignment("right")


def _require(df: pd.DataFrame, cols: Sequence[str]) -> None:
    if len(df) == 0:
        raise ValueError("no records to plot (empty DataFrame)")
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"records lack column(s) {missing}")


def bar_by_language(df: pd.DataFrame, ylabel: str, title: str, hue: str | None = None,
                    chance: float | None = None, reference: float | None = None,
                    reference_label: str = "source language",
                    ylim: tuple[float, float] = (0, 1.02)) -> Figure:
    """Bars of ``value`` per ``eval_lang`` (optionally split by ``hue``), with reference lines.

    With several rows per bar (seeds) seaborn draws the mean and a 95% confidence interval.
    """
    _require(df, ["eval_lang", "value"] + ([hue] if hue else []))
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    sns.barplot(data=df, x="eval_lang", y="value", hue=hue, ax=ax, errorbar=("ci", 95))
    if chance is not None:
        ax.axhline(chance, color="grey", ls="--", lw=1, label="chance")
    if reference is not None:
        ax.axhline(reference, color="black", ls=":", lw=1, label=reference_label)
    ax.set_xlabel("evaluation language")
    ax.set_ylabel(ylabel)
    ax.set_ylim(*ylim)
    ax.set_title(title)
    if hue or chance is not None or reference is not None:
        ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def legend_below(fig: Figure, ncol: int = 3) -> Figure:
    """Move the first axes' legend under the plot, where it cannot hide bars.

    Example:
        >>> f = bar_by_language(pd.DataFrame({"eval_lang": ["L1"], "value": [0.5]}), "y", "t",
        ...                     chance=0.3)
        >>> legend_below(f).axes[0].get_legend() is not None
        True
    """
    ax = fig.axes[0]
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, labels, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2),
              ncol=ncol, frameon=False)
    fig.set_size_inches(fig.get_figwidth(), fig.get_figheight() + 0.6)
    fig.tight_layout()
    return fig


def line_by_layer(df: pd.DataFrame, ylabel: str, title: str, hue: str = "eval_lang") -> Figure:
    """A curve of ``value`` against ``layer`` per ``hue`` (e.g. retrieval accuracy by layer)."""
    _require(df, ["layer", "value", hue])
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    sns.lineplot(data=df, x="layer", y="value", hue=hue, marker="o", ax=ax, errorbar=("ci", 95))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("layer (0 = embeddings)")
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def mean_ci_table(df: pd.DataFrame, index: str, columns: str, unit: str = "seed",
                  value: str = "value") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two tables over ``index`` x ``columns``: the mean over ``unit`` (rows of one unit are
    averaged first) and the half-width of the 95% Student-t interval over the units (NaN with
    one unit).

    Example:
        >>> d = pd.DataFrame({"p": "L1", "h": "L1", "seed": [0, 1, 2], "value": [.4, .5, .6]})
        >>> m, h = mean_ci_table(d, "p", "h")
        >>> round(float(m.iloc[0, 0]), 2), round(float(h.iloc[0, 0]), 2)
        (0.5, 0.25)
    """
    _require(df, [index, columns, unit, value])
    per_unit = df.groupby([index, columns, unit], as_index=False)[value].mean()
    t = summarize(per_unit, [index, columns], value=value)
    wide = t.assign(half=t.ci_high - t["mean"]).pivot(index=index, columns=columns)
    return wide["mean"], wide["half"]


def interval_labels(means: pd.DataFrame, half: pd.DataFrame | None, fmt: str = ".2f"
                    ) -> list[list[str]]:
    """Cell annotations ``mean`` over ``±half`` (the mean alone where ``half`` is NaN or
    absent), for ``sns.heatmap(annot=..., fmt="")``.

    Example:
        >>> interval_labels(pd.DataFrame([[0.5]]), pd.DataFrame([[0.04]]))
        [['0.50\\n±0.04']]
    """
    out = []
    for r in range(means.shape[0]):
        row = []
        for c in range(means.shape[1]):
            m = float(means.iat[r, c])
            h = float(half.iat[r, c]) if half is not None else float("nan")
            row.append(f"{m:{fmt}}" if math.isnan(h) else f"{m:{fmt}}\n±{h:{fmt}}")
        out.append(row)
    return out


def heatmap_matrix(df: pd.DataFrame, title: str, label: str = "accuracy (fraction)") -> Figure:
    """Heatmap of ``value`` by ``premise_lang`` (rows) x ``hypothesis_lang`` (columns): the
    mean over seeds and, with several seeds, the half-width of its 95% interval over seeds
    under each mean."""
    _require(df, ["premise_lang", "hypothesis_lang", "value"])
    if "seed" in df.columns:
        mat, half = mean_ci_table(df, "premise_lang", "hypothesis_lang")
    else:
        mat = df.pivot_table(index="premise_lang", columns="hypothesis_lang", values="value",
                             aggfunc="mean")
        half = None
    fig, ax = plt.subplots(figsize=(4.8, 4.0))
    sns.heatmap(mat, annot=interval_labels(mat, half), fmt="", vmin=0, vmax=1, cmap="viridis",
                ax=ax, annot_kws={"fontsize": 8}, cbar_kws={"label": label})
    ax.set_xlabel("hypothesis language")
    ax.set_ylabel("premise language")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def loss_curve(losses: Sequence[float], title: str, smooth: int = 20) -> Figure:
    """Training loss per step, with a moving average over ``smooth`` steps."""
    if len(losses) == 0:
        raise ValueError("losses is empty")
    s = pd.Series(list(losses))
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    ax.plot(s.index, s.values, alpha=0.3, lw=0.8, label="per step")
    ax.plot(s.index, s.rolling(max(1, smooth), min_periods=1).mean(), lw=1.5,
            label=f"moving average ({smooth} steps)")
    ax.set_xlabel("optimisation step")
    ax.set_ylabel("cross-entropy loss (nats)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def metric_by_layer(df: pd.DataFrame, metrics: dict[str, str], hue: str = "model",
                    title: str = "") -> Figure:
    """One panel per metric: ``value`` against ``layer`` (mean and 95% CI over seeds).

    ``df`` comes from :func:`xtutor.experiments.encoders.layer_frame` (columns ``base_metric``,
    ``layer``, ``value``, ``hue``); ``metrics`` maps each ``base_metric`` to its axis label.

    Example:
        >>> d = pd.DataFrame({"base_metric": ["aer"] * 2, "layer": [0, 1], "value": [.5, .4],
        ...                   "model": ["m", "m"]})
        >>> metric_by_layer(d, {"aer": "AER (fraction, lower is better)"}).axes[0].get_ylabel()
        'AER (fraction, lower is better)'
    """
    _require(df, ["base_metric", "layer", "value", hue])
    if not metrics:
        raise ValueError("metrics is empty: name at least one base_metric to plot")
    absent = [m for m in metrics if m not in set(df.base_metric)]
    if absent:
        raise ValueError(f"metric_by_layer: no rows for {absent}; the frame has "
                         f"{sorted(set(df.base_metric))}")
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics), 3.4), squeeze=False)
    for ax, (metric, label) in zip(axes[0], metrics.items(), strict=True):
        part = df[df.base_metric == metric]
        sns.lineplot(data=part, x="layer", y="value", hue=hue, marker="o", ax=ax,
                     errorbar=("ci", 95))
        ax.set_xlabel("layer (0 = embeddings)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # layers are whole numbers
        ax.set_ylabel(label)
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def bar_by_method(df: pd.DataFrame, ylabel: str, title: str, hue: str = "eval_lang",
                  order: Sequence[str] | None = None, chance: float | None = None,
                  ylim: tuple[float, float] = (0, 1.02)) -> Figure:
    """Bars of ``value`` per ``method`` split by ``hue``, mean and 95% CI over seeds.

    Example:
        >>> d = pd.DataFrame({"method": ["none", "sentence"], "eval_lang": ["L1", "L1"],
        ...                   "value": [0.0, 0.9]})
        >>> bar_by_method(d, "top-1 accuracy (fraction)", "t").axes[0].get_xlabel()
        'alignment method'
    """
    _require(df, ["method", "value", hue])
    fig, ax = plt.subplots(figsize=(6.8, 3.6))
    sns.barplot(data=df, x="method", y="value", hue=hue, order=order, ax=ax,
                errorbar=("ci", 95))
    if chance is not None:
        ax.axhline(chance, color="grey", ls="--", lw=1, label="chance")
    ax.set_xlabel("alignment method")
    _readable_categories(ax)
    ax.set_ylabel(ylabel)
    ax.set_ylim(*ylim)
    ax.set_title(title)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def curve_by_size(df: pd.DataFrame, x: str, ylabel: str, xlabel: str, title: str,
                  hue: str = "eval_lang") -> Figure:
    """``value`` against a size column ``x`` on a log axis (mean and 95% CI over seeds).

    Example:
        >>> d = pd.DataFrame({"pairs": [8, 64], "value": [.1, .8], "eval_lang": ["L1", "L1"]})
        >>> fig = curve_by_size(d, "pairs", "acc (fraction)", "pairs per language", "t")
        >>> fig.axes[0].get_xscale()
        'log'
    """
    _require(df, [x, "value", hue])
    fig, ax = plt.subplots(figsize=(6.0, 3.6))
    sns.lineplot(data=df, x=x, y="value", hue=hue, marker="o", ax=ax, errorbar=("ci", 95))
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def heatmap_grid(table: pd.DataFrame, title: str, label: str = "accuracy (fraction)",
                 fmt: str = ".2f", center: float | None = None,
                 half: pd.DataFrame | None = None) -> Figure:
    """A heatmap of a wide table (rows: alignment methods, columns: fine-tuning methods);
    ``half`` (same shape, e.g. from :func:`mean_ci_table`) adds the half-width of each
    cell's interval under its value.

    Example:
        >>> t = pd.DataFrame([[0.4, 0.5]], index=["none"], columns=["plain", "free"])
        >>> heatmap_grid(t, "t").axes[0].get_xlabel()
        'fine-tuning method'
    """
    if table.empty:
        raise ValueError("no values to plot (empty table)")
    if half is not None and half.shape != table.shape:
        raise ValueError(f"half has shape {half.shape}, the table {table.shape}")
    row_h = 0.55 if half is None else 0.8  # two-line annotations need taller rows
    fig, ax = plt.subplots(figsize=(1.4 + 1.2 * table.shape[1], 1.2 + row_h * table.shape[0]))
    annot = interval_labels(table.astype(float), half, fmt) if half is not None else True
    sns.heatmap(table.astype(float), annot=annot, fmt="" if half is not None else fmt,
                cmap="vlag" if center is not None else "viridis", center=center, ax=ax,
                annot_kws={"fontsize": 8}, cbar_kws={"label": label})
    ax.set_xlabel("fine-tuning method")
    ax.set_ylabel("alignment method")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def effects_plot(effects: pd.DataFrame, title: str,
                 xlabel: str = "difference to the control (accuracy, fraction)") -> Figure:
    """A forest plot: one row per comparison (``label``), its ``mean`` difference and the 95%
    interval ``ci_low``-``ci_high``; a line at zero (no effect).

    Example:
        >>> e = pd.DataFrame({"label": ["a"], "mean": [0.1], "ci_low": [0.0], "ci_high": [0.2]})
        >>> effects_plot(e, "t").axes[0].get_xlabel()
        'difference to the control (accuracy, fraction)'
    """
    _require(effects, ["label", "mean", "ci_low", "ci_high"])
    fig, ax = plt.subplots(figsize=(6.4, 0.9 + 0.32 * len(effects)))
    y = range(len(effects))[::-1]
    err = [effects["mean"] - effects["ci_low"], effects["ci_high"] - effects["mean"]]
    ax.errorbar(effects["mean"], list(y), xerr=err, fmt="o", color="black", capsize=3)
    ax.axvline(0, color="grey", ls="--", lw=1)
    ax.set_yticks(list(y), effects["label"])
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    fig.tight_layout()
    return fig

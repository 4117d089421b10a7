"""Figures readers can read: whole-number layer ticks, method names that do not collide."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from xtutor import plots  # noqa: E402


def test_layer_axes_have_integer_ticks() -> None:
    d = pd.DataFrame({"base_metric": ["aer"] * 6, "layer": [0, 1, 2, 0, 1, 2],
                      "value": [.5, .4, .3, .6, .4, .2], "model": ["m"] * 6})
    fig = plots.metric_by_layer(d, {"aer": "AER (fraction)"})
    fig.canvas.draw()
    ticks = fig.axes[0].get_xticks()
    assert all(float(t).is_integer() for t in ticks), ticks
    plt.close(fig)


def test_long_method_names_are_tilted_and_short_ones_are_not() -> None:
    long = pd.DataFrame({"method": ["image-shuffled", "sentence-shuffled"],
                         "eval_lang": ["L1", "L1"], "value": [0.2, 0.3]})
    fig = plots.bar_by_method(long, "accuracy (fraction)", "t")
    assert fig.axes[0].get_xticklabels()[0].get_rotation() == 25
    plt.close(fig)
    short = long.assign(method=["none", "word"])
    fig = plots.bar_by_method(short, "accuracy (fraction)", "t")
    assert fig.axes[0].get_xticklabels()[0].get_rotation() == 0
    plt.close(fig)


def test_heatmaps_show_the_interval_over_seeds_under_each_mean() -> None:
    d = pd.DataFrame({"premise_lang": "L1", "hypothesis_lang": ["L1", "L1", "L1", "L2"],
                      "seed": [0, 1, 2, 0], "value": [0.4, 0.5, 0.6, 0.3]})
    means, half = plots.mean_ci_table(d, "premise_lang", "hypothesis_lang")
    assert means.loc["L1", "L1"] == 0.5 and 0.24 < half.loc["L1", "L1"] < 0.25
    assert half.isna().loc["L1", "L2"]  # one seed: no interval
    fig = plots.heatmap_matrix(d, "t")
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    assert texts == ["0.30", "0.50\n±0.25"]
    plt.close(fig)
    fig = plots.heatmap_grid(means, "t", half=half)
    assert "0.50\n±0.25" in [t.get_text() for t in fig.axes[0].texts]
    plt.close(fig)
    with pytest.raises(ValueError, match="half has shape"):
        plots.heatmap_grid(means, "t", half=half.iloc[:, :1])

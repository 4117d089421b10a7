"""Reading a grid's records (:mod:`xtutor.experiments.grid`): alignment and fine-tuning columns,
the quantities chapter 5 compares, paired comparisons between methods and summary tables.

Records of the grid have ``method="<alignment>/<finetune>"``; :func:`grid_frame` splits it,
:func:`grid_scores` reduces a cell to source accuracy, zero-shot accuracy, mixed-pair
accuracy, accuracy and robustness gap under each attack, and the alignment measurements;
:func:`compare` pairs two methods by seed.

Example:
    >>> df = pd.DataFrame({"method": ["none/plain"] * 2, "seed": 0, "train_lang": "L0",
    ...     "premise_lang": ["L0", "L1"], "hypothesis_lang": ["L0", "L1"],
    ...     "eval_lang": ["L0", "L1"], "attack": "none", "task": "nli",
    ...     "metric": "accuracy", "value": [0.9, 0.5]})
    >>> summary_table(df).round(2).to_dict("records")
    [{'source': 0.9, 'zero_shot': 0.5}]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from xtutor.stats import PairedComparison


def grid_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Split ``method="<alignment>/<finetune>"`` into ``alignment`` and ``finetune`` columns.

    Example:
        >>> grid_frame(pd.DataFrame({"method": ["word/free"]}))[["alignment", "finetune"]].values
        array([['word', 'free']], dtype=object)
    """
    parts = df.method.astype(str).str.split("/", n=1, expand=True)
    if parts.shape[1] != 2 or parts[1].isna().any():
        bad = df.method[parts.get(1, df.method).isna()].unique()[:3].tolist() \
            if parts.shape[1] == 2 else df.method.unique()[:3].tolist()
        raise ValueError(f"grid_frame: methods {bad} are not of the form "
                         f"'<alignment>/<finetune>'")
    out = df.copy()
    out["alignment"], out["finetune"] = parts[0], parts[1]
    return out


def grid_scores(df: pd.DataFrame, source: str | None = None, by_language: bool = False
                ) -> pd.DataFrame:
    """Reduce grid records to one value per (seed, alignment, finetune, quantity).

    Quantities: ``source`` (clean accuracy on the source language), ``zero_shot`` (clean,
    mean over the other languages), ``mixed`` (clean, mean over premise != hypothesis
    language pairs), ``mixed_minus_zero_shot``, ``attacked:<attack>`` (accuracy under each
    attack, mean over non-source languages; ``attacked:all`` the mean over attacks too),
    ``drop:<attack>`` and ``drop:all`` (clean minus attacked accuracy on the same attacked
    pairs: the robustness gap), ``success:<attack>`` and ``success:all`` (attack success rate
    among the examples the model got right before the attack, mean over non-source
    languages), ``retrieval``, ``aer``, ``lang_id`` (alignment
    measurements of the alignment, finetune ``none``). ``source`` defaults to the records'
    ``train_lang``. With ``by_language`` the values are kept per ``eval_lang`` (a language or
    a mixed pair; the units of a seed x language paired comparison) and the difference
    ``mixed_minus_zero_shot``, which spans languages, is left out.

    Example:
        >>> df = pd.DataFrame({"method": ["none/plain"] * 3, "seed": 0, "train_lang": "L0",
        ...     "premise_lang": ["L0", "L1", "L0"], "hypothesis_lang": ["L0", "L1", "L1"],
        ...     "eval_lang": ["L0", "L1", "L0-L1"], "attack": "none", "task": "nli",
        ...     "metric": "accuracy", "value": [0.9, 0.5, 0.6]})
        >>> grid_scores(df).set_index("quantity").value.round(2).to_dict()
        {'source': 0.9, 'zero_shot': 0.5, 'mixed': 0.6, 'mixed_minus_zero_shot': 0.1}
    """
    g = grid_frame(df)
    src = source or (g.train_lang.dropna().iloc[0] if len(g) else "")
    keys = ["seed", "alignment", "finetune"] + (["eval_lang"] if by_language else [])
    parts = []
    clean = g[(g.metric == "accuracy") & (g.attack == "none")]
    same = clean[clean.premise_lang == clean.hypothesis_lang]
    for name, rows in (("source", same[same.premise_lang == src]),
                       ("zero_shot", same[same.premise_lang != src]),
                       ("mixed", clean[clean.premise_lang != clean.hypothesis_lang])):
        if len(rows):
            parts.append(rows.groupby(keys).value.mean().rename(name))
    if not by_language and {"zero_shot", "mixed"} <= {p.name for p in parts}:
        wide = pd.concat(parts, axis=1)
        parts.append((wide["mixed"] - wide["zero_shot"]).rename("mixed_minus_zero_shot"))
    att = g[(g.metric == "attacked_accuracy") & (g.eval_lang != src)]
    drop = g[g.metric.isin(["clean_accuracy", "attacked_accuracy"]) & (g.eval_lang != src)]
    drop = drop.assign(value=drop.value.where(drop.metric == "clean_accuracy", -drop.value))
    for a, rows in att.groupby("attack"):
        parts.append(rows.groupby(keys).value.mean().rename(f"attacked:{a}"))
    per_lang = list(dict.fromkeys([*keys, "eval_lang"]))
    for a, rows in drop.groupby("attack"):  # clean minus attacked accuracy, same pairs
        parts.append(rows.groupby(per_lang).value.sum().groupby(keys).mean()
                     .rename(f"drop:{a}"))
    succ = g[(g.metric == "attack_success_rate") & (g.eval_lang != src)]
    for a, rows in succ.groupby("attack"):
        parts.append(rows.groupby(keys).value.mean().rename(f"success:{a}"))
    if len(succ):
        parts.append(succ.groupby(keys).value.mean().rename("success:all"))
    if len(att):
        parts.append(att.groupby(keys).value.mean().rename("attacked:all"))
        parts.append(drop.groupby([*per_lang, "attack"]).value.sum().groupby(keys)
                     .mean().rename("drop:all"))
    for metric, name in (("retrieval_acc_cosine", "retrieval"), ("aer_itermax", "aer"),
                         ("lang_id_acc", "lang_id")):
        rows = g[g.metric == metric]
        if len(rows):
            parts.append(rows.groupby(keys).value.mean().rename(name))
    if not parts:
        return pd.DataFrame(columns=[*keys, "quantity", "value"])
    long = [p.rename("value").reset_index().assign(quantity=p.name) for p in parts]
    return pd.concat(long, ignore_index=True)[[*keys, "quantity", "value"]]


def compare(df: pd.DataFrame, quantity: str, treatment: str, control: str, *,
            by_language: bool = True, seed: int = 0, seed_units: bool = False
            ) -> PairedComparison:
    """``treatment - control`` (two ``<alignment>/<finetune>`` methods) on one
    :func:`grid_scores` quantity, paired by seed and language (``by_language``) or by seed.

    Default (the chapters' current statistics): a 95% percentile bootstrap over seeds (whole
    seeds resampled) and the paired t-test over seed x language units. ``seed_units=True``
    makes **seeds the units** throughout: differences averaged over the languages of each
    seed (they share a model), the Student-t interval below 10 seeds and the BCa bootstrap
    from 10 on, the paired t-test over seeds, the interval clamped to [-1, 1] (every quantity
    is an accuracy, a rate or an error rate); :mod:`xtutor.experiments.answer` uses it.
    ``mixed_minus_zero_shot`` spans languages, so it is always paired by seed. When the two
    methods ran different seeds (a grid with fewer seeds for one alignment, or a sensitivity
    analysis without some cells) the comparison is made on the seeds both ran; ``n`` of the
    result says how many.

    Example:
        >>> df = pd.DataFrame({"method": ["none/plain", "word/plain"] * 2, "seed": [0, 0, 1, 1],
        ...     "train_lang": "L0", "premise_lang": "L1", "hypothesis_lang": "L1",
        ...     "eval_lang": "L1", "attack": "none", "task": "nli", "metric": "accuracy",
        ...     "value": [0.4, 0.6, 0.5, 0.6]})
        >>> round(compare(df, "zero_shot", "word/plain", "none/plain").mean, 2)
        0.15
        >>> c = compare(df, "zero_shot", "word/plain", "none/plain", seed_units=True)
        >>> c.n, c.ci_high <= 1
        (2, True)
    """
    from xtutor.stats import paired_difference

    if quantity == "mixed_minus_zero_shot":  # spans languages: defined per seed only
        by_language = False
    sc = grid_scores(df, by_language=by_language)
    sc = sc[sc.quantity == quantity]
    if sc.empty:
        raise ValueError(f"compare: no {quantity!r} scores in the records; quantities: "
                         f"{sorted(set(grid_scores(df).quantity))}")
    sc = sc.assign(method=sc.alignment + "/" + sc.finetune)
    seeds = [set(sc.seed[sc.method == m]) for m in (treatment, control)]
    if all(seeds) and seeds[0] != seeds[1]:  # e.g. 3 aligned seeds against 5 unaligned ones
        common = seeds[0] & seeds[1]
        if not common:
            raise ValueError(f"compare: {treatment!r} (seeds {sorted(seeds[0])}) and "
                             f"{control!r} (seeds {sorted(seeds[1])}) share no seed")
        sc = sc[sc.seed.isin(common)]
    on = ["seed", "eval_lang"] if by_language else ["seed"]
    if seed_units:
        return paired_difference(sc, "method", treatment, control, on=on, interval="auto",
                                 seed=seed, bounds=(-1.0, 1.0), pool="clusters")
    return paired_difference(sc, "method", treatment, control, on=on, interval="bootstrap",
                             seed=seed)


def verdict(mean: float, p_adjusted: float, alpha: float = 0.05) -> str:
    """The verdict word of one comparison in a family, decided on its multiplicity-adjusted
    p-value: ``"significantly higher than"`` / ``"significantly lower than"`` when
    ``p_adjusted < alpha``, else ``"not significantly different from"`` (also for NaN).

    Example:
        >>> verdict(0.1, 0.01), verdict(-0.1, 0.2)
        ('significantly higher than', 'not significantly different from')
    """
    if math.isnan(p_adjusted) or p_adjusted >= alpha:
        return "not significantly different from"
    return "significantly higher than" if mean > 0 else "significantly lower than"


def effects_frame(comparisons: Mapping[str, PairedComparison], adjust: str | None = None,
                  alpha: float = 0.05) -> pd.DataFrame:
    """One row per named comparison: mean difference, 95% interval, p-value, units, wins and
    the verdict in words (for tables and :func:`xtutor.plots.effects_plot`).

    Without ``adjust`` the verdict is each comparison's own (:attr:`PairedComparison.verdict`:
    the interval excludes zero). With ``adjust="holm"`` (or ``"bh"``) the comparisons given are
    one **family**: ``p_adjusted`` is added (:func:`xtutor.stats.adjust_pvalues`), the verdict
    is decided on it (:func:`verdict`), and ``mde`` is the smallest effect the design detects
    with 80% power at ``alpha`` / family size (:func:`xtutor.stats.detectable_effect`), the
    yardstick for a "not significant".

    Example:
        >>> from xtutor.stats import PairedComparison
        >>> fx = effects_frame({"a": PairedComparison(.1, .05, .15, .01, 5, 5, sd=.02),
        ...                     "b": PairedComparison(.1, .01, .19, .04, 5, 4, sd=.05)},
        ...                    adjust="holm")
        >>> fx.p_adjusted.round(2).tolist(), fx.verdict.tolist()
        ([0.02, 0.04], ['significantly higher than', 'significantly higher than'])
    """
    from xtutor.stats import adjust_pvalues, detectable_effect

    out = pd.DataFrame([{"label": k, "mean": c.mean, "ci_low": c.ci_low, "ci_high": c.ci_high,
                         "p_value": c.p_value, "n": c.n, "n_units": c.n_units, "wins": c.wins,
                         "verdict": c.verdict, "sd": c.sd} for k, c in comparisons.items()],
                       columns=["label", "mean", "ci_low", "ci_high", "p_value", "n", "n_units",
                                "wins", "verdict", "sd"])
    if adjust is None:
        return out.drop(columns=["n_units", "sd"])
    out["p_adjusted"] = adjust_pvalues(out.p_value.to_numpy(), adjust) if len(out) else []
    out["verdict"] = [verdict(m, q, alpha) for m, q in zip(out["mean"], out.p_adjusted,
                                                           strict=True)]
    level = alpha / max(1, len(out))
    out["mde"] = [detectable_effect(sd, n, level) for sd, n in zip(out.sd, out.n, strict=True)]
    return out.drop(columns="sd")


def effect_text(row: Mapping[str, Any] | pd.Series, unit: str = "seeds") -> str:
    """One row of an adjusted :func:`effects_frame` as the chapters print it: the mean
    difference, its 95% interval, the Holm-adjusted p-value and the number of independent
    units.

    Example:
        >>> effect_text({"mean": 0.021, "ci_low": 0.006, "ci_high": 0.036,
        ...              "p_adjusted": 0.0123, "n": 3})
        '+0.021 [95% CI +0.006, +0.036], adjusted p = 0.0123, 3 seeds'
    """
    return (f"{row['mean']:+.3f} [95% CI {row['ci_low']:+.3f}, {row['ci_high']:+.3f}], "
            f"adjusted p = {row['p_adjusted']:.3g}, {int(row['n'])} {unit}")


def alignment_vs_transfer(df: pd.DataFrame) -> pd.DataFrame:
    """One row per fine-tuned cell (the label controls, shuffled labels and hypothesis-only,
    left out): the seed, alignment and fine-tuning,
    the translation retrieval of its encoder before fine-tuning (the alignment cell of the
    same seed and alignment) and its zero-shot accuracy; for the results page's scatter.

    Example:
        >>> rows = [{"method": m, "seed": 0, "train_lang": "L0", "premise_lang": "L1",
        ...          "hypothesis_lang": "L1", "eval_lang": "L1", "attack": "none",
        ...          "task": t, "metric": k, "value": v}
        ...         for m, t, k, v in (("none/none", "retrieval", "retrieval_acc_cosine", .1),
        ...                            ("none/plain", "nli", "accuracy", .4))]
        >>> alignment_vs_transfer(pd.DataFrame(rows))[["retrieval", "zero_shot"]].values.tolist()
        [[0.1, 0.4]]
    """
    sc = grid_scores(df)
    ret = sc[(sc.quantity == "retrieval") & (sc.finetune == "none")]
    zs = sc[(sc.quantity == "zero_shot")
            & ~sc.finetune.isin(["none", "shuffled-labels", "hypothesis-only"])]
    out = zs.merge(ret[["seed", "alignment", "value"]], on=["seed", "alignment"],
                   suffixes=("_zs", "_ret"))
    return out.rename(columns={"value_zs": "zero_shot", "value_ret": "retrieval"})[
        ["seed", "alignment", "finetune", "retrieval", "zero_shot"]]


def collapsed_cells(df: pd.DataFrame, tol: float = 0.005) -> pd.DataFrame:
    """The fine-tuned cells whose classifier predicts one label for (almost) every input, from
    their records alone: one row per (seed, method) with ``collapsed`` (bool), ``accuracy``
    (the mean clean same-language accuracy when it is the same in every language within
    ``tol``, else NaN) and ``languages``.

    On a parallel test set (XNLI: the same items in every language) a constant classifier
    scores the same accuracy in every language, and no attack can change its prediction, so
    every attack records 0 successes; a classifier that reads its input does neither
    (different texts give different predictions). A cell is ``collapsed`` when both hold
    (attack records absent: the first alone). ``tol`` (default 0.005, 2 of 500 items) admits
    a classifier that departs from its one label on a handful of inputs (seen on the real
    grid: 0.350 in four languages, 0.352 in Burmese, no attack success in 900 attacked
    pairs). Cells without fine-tuning (``.../none``) are left out.

    Example:
        >>> rows = [{"method": m, "seed": 0, "task": "xnli", "metric": "accuracy", "value": v,
        ...          "premise_lang": x, "hypothesis_lang": x, "eval_lang": x, "attack": "none"}
        ...         for m, vals in (("none/free", (.338, .338)), ("none/plain", (.68, .61)))
        ...         for x, v in zip(("en", "sw"), vals)]
        >>> collapsed_cells(pd.DataFrame(rows))[["method", "collapsed"]].values.tolist()
        [['none/free', True], ['none/plain', False]]
    """
    g = grid_frame(df)
    g = g[g.finetune != "none"]
    same = g[(g.metric == "accuracy") & (g.premise_lang == g.hypothesis_lang)
             & (g.attack.fillna("none") == "none")]
    if same.empty:
        raise ValueError("collapsed_cells: no clean same-language accuracy records")
    succ = g[g.metric == "succeeded"].groupby(["seed", "method"]).value.sum()
    rows = []
    for (seed, method), cell in same.groupby(["seed", "method"], sort=True):
        spread = float(cell.value.max() - cell.value.min())
        constant = len(cell) >= 2 and spread <= tol
        attacked = (seed, method) in succ.index
        rows.append({"seed": seed, "method": method, "languages": len(cell),
                     "accuracy": float(cell.value.mean()) if constant else float("nan"),
                     "collapsed": bool(constant and (not attacked or succ[(seed, method)] == 0))})
    return pd.DataFrame(rows)


def without_collapsed(df: pd.DataFrame, tol: float = 0.005) -> pd.DataFrame:
    """``df`` without the records of its collapsed cells (:func:`collapsed_cells`), for a
    sensitivity analysis beside the analysis of every seed: a paired comparison then drops
    the seeds whose treatment (or control) collapsed. Which cells collapse is itself a result
    (trainability at the grid's budget); report both, never this one alone.

    Example:
        >>> rows = [{"method": m, "seed": 0, "task": "xnli", "metric": "accuracy", "value": v,
        ...          "premise_lang": x, "hypothesis_lang": x, "eval_lang": x, "attack": "none"}
        ...         for m, vals in (("none/free", (.338, .338)), ("none/plain", (.68, .61)))
        ...         for x, v in zip(("en", "sw"), vals)]
        >>> sorted(without_collapsed(pd.DataFrame(rows)).method.unique())
        ['none/plain']
    """
    cc = collapsed_cells(df, tol)
    bad = set(map(tuple, cc.loc[cc.collapsed, ["seed", "method"]].to_numpy().tolist()))
    if not bad:
        return df
    keep = [(s, m) not in bad for s, m in zip(df.seed, df.method, strict=True)]
    return df[keep]


def summary_table(df: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds of every :func:`grid_scores` quantity, one row per (alignment,
    finetune), one column per quantity."""
    sc = grid_scores(df)
    return sc.groupby(["alignment", "finetune", "quantity"], sort=False).value.mean() \
        .unstack("quantity")


__all__ = ["alignment_vs_transfer", "collapsed_cells", "compare", "effect_text", "effects_frame",
           "grid_frame", "grid_scores", "summary_table", "verdict", "without_collapsed"]

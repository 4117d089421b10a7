"""The book's answer, part by part, from grid records: one family of paired comparisons per
setting (the toy family, e5-small on XNLI, ...), seeds as the units, Holm-adjusted p-values.

The research question has these parts; each is one or more comparisons of
:func:`xtutor.experiments.grid_analysis.compare` (``treatment - control`` of two
``<alignment>/<finetune>`` methods on one quantity of
:func:`~xtutor.experiments.grid_analysis.grid_scores`):

=============  ======================================================  =====================
part           comparison                                              quantity
=============  ======================================================  =====================
alignment      ``sentence/none - none/none`` (and ``image-pivot``)     retrieval
transfer       ``sentence/plain - none/plain``                         zero_shot
robust-clean   ``none/<method> - none/plain`` per robust method        zero_shot
robust-attack  ``none/<method> - none/plain`` per robust method        attacked:all
together       ``sentence/<method> - none/plain`` per robust method    attacked:all
generalized    ``sentence/plain - none/plain`` and                     mixed_minus_zero_shot
               ``none/<method> - none/plain`` per robust method: is
               the gain larger on mixed-language pairs than on
               same-language pairs?
erosion        ``none/plain - none/none`` (retrieval after English     retrieval
               fine-tuning against the encoder before it), then
               ``none/<method> - none/plain`` and
               ``sentence/plain - none/plain`` (which method keeps
               more of the alignment); grids with ``retrieval_after``
control        ``sentence/plain - sentence-shuffled/plain`` (the same  zero_shot
               InfoNCE steps on shuffled translations: does the
               gain need translations, or only the extra training?)
               and ``none/plain - none/hypothesis-only`` (does the
               model read the premise?) and ``none/plain -
               none/shuffled-labels`` (does it learn from the
               labels?); grids with these controls
=============  ======================================================  =====================

Within one setting every comparison that could be computed is one family: p-values are
Holm-adjusted over it and the verdict word is decided on the adjusted p-value. ``mde`` is the
smallest effect the design detects with 80% power at the Bonferroni level of the family
(:func:`xtutor.stats.detectable_effect`): a "not significant" row rules out effects of that
size, not smaller ones.

Example:
    >>> import pandas as pd
    >>> rows = [{"method": m, "seed": s, "train_lang": "L0", "premise_lang": "L1",
    ...          "hypothesis_lang": "L1", "eval_lang": "L1", "attack": "none", "task": "nli",
    ...          "metric": "accuracy", "value": v + 0.01 * s}
    ...         for s in range(3) for m, v in (("none/plain", .5), ("sentence/plain", .6))]
    >>> fx = answer_effects(pd.DataFrame(rows))
    >>> fx[["part", "comparison", "n"]].values.tolist()
    [['transfer', 'sentence/plain - none/plain', 3]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from xtutor.experiments.grid_analysis import compare, grid_frame, verdict

#: Fine-tuning methods compared with plain fine-tuning, in table order.
ROBUST_METHODS: tuple[str, ...] = ("free", "pgd", "freelb", "smoothing", "codeswitch",
                                   "consistency", "contrastive")


@dataclass(frozen=True)
class Comparison:
    """One row of the answer: ``part``, what it asks, and the comparison that answers it."""

    part: str
    question: str
    quantity: str
    treatment: str
    control: str

    @property
    def label(self) -> str:
        """``treatment - control``."""
        return f"{self.treatment} - {self.control}"


def answer_comparisons(methods: Sequence[str]) -> list[Comparison]:
    """The comparisons of the module table that ``methods`` (the records' ``method`` values)
    allow, in table order.

    Example:
        >>> [c.label for c in answer_comparisons(["none/none", "sentence/none"])]
        ['sentence/none - none/none']
    """
    have = set(methods)
    out = [Comparison("alignment", f"does {a} alignment raise translation retrieval?",
                      "retrieval", f"{a}/none", "none/none")
           for a in ("sentence", "word", "image-pivot")]
    out.append(Comparison("transfer", "does sentence alignment raise zero-shot accuracy?",
                          "zero_shot", "sentence/plain", "none/plain"))
    for f in ROBUST_METHODS:
        out.append(Comparison("robust-clean", f"does {f} fine-tuning raise zero-shot accuracy?",
                              "zero_shot", f"none/{f}", "none/plain"))
    for f in ROBUST_METHODS:
        out.append(Comparison("robust-attack",
                              f"does {f} fine-tuning raise zero-shot accuracy under attack?",
                              "attacked:all", f"none/{f}", "none/plain"))
    for f in ROBUST_METHODS:
        out.append(Comparison("together", f"do sentence alignment and {f} fine-tuning "
                              f"together raise accuracy under attack?", "attacked:all",
                              f"sentence/{f}", "none/plain"))
    out.append(Comparison("generalized", "does sentence alignment gain more on mixed-language "
                          "pairs than on same-language pairs?", "mixed_minus_zero_shot",
                          "sentence/plain", "none/plain"))
    for f in ROBUST_METHODS:
        out.append(Comparison("generalized", f"does {f} fine-tuning gain more on mixed-language "
                              f"pairs than on same-language pairs?", "mixed_minus_zero_shot",
                              f"none/{f}", "none/plain"))
    out.append(Comparison("erosion", "does English fine-tuning change translation "
                          "retrieval?", "retrieval", "none/plain", "none/none"))
    out.append(Comparison("erosion", "does an aligned encoder keep more of its alignment "
                          "through English fine-tuning?", "retrieval", "sentence/plain",
                          "none/plain"))
    for f in ROBUST_METHODS:
        out.append(Comparison("erosion", f"does {f} fine-tuning keep more of the alignment "
                              f"than plain fine-tuning?", "retrieval", f"none/{f}",
                              "none/plain"))
    out.append(Comparison("control", "does sentence alignment beat the same training on "
                          "shuffled translations?", "zero_shot", "sentence/plain",
                          "sentence-shuffled/plain"))
    out.append(Comparison("control", "does the fine-tuned model read the premise (against "
                          "a hypothesis-only model)?", "zero_shot", "none/plain",
                          "none/hypothesis-only"))
    out.append(Comparison("control", "does fine-tuning learn from the labels (against the "
                          "same training on shuffled labels)?", "zero_shot", "none/plain",
                          "none/shuffled-labels"))
    return [c for c in out if {c.treatment, c.control} <= have]


def answer_effects(df: pd.DataFrame, *, seed: int = 0, alpha: float = 0.05) -> pd.DataFrame:
    """Every comparison of :func:`answer_comparisons` the grid records ``df`` allow, as one
    family: ``part``, ``question``, ``comparison``, ``quantity``, ``mean``, ``ci_low``,
    ``ci_high`` (95%, seeds as units, clamped to [-1, 1]), ``p_value``, ``p_adjusted``
    (Holm over the family), ``n`` (seeds), ``mde`` (smallest effect detectable with 80%
    power at ``alpha`` / family size) and ``verdict`` (decided on ``p_adjusted``).

    Comparisons whose quantity is missing (e.g. retrieval after fine-tuning in a grid that
    did not measure it) are left out. Raises ``ValueError`` when none can be made.
    """
    from xtutor.experiments.grid_analysis import grid_scores
    from xtutor.stats import adjust_pvalues, detectable_effect

    if df.empty:
        raise ValueError("answer_effects: no records")
    g = grid_frame(df)
    quantities = set(grid_scores(df).quantity)
    rows = []
    for c in answer_comparisons(list(g.method.unique())):
        if c.quantity not in quantities:
            continue
        try:
            r = compare(df, c.quantity, c.treatment, c.control, seed=seed, seed_units=True)
        except ValueError:  # the quantity exists for other methods only
            continue
        sd = r.sd
        rows.append({"part": c.part, "question": c.question, "comparison": c.label,
                     "quantity": c.quantity, "mean": r.mean, "ci_low": r.ci_low,
                     "ci_high": r.ci_high, "p_value": r.p_value, "n": r.n, "sd": sd})
    if not rows:
        raise ValueError(f"answer_effects: none of the answer's comparisons can be made from "
                         f"methods {sorted(g.method.unique())}")
    out = pd.DataFrame(rows)
    out["p_adjusted"] = adjust_pvalues(out.p_value.to_numpy(), "holm")
    level = alpha / len(out)
    out["mde"] = [detectable_effect(sd, n, level) for sd, n in zip(out.sd, out.n, strict=True)]
    out["verdict"] = [verdict(m, q, alpha) for m, q in zip(out["mean"], out.p_adjusted,
                                                           strict=True)]
    return out.drop(columns="sd")


#: The alignment objectives of chapter 5's toy grid, in the book's order.
ALIGNERS: tuple[str, ...] = ("sentence", "word", "image-pivot")


def chapter_family(df: pd.DataFrame, finetunes: Sequence[str],
                   aligners: Sequence[str] = ALIGNERS) -> pd.DataFrame:
    """Chapter 5's comparisons of the toy grid as one Holm family, seeds as the units.

    Sections (column ``section``): ``alignment`` (retrieval and AER of each aligner against
    no alignment), ``transfer`` (zero-shot and source-language accuracy with plain
    fine-tuning), ``attack`` and ``gap`` (every alignment x fine-tuning cell against
    none/plain: accuracy under attack and the robustness gap), ``mixed`` (gain on mixed-language
    pairs minus the zero-shot gain), ``pivot`` (image pivot against sentence alignment) and
    ``control`` (plain against hypothesis-only; sentence alignment against the same training
    on shuffled pairs). Columns as :func:`~xtutor.experiments.grid_analysis.effects_frame`
    with ``adjust="holm"``, plus ``section``; indexed by ``label`` (also kept as a column).

    ``df``: the grid's records as a frame; ``finetunes``: the grid's fine-tuning methods,
    ``"plain"`` first.
    """
    from xtutor.experiments.grid_analysis import effects_frame

    if not finetunes or finetunes[0] != "plain":
        raise ValueError(f"chapter_family: finetunes must start with 'plain', got "
                         f"{list(finetunes)}")
    family: dict[str, tuple[str, object]] = {}

    def add(section: str, label: str, quantity: str, treatment: str, control: str,
            by_language: bool = True) -> None:
        family[label] = (section, compare(df, quantity, treatment, control, seed_units=True,
                                          by_language=by_language))

    for a in aligners:
        add("alignment", f"{a}: retrieval", "retrieval", f"{a}/none", "none/none")
        add("alignment", f"{a}: AER (lower is better)", "aer", f"{a}/none", "none/none")
    for a in aligners:
        add("transfer", f"{a}: zero-shot", "zero_shot", f"{a}/plain", "none/plain")
        add("transfer", f"{a}: source language", "source", f"{a}/plain", "none/plain",
            by_language=False)
    for f in finetunes:
        for a in ["none", *aligners]:
            if (a, f) != ("none", "plain"):
                add("attack", f"{a} + {f}", "attacked:all", f"{a}/{f}", "none/plain")
                add("gap", f"{a} + {f} (gap)", "drop:all", f"{a}/{f}", "none/plain")
    for a, f in [(a, "plain") for a in aligners] + [("none", f) for f in finetunes[1:]]:
        add("mixed", f"{a} + {f} (mixed - zero-shot)", "mixed_minus_zero_shot", f"{a}/{f}",
            "none/plain", by_language=False)
    add("pivot", "image pivot vs sentence: retrieval", "retrieval", "image-pivot/none",
        "sentence/none")
    add("pivot", "image pivot vs sentence: zero-shot", "zero_shot", "image-pivot/plain",
        "sentence/plain")
    for q, by_lang in (("source", False), ("zero_shot", True), ("mixed", True)):
        add("control", f"plain vs hypothesis-only: {q}", q, "none/plain",
            "none/hypothesis-only", by_language=by_lang)
    add("control", "sentence vs shuffled pairs: retrieval", "retrieval", "sentence/none",
        "sentence-shuffled/none")
    add("control", "sentence vs shuffled pairs: zero-shot", "zero_shot", "sentence/plain",
        "sentence-shuffled/plain")
    fam = effects_frame({k: c for k, (_, c) in family.items()}, adjust="holm")  # type: ignore[misc]
    fam.insert(0, "section", [sec for sec, _ in family.values()])
    return fam.set_index("label", drop=False)


def answer_table(settings: Mapping[str, pd.DataFrame], *, seed: int = 0,
                 effects: Mapping[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Side by side, one column group per setting (e.g. ``{"toy family": toy_records,
    "e5-small on XNLI": real_records}``): for each comparison the effect with its interval,
    Holm-adjusted p-value, seeds and verdict; ``"not run"`` where a setting lacks it. Each
    setting is its own family (:func:`answer_effects`). ``effects`` passes
    :func:`answer_effects` frames already computed for some settings (by setting name), so a
    chapter that also reads them does not compute the bootstrap twice.

    Example:
        >>> import pandas as pd
        >>> rows = [{"method": m, "seed": s, "train_lang": "L0", "premise_lang": "L1",
        ...          "hypothesis_lang": "L1", "eval_lang": "L1", "attack": "none",
        ...          "task": "nli", "metric": "accuracy", "value": v + 0.01 * s}
        ...         for s in range(3) for m, v in (("none/plain", .5), ("sentence/plain", .6))]
        >>> t = answer_table({"toy": pd.DataFrame(rows)})
        >>> t.loc[("transfer", "sentence/plain - none/plain"), ("toy", "effect")]
        '+0.100 [+0.100, +0.100]'
    """
    if not settings:
        raise ValueError("answer_table: pass {setting name: grid records frame}")
    given = dict(effects or {})
    unknown = sorted(set(given) - set(settings))
    if unknown:
        raise ValueError(f"answer_table: effects given for {unknown}, which are not settings "
                         f"({sorted(settings)})")
    effects = {name: (given[name] if name in given else answer_effects(df, seed=seed))
               .set_index(["part", "comparison"]) for name, df in settings.items()}
    order = list(dict.fromkeys(k for fx in effects.values() for k in fx.index))
    parts = {c.part: i for i, c in enumerate(answer_comparisons(
        [m for df in settings.values() for m in df.method.unique()]))}
    order.sort(key=lambda k: parts.get(k[0], len(parts)))
    cols = {}
    for name, fx in effects.items():
        for stat in ("effect", "p_adjusted", "seeds", "verdict"):
            cols[(name, stat)] = [_cell(fx, k, stat) for k in order]
    index = pd.MultiIndex.from_tuples(order, names=["part", "comparison"])
    return pd.DataFrame(cols, index=index)


def _cell(fx: pd.DataFrame, key: tuple[str, str], stat: str) -> str:
    if key not in fx.index:
        return "not run"
    r = fx.loc[key]
    if stat == "effect":
        return f"{r['mean']:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}]"
    if stat == "p_adjusted":
        return f"{r.p_adjusted:.3g}"
    if stat == "seeds":
        return str(int(r.n))
    return str(r.verdict)


__all__ = ["ALIGNERS", "ROBUST_METHODS", "Comparison", "answer_comparisons", "answer_effects",
           "answer_table", "chapter_family"]

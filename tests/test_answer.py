"""The answer table: seeds as units, Holm over the family, verdicts on adjusted p-values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xtutor.experiments.answer import answer_comparisons, answer_effects, answer_table
from xtutor.experiments.grid_analysis import compare


def _grid(effects: dict[str, float], n_seeds: int, noise: float = 0.01,
          langs: tuple[str, ...] = ("L1", "L2")) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for s in range(n_seeds):
        seed_shift = rng.normal(0, 0.05)  # shared by every method of a seed
        for m, eff in effects.items():
            for lang in ("L0", *langs):
                rows.append({"method": m, "seed": s, "train_lang": "L0", "premise_lang": lang,
                             "hypothesis_lang": lang, "eval_lang": lang, "attack": "none",
                             "task": "nli", "metric": "accuracy",
                             "value": 0.5 + seed_shift + eff + rng.normal(0, noise)})
    return pd.DataFrame(rows)


def test_seeds_are_the_units_not_seed_times_language():
    df = _grid({"none/plain": 0.0, "sentence/plain": 0.02}, n_seeds=3,
               langs=("L1", "L2", "L3", "L4", "L5"))
    c = compare(df, "zero_shot", "sentence/plain", "none/plain", seed_units=True)
    assert c.n == 3 and c.n_units == 15
    per_seed = compare(df, "zero_shot", "sentence/plain", "none/plain", by_language=False,
                       seed_units=True)
    assert c.mean == pytest.approx(per_seed.mean)
    assert c.p_value == pytest.approx(per_seed.p_value)  # p over 3 seeds, not 15 units


def test_auto_interval_is_t_below_ten_seeds_and_bca_from_ten():
    from xtutor.stats import mean_ci

    df = _grid({"none/plain": 0.0, "none/free": 0.03}, n_seeds=4)
    c = compare(df, "zero_shot", "none/free", "none/plain", seed_units=True)
    wide = df[df.eval_lang != "L0"].groupby(["seed", "method"]).value.mean().unstack()
    d = (wide["none/free"] - wide["none/plain"]).to_numpy()
    assert (c.ci_low, c.ci_high) == pytest.approx(mean_ci(d)[1:])
    df10 = _grid({"none/plain": 0.0, "none/free": 0.03}, n_seeds=12)
    c10 = compare(df10, "zero_shot", "none/free", "none/plain", seed_units=True)
    wide = df10[df10.eval_lang != "L0"].groupby(["seed", "method"]).value.mean().unstack()
    d10 = (wide["none/free"] - wide["none/plain"]).to_numpy()
    assert (c10.ci_low, c10.ci_high) != pytest.approx(mean_ci(d10)[1:])  # bootstrap, not t
    assert c10.ci_low < c10.mean < c10.ci_high


def test_intervals_are_clamped_to_the_range_of_a_difference():
    df = _grid({"none/plain": -0.45, "sentence/plain": 0.45}, n_seeds=2, noise=0.2)
    c = compare(df, "zero_shot", "sentence/plain", "none/plain", seed_units=True)
    assert c.ci_low >= -1.0 and c.ci_high == 1.0
    from xtutor.experiments.grid_analysis import grid_scores
    from xtutor.stats import paired_difference

    sc = grid_scores(df, by_language=True).query("quantity == 'zero_shot'")
    sc = sc.assign(method=sc.alignment + "/" + sc.finetune)
    raw = paired_difference(sc, "method", "sentence/plain", "none/plain",
                            on=["seed", "eval_lang"], interval="auto", pool="clusters")
    assert raw.ci_high > 1.0  # what the clamp removed


def test_answer_effects_family_verdicts_and_power():
    df = _grid({"none/none": 0.0, "none/plain": 0.0, "none/free": 0.10,
                "none/smoothing": 0.0, "sentence/plain": 0.001}, n_seeds=5, noise=0.005)
    fx = answer_effects(df).set_index("comparison")
    assert set(fx.index) == {"sentence/plain - none/plain", "none/free - none/plain",
                             "none/smoothing - none/plain"}
    assert fx.loc["none/free - none/plain", "verdict"] == "significantly higher than"
    null = fx.loc["none/smoothing - none/plain"]
    assert null.verdict == "not significantly different from"
    assert 0 < null.mde < 0.1  # the design could have detected a 0.1 effect
    assert (fx.p_adjusted >= fx.p_value).all()


def test_answer_table_marks_what_a_setting_did_not_run():
    toy = _grid({"none/plain": 0.0, "sentence/plain": 0.05}, n_seeds=3)
    real = _grid({"none/plain": 0.0, "none/free": 0.02}, n_seeds=3)
    t = answer_table({"toy": toy, "real": real})
    assert t.loc[("transfer", "sentence/plain - none/plain"), ("real", "effect")] == "not run"
    assert t.loc[("robust-clean", "none/free - none/plain"), ("toy", "verdict")] == "not run"
    assert t.loc[("transfer", "sentence/plain - none/plain"), ("toy", "seeds")] == "3"
    with pytest.raises(ValueError, match="none of the answer's comparisons"):
        answer_effects(_grid({"none/plain": 0.0}, n_seeds=2))
    given = answer_table({"toy": toy, "real": real}, effects={"real": answer_effects(real)})
    assert given.equals(t)  # precomputed effects give the same table
    with pytest.raises(ValueError, match="not settings"):
        answer_table({"toy": toy}, effects={"real": answer_effects(real)})


def test_comparisons_need_both_methods():
    got = [(c.part, c.label) for c in answer_comparisons(["none/plain", "none/free",
                                                          "none/none"])]
    assert got == [("robust-clean", "none/free - none/plain"),
                   ("robust-attack", "none/free - none/plain"),
                   ("generalized", "none/free - none/plain"),
                   ("erosion", "none/plain - none/none"),
                   ("erosion", "none/free - none/plain")]


def test_generalized_part_is_paired_by_seed() -> None:
    """mixed - zero-shot spans languages: one value per seed, and a method whose gain is the
    same on mixed and same-language pairs gets a zero effect."""
    rows = []
    for s in range(4):
        for m, gain_mixed in (("none/plain", 0.0), ("none/codeswitch", 0.05 + 0.01 * s)):
            for p, h in (("L0", "L0"), ("L1", "L1"), ("L0", "L1"), ("L1", "L0")):
                rows.append({"method": m, "seed": s, "train_lang": "L0", "premise_lang": p,
                             "hypothesis_lang": h, "eval_lang": p if p == h else f"{p}-{h}",
                             "attack": "none", "task": "nli", "metric": "accuracy",
                             "value": 0.5 + 0.1 * (m != "none/plain")
                             + (gain_mixed if p != h else 0.0)})
    fx = answer_effects(pd.DataFrame(rows)).set_index(["part", "comparison"])
    g = fx.loc[("generalized", "none/codeswitch - none/plain")]
    assert g.n == 4 and g["mean"] == pytest.approx(0.065)
    assert fx.loc[("robust-clean", "none/codeswitch - none/plain"), "mean"] == \
        pytest.approx(0.1)


def test_collapse_tolerates_a_handful_of_items_and_sensitivity_drops_the_cell() -> None:
    from xtutor.experiments.grid_analysis import collapsed_cells, without_collapsed

    rows = [{"method": m, "seed": s, "task": "xnli", "metric": "accuracy", "value": v,
             "premise_lang": x, "hypothesis_lang": x, "eval_lang": x, "attack": "none"}
            for s, m, vals in ((0, "none/consistency", (.35, .35, .352)),
                               (1, "none/consistency", (.35, .36, .40)),
                               (0, "none/plain", (.68, .61, .60)))
            for x, v in zip(("en", "sw", "my"), vals, strict=True)]
    df = pd.DataFrame(rows)
    cc = collapsed_cells(df).set_index(["seed", "method"])
    assert cc.loc[(0, "none/consistency"), "collapsed"]          # 0.352: one item off
    assert cc.loc[(0, "none/consistency"), "accuracy"] == pytest.approx(0.3507, abs=1e-4)
    assert not cc.loc[(1, "none/consistency"), "collapsed"]      # 0.36, 0.40: reads input
    assert not collapsed_cells(df, tol=1e-9).collapsed.any()     # exact constancy only
    kept = without_collapsed(df)
    assert set(zip(kept.seed, kept.method, strict=True)) == {(1, "none/consistency"),
                                                             (0, "none/plain")}
    plain = df[df.method == "none/plain"]
    assert without_collapsed(plain) is plain                     # nothing to drop


def test_default_compare_is_unchanged_seed_units_differ():
    df = _grid({"none/plain": 0.0, "sentence/plain": 0.02}, n_seeds=3,
               langs=("L1", "L2", "L3", "L4", "L5"))
    old = compare(df, "zero_shot", "sentence/plain", "none/plain")
    new = compare(df, "zero_shot", "sentence/plain", "none/plain", seed_units=True)
    assert old.mean == pytest.approx(new.mean)
    assert old.p_value != pytest.approx(new.p_value)  # 15 units vs 3 seeds


def test_controls_enter_the_family_when_the_grid_has_them():
    """The equal-compute and hypothesis-only controls are compared with their treatment, in
    the same Holm family; a gain that only needs the extra training is not significant."""
    df = _grid({"none/plain": 0.0, "sentence/plain": 0.10, "sentence-shuffled/plain": 0.10,
                "none/hypothesis-only": -0.15}, n_seeds=5)
    fx = answer_effects(df).set_index("comparison")
    ctl = fx[fx.part == "control"]
    assert set(ctl.index) == {"sentence/plain - sentence-shuffled/plain",
                              "none/plain - none/hypothesis-only"}
    assert ctl.loc["sentence/plain - sentence-shuffled/plain", "verdict"] == \
        "not significantly different from"
    assert ctl.loc["none/plain - none/hypothesis-only", "verdict"] == "significantly higher than"
    assert "control" not in set(answer_effects(_grid({"none/plain": 0, "sentence/plain": .1},
                                                     n_seeds=5)).part)


def test_collapsed_cells_finds_the_constant_classifiers_of_the_real_grid() -> None:
    import dataclasses
    from pathlib import Path

    from xtutor.experiments.grid_analysis import collapsed_cells
    from xtutor.results import read_records

    cells = Path(__file__).resolve().parents[1] / "data" / "ledgers" / "grid_xnli_e5" / "cells"
    names = ["seed2__none__free", "seed3__none__free", "seed2__none__plain",
             "seed3__none__plain", "seed0__none__free"]
    recs = [r for n in names for f in sorted(cells.glob(f"{n}.*.jsonl"))
            for r in read_records(f)]
    assert len({r.method + str(r.seed) for r in recs}) == len(names), "cells missing"
    out = collapsed_cells(pd.DataFrame([dataclasses.asdict(r) for r in recs]))
    got = {(int(r.seed), r.method): bool(r.collapsed) for r in out.itertuples()}
    # free adversarial training left seeds 2 and 3 predicting one class (0.338 / 0.324 in
    # all five languages, no attack succeeded); plain fine-tuning and seed 0's free run read
    # their input
    assert got == {(2, "none/free"): True, (3, "none/free"): True, (2, "none/plain"): False,
                   (3, "none/plain"): False, (0, "none/free"): False}
    assert out.loc[out.collapsed, "languages"].min() == 5


def test_methods_with_fewer_seeds_are_paired_on_the_seeds_both_ran() -> None:
    """The real grid runs 3 aligned seeds beside 5 unaligned ones: a comparison across them
    uses the 3 shared seeds (and says so in ``n``), never unpaired rows."""
    df = _grid({"none/plain": 0.0, "none/free": 0.0}, n_seeds=5)
    aligned = _grid({"sentence/plain": 0.05}, n_seeds=3)
    both = pd.concat([df, aligned], ignore_index=True)
    c = compare(both, "zero_shot", "sentence/plain", "none/plain", seed_units=True)
    assert c.n == 3
    fx = answer_effects(both).set_index(["part", "comparison"])
    assert fx.loc[("transfer", "sentence/plain - none/plain"), "n"] == 3
    assert fx.loc[("robust-clean", "none/free - none/plain"), "n"] == 5
    late = aligned.assign(seed=aligned.seed + 10)
    with pytest.raises(ValueError, match="share no seed"):
        compare(pd.concat([df, late]), "zero_shot", "sentence/plain", "none/plain")


def test_chapter_family_needs_plain_first() -> None:
    from xtutor.experiments.answer import chapter_family

    df = _grid({"none/none": 0.0, "none/plain": 0.0}, n_seeds=3)
    with pytest.raises(ValueError, match="finetunes must start with 'plain'"):
        chapter_family(df, ["free", "plain"])

"""The chapter-5 grid: settings, cells, resuming without recomputation, controls, real data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from _shared import shared_or_skip

from xtutor.data.types import PairDataset, PairExample
from xtutor.experiments.grid import (
    Cell,
    GridSettings,
    grid_cells,
    grid_frame,
    grid_scores,
    run_grid,
)
from xtutor.experiments.setups import shuffled_labels
from xtutor.results import read_records
from xtutor.runner import TIMING_METRICS, cell_hash, kinds, load_config, run_config
from xtutor.settings import SettingsError

TINY = {"preset": "tiny", "seeds": [0], "alignments": ["none", "sentence"],
        "finetunes": ["plain", "codeswitch"], "controls": ["shuffled-labels"],
        "attacks": ["char_noise"], "align_steps": 4, "align_pairs": 16, "n_attack": 4,
        "n_eval_pairs": 12, "aer_pairs": 6, "probe_per_language": 12, "n_test": 12}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("toy-encoders")


def _values(records: list) -> list[tuple]:
    return [(r.method, r.eval_lang, r.attack, r.metric, r.seed, round(r.value, 6))
            for r in records if r.metric not in TIMING_METRICS]


def test_settings_refuse_bad_input() -> None:
    with pytest.raises(SettingsError, match=r"unknown setting 'alignment'; valid keys: .*align"):
        GridSettings.from_settings({"alignment": ["none"]})
    with pytest.raises(ValueError, match="'alignments'.*'clip'"):
        GridSettings.from_settings({"alignments": ["none", "clip"]})
    with pytest.raises(ValueError, match="image-pivot"):
        GridSettings.from_settings({"setup": "xnli", "alignments": ["none", "image-pivot"]})
    with pytest.raises(ValueError, match="duplicates"):
        GridSettings.from_settings({"seeds": [0, 0]})
    with pytest.raises(SettingsError, match=r"unknown setting 'robust.adv_stepz'; valid keys: "
                                            r"adv_epsilon, adv_norm, adv_step_size, adv_steps"):
        GridSettings.from_settings({"robust": {"adv_stepz": 2}})
    with pytest.raises(ValueError, match="'en'"):
        GridSettings.from_settings({"setup": "xnli", "alignments": ["none"],
                                    "languages": ["es", "sw"]})


def test_cells_cover_the_factorial_and_controls() -> None:
    s = GridSettings(seeds=(0, 1), alignments=("none", "word"), finetunes=("plain", "free"))
    cells = grid_cells(s)
    per_seed = 2 * (1 + 2) + 2 + 1  # alignments x (measure + finetunes), random-init x2, shuffled
    assert len(cells) == 2 * per_seed
    assert len({c.name for c in cells}) == len(cells)
    assert Cell(1, "word", "free") in cells and Cell(0, "none", "shuffled-labels") in cells
    assert sum(c.is_control for c in cells) == 2 * 3
    align_only = grid_cells(GridSettings(seeds=(0,), alignments=("none",), finetunes=()))
    assert [c.name for c in align_only] == ["seed0__none__none", "seed0__random-init__none"]


def test_results_hash_ignores_the_axes_but_not_hyperparameters() -> None:
    grid = kinds()["grid"]

    def h(**kw: object) -> str:
        return cell_hash(grid, GridSettings(**kw))

    a = h(seeds=(0,), finetunes=("plain",))
    assert a == h(seeds=(0, 1, 2)) == h(save_encoders=False)
    assert a != h(align_steps=10)
    assert a != h(robust={"adv_epsilon": 0.1})


def test_toy_protect_labels_is_hashed_only_when_on_and_checks_labels_exactly() -> None:
    """protect_labels on the toy family: the exact label check of xtutor.toyreading reaches the
    attacks; ledgers made without it keep their hash."""
    from xtutor.experiments.grid import grid_setup

    grid = kinds()["grid"]
    off, on = GridSettings(), GridSettings(protect_labels=True)
    assert cell_hash(grid, off) != cell_hash(grid, on)
    assert cell_hash(grid, off) == cell_hash(grid, GridSettings(protect_labels=False))
    assert grid_setup(off, 0).attack_protection("L1") == {}
    setup = grid_setup(on, 0)
    prot = setup.attack_protection("L1")
    assert set(prot) == {"protected_words", "label_check"}
    data = setup.world.nli(5, "L1", seed=3)
    assert all(prot["label_check"](e, e) for e in data)
    neg = next(w for w in prot["protected_words"] if w == setup.world.language("L0").neg_word)
    assert neg


def test_shuffled_labels_keep_the_label_counts_and_break_the_pairing() -> None:
    data = PairDataset("nli", ("a", "b", "c"),
                       [PairExample(f"p{i}", f"h{i}", i % 3, "L0", "L0") for i in range(60)])
    for seed in range(5):
        sh = shuffled_labels(data, seed=seed)
        assert [ex.premise for ex in sh] == [ex.premise for ex in data]
        assert sorted(sh.labels) == sorted(data.labels)  # balanced classes stay balanced
        for c in range(3):  # each true class is spread evenly over the labels: no signal
            noisy = [b for a, b in zip(data.labels, sh.labels, strict=True) if a == c]
            assert sorted(noisy.count(y) for y in range(3)) == [20 // 3, 20 // 3 + 1,
                                                                 20 // 3 + 1]


def test_interrupted_grid_resumes_without_recomputing(tmp_path: Path, cache: Path) -> None:
    full = run_grid(TINY, tmp_path / "full", cache_dir=cache, show_progress=False)
    cells = [c.name for c in grid_cells(GridSettings.from_settings(TINY))]
    assert full.computed == cells and not full.reused

    class Stop(Exception):
        pass

    done: list[str] = []

    def stop_after_three(cell: Cell, seconds: float) -> None:
        done.append(cell.name)
        if len(done) == 3:
            raise Stop

    out = tmp_path / "resumed"
    with pytest.raises(Stop):
        run_grid(TINY, out, cache_dir=cache, show_progress=False, on_cell=stop_after_three)
    assert len(list((out / "cells").glob("*.jsonl"))) == 3
    (out / "cells" / "seed0__none__plain.x.jsonl.tmp").write_text("half a line")  # a crash
    again = run_grid(TINY, out, cache_dir=cache, show_progress=False)
    assert again.reused == done and again.computed == cells[3:]
    assert _values(again.records) == _values(full.records)
    assert _values(read_records(out / "results.jsonl")) == _values(full.records)
    # a third run computes nothing; a changed hyperparameter recomputes everything
    assert run_grid(TINY, out, cache_dir=cache, show_progress=False).computed == []
    changed = run_grid({**TINY, "finetunes": ["plain"], "controls": [], "align_steps": 5},
                       out, cache_dir=cache, show_progress=False)
    assert changed.reused == [] and len(changed.computed) == 4


def test_grid_records_and_scores(tmp_path: Path, cache: Path) -> None:
    res = run_grid(TINY, tmp_path / "g", cache_dir=cache, show_progress=False)
    df = res.frame()
    assert set(df.alignment) == {"none", "sentence"}
    assert set(df.finetune) == {"none", "plain", "codeswitch", "shuffled-labels"}
    clean = df[(df.metric == "accuracy") & (df.attack == "none")]
    n_langs = df.premise_lang.dropna().nunique()
    assert len(clean[clean.method == "sentence/plain"]) == n_langs ** 2  # generalized matrix
    attacked = df[df.attack == "char_noise"]
    assert set(attacked.method) == {"none/plain", "none/codeswitch", "sentence/plain",
                                    "sentence/codeswitch"}  # controls are not attacked
    assert set(df[df.finetune == "none"].metric) >= {"retrieval_acc_cosine", "aer_itermax",
                                                     "lang_id_acc"}
    assert df.git_rev.ne("").all() and df.config_hash.ne("").all()
    sc = grid_scores(df)
    assert {"source", "zero_shot", "mixed", "attacked:char_noise", "retrieval", "aer"} <= \
        set(sc.quantity)
    one = sc[(sc.alignment == "none") & (sc.finetune == "plain") & (sc.quantity == "zero_shot")]
    expect = clean[(clean.method == "none/plain") & (clean.premise_lang == clean.hypothesis_lang)
                   & (clean.premise_lang != "L0")].value.mean()
    assert one.value.item() == pytest.approx(expect)


def test_equal_compute_and_hypothesis_only_controls(tmp_path: Path, cache: Path) -> None:
    """shuffled-pairs: the sentence alignment's steps on shuffled translations (measured and
    fine-tuned, clean only); hypothesis-only: plain fine-tuning with blanked premises."""
    from xtutor.experiments.contrastive import alignment_data
    from xtutor.toyworld import ToyWorld, WorldConfig

    cfg = {**TINY, "finetunes": ["plain"], "controls": ["shuffled-pairs", "hypothesis-only"],
           "probe_per_language": 12}
    cells = [c.name for c in grid_cells(GridSettings.from_settings(cfg))]
    assert cells[-3:] == ["seed0__sentence-shuffled__none", "seed0__sentence-shuffled__plain",
                          "seed0__none__hypothesis-only"]
    df = run_grid(cfg, tmp_path / "g", cache_dir=cache, show_progress=False).frame()
    assert {"sentence-shuffled/none", "sentence-shuffled/plain", "none/hypothesis-only"} <= \
        set(df.method)
    controls = df[df.method.isin(["sentence-shuffled/plain", "none/hypothesis-only"])]
    assert (controls.attack == "none").all()  # controls are not attacked
    n_langs = df.premise_lang.dropna().nunique()
    for m in ("sentence-shuffled/plain", "none/hypothesis-only"):
        clean = controls[(controls.method == m) & (controls.metric == "accuracy")]
        assert len(clean) == n_langs ** 2
    assert "retrieval_acc_cosine" in set(df[df.method == "sentence-shuffled/none"].metric)
    # the shuffled pairs are the sentence pairs with their translations permuted
    w = ToyWorld(WorldConfig(n_languages=3, seed=0))
    real = alignment_data(w, "sentence", 0, 20, 4)["pairs"]
    shuf = alignment_data(w, "sentence-shuffled", 0, 20, 4)["pairs"]
    assert [p.src for p in shuf] == [p.src for p in real]
    assert sorted(p.tgt.text for p in shuf) == sorted(p.tgt.text for p in real)
    assert sum(a.tgt == b.tgt for a, b in zip(real, shuf, strict=True)) < len(real) / 4
    with pytest.raises(ValueError, match="shuffled-pairs"):
        GridSettings.from_settings({"setup": "xnli", "alignments": ["none"],
                                    "controls": ["shuffled-pairs"]})


def test_grid_frame_refuses_foreign_methods() -> None:
    with pytest.raises(ValueError, match="<alignment>/<finetune>"):
        grid_frame(pd.DataFrame({"method": ["plain"]}))


def test_xtutor_run_grid_config(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
                                ) -> None:
    import yaml

    monkeypatch.setenv("XTUTOR_CACHE", str(cache.parent))
    cfg = tmp_path / "grid.yaml"
    cfg.write_text(yaml.safe_dump({"experiment": "grid", **TINY, "finetunes": ["plain"],
                                   "alignments": ["none"], "controls": []}))
    records = run_config(cfg, tmp_path / "out", show_progress=False).records
    assert {r.method for r in records} == {"none/none", "none/plain"}
    assert (tmp_path / "out" / "summary.txt").read_text().startswith("grid (toy)")


def test_xnli_grid_smoke(tmp_path: Path) -> None:
    root = shared_or_skip("xnli").parent
    shared_or_skip("muse")
    s = {"setup": "xnli", "profile": "smoke", "seeds": [0], "alignments": ["none", "word"],
         "finetunes": ["codeswitch"], "controls": ["random-init"], "languages": ["en", "sw"],
         "codeswitch_languages": ["es"], "attack_targets": ["es"],
         "attacks": ["char_noise", "code_switch"], "data_dir": str(root),
         "save_encoders": False}
    res = run_grid(s, tmp_path, show_progress=False)
    df = res.frame()
    assert set(df.method) == {"none/none", "none/codeswitch", "word/none", "word/codeswitch",
                              "random-init/none", "random-init/plain"}
    retr = df[df.metric == "retrieval_acc_cosine"].groupby("alignment").value.mean()
    assert retr["none"] > retr["random-init"]  # e5 is aligned, a random init is not
    assert {"char_noise", "code_switch"} <= set(df.attack)
    assert not (tmp_path / "encoders").exists()


def test_xnli_grid_real_ledger_settings_smoke(tmp_path: Path) -> None:
    """The settings of configs/grid_xnli_e5.yaml on the smoke profile: fewer seeds for the
    aligned row, bf16 with frozen word embeddings, a query budget, label protection, attacks
    on the hypothesis of chosen languages, retrieval after fine-tuning."""
    root = shared_or_skip("xnli").parent
    shared_or_skip("muse")
    s = {"setup": "xnli", "profile": "smoke", "seeds": [0, 1], "alignment_seeds": [0],
         "alignments": ["none", "sentence"], "finetunes": ["plain"], "controls": [],
         "languages": ["en", "sw", "es"], "attack_languages": ["es"],
         "codeswitch_languages": ["es"], "attack_targets": ["fr"],
         "attacks": ["word_substitution", "code_switch"], "data_dir": str(root),
         "save_encoders": False, "precision": "bf16", "finetune_precision": "bf16",
         "freeze_embeddings": True, "query_budget": 5, "attack_sides": "hypothesis",
         "protect_labels": True, "retrieval_after": True, "n_examples": 2}
    res = run_grid(s, tmp_path, show_progress=False)
    df = res.frame()
    assert sorted(set(zip(df.seed, df.method, strict=True))) == [
        (0, "none/none"), (0, "none/plain"), (0, "sentence/none"), (0, "sentence/plain"),
        (1, "none/none"), (1, "none/plain")]
    retr = df[df.metric == "retrieval_acc_cosine"]
    assert set(retr.method) == {"none/none", "none/plain", "sentence/none", "sentence/plain"}
    att = df[df.attack != "none"]
    assert set(att.eval_lang) == {"es"} and set(att.attack) == {"word_substitution",
                                                                 "code_switch"}
    q = att[att.metric == "queries_per_example"].value
    assert (q <= 5 + 2).all()  # budget + clean query + final re-score
    from xtutor.experiments.grid import read_examples

    ex = read_examples(tmp_path)
    won = att[att.metric == "succeeded"].value  # one row per (seed, method, attack)
    assert len(ex) == sum(min(int(w), 2) for w in won)
    if len(ex):  # every kept example is a changed hypothesis in the attacked language
        assert set(ex.language) == {"es"}
        assert (ex.hypothesis != ex.adversarial_hypothesis).all()
        assert (ex.premise == ex.adversarial_premise).all()  # attack_sides: hypothesis
    with pytest.raises(ValueError, match="setup 'xnli' only"):
        GridSettings.from_settings({"precision": "bf16"})
    with pytest.raises(ValueError, match="alignment_seeds"):
        GridSettings.from_settings({"seeds": [0], "alignment_seeds": [3]})


def test_config_files_load_and_the_ci_grid_is_the_full_grid_made_small() -> None:
    from dataclasses import replace

    root = Path(__file__).resolve().parents[1] / "configs"
    _, full = load_config(root / "grid_toy.yaml")
    _, small = load_config(root / "grid_toy_ci.yaml")
    assert len(full.seeds) >= 10
    assert small == replace(full, seeds=(0,), n_attack=30, controls=())
    assert load_config(root / "grid_xnli_e5.yaml")[1].setup == "xnli"


def test_robustness_gap_is_clean_minus_attacked_on_the_same_pairs() -> None:
    rows = []
    for lang, clean, att in (("L1", 0.5, 0.2), ("L2", 0.4, 0.4)):
        for attack, drop in (("char_noise", 0.1), ("code_switch", 0.0)):
            rows += [{"metric": "clean_accuracy", "value": clean},
                     {"metric": "attacked_accuracy", "value": att - drop}]
            rows[-2].update(eval_lang=lang, attack=attack)
            rows[-1].update(eval_lang=lang, attack=attack)
    df = pd.DataFrame(rows).assign(method="none/plain", seed=0, train_lang="L0",
                                   premise_lang=None, hypothesis_lang=None, task="nli")
    by = grid_scores(df).set_index("quantity").value
    assert by["drop:char_noise"] == pytest.approx(((0.3 + 0.1) + (0.0 + 0.1)) / 2)
    assert by["drop:code_switch"] == pytest.approx((0.3 + 0.0) / 2)
    assert by["drop:all"] == pytest.approx((0.4 + 0.3 + 0.1 + 0.0) / 4)
    assert by["attacked:all"] == pytest.approx((0.1 + 0.2 + 0.3 + 0.4) / 4)
    per_lang = grid_scores(df, by_language=True)
    assert set(per_lang[per_lang.quantity == "drop:all"].eval_lang) == {"L1", "L2"}


def test_attack_success_is_averaged_over_target_languages_per_attack() -> None:
    rows = [{"metric": "attack_success_rate", "eval_lang": lang, "attack": attack, "value": v}
            for lang, attack, v in (("L0", "char_noise", 0.9), ("L1", "char_noise", 0.2),
                                    ("L2", "char_noise", 0.4), ("L1", "code_switch", 0.6))]
    df = pd.DataFrame(rows).assign(method="none/plain", seed=0, train_lang="L0",
                                   premise_lang=None, hypothesis_lang=None, task="nli")
    by = grid_scores(df).set_index("quantity").value
    assert by["success:char_noise"] == pytest.approx(0.3)  # the source language L0 left out
    assert by["success:code_switch"] == pytest.approx(0.6)
    assert by["success:all"] == pytest.approx((0.2 + 0.4 + 0.6) / 3)


def test_alignment_vs_transfer_leaves_out_the_label_controls() -> None:
    from xtutor.experiments.grid_analysis import alignment_vs_transfer

    rows = [{"method": m, "seed": 0, "train_lang": "L0", "premise_lang": "L1",
             "hypothesis_lang": "L1", "eval_lang": "L1", "attack": "none", "task": t,
             "metric": k, "value": v}
            for m, t, k, v in (("none/none", "retrieval", "retrieval_acc_cosine", .1),
                               ("none/plain", "nli", "accuracy", .4),
                               ("none/hypothesis-only", "nli", "accuracy", .45),
                               ("none/shuffled-labels", "nli", "accuracy", .33))]
    pts = alignment_vs_transfer(pd.DataFrame(rows))
    assert pts.finetune.tolist() == ["plain"]

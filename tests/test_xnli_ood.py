"""XNLI genre shift (``experiment: xnli_ood``): genre-aware loading, the genre split and its
leakage on the real files, Spanish refused, settings errors, and a smoke run with a tiny BERT
on the real text (skipped without the shared data)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests._shared import shared_or_skip
from xtutor.data.xnli import (
    MNLI_GENRES,
    XNLI_GENRES,
    load_xnli,
    load_xnli_by_genre,
    read_xnli_genres,
)
from xtutor.experiments.xnli_ood import (
    KIND_SPEC,
    XnliGenreSetup,
    XnliOodSettings,
    ood_effects,
    run_xnli_ood,
    xnli_ood_cells,
)
from xtutor.settings import SettingsError

FIX = Path(__file__).parent / "fixtures"
CONFIGS = Path(__file__).resolve().parent.parent / "configs"


# ---------------------------------------------------------------------------------------------
# loading by genre (fixtures)


def test_genres_come_from_both_file_formats_in_load_xnli_order() -> None:
    fr = load_xnli_by_genre("fr", "test", FIX / "xnli")  # XNLI 1.0 format, genre column
    assert list(fr) == ["fiction"] and len(fr["fiction"]) == 3
    d = FIX / "xnli_genre"
    assert read_xnli_genres(d / "sw.genre.test.tsv", "sw") == ("fiction", "fiction", "travel")
    for lang in ("en", "my", "sw"):  # English from the English columns of my.genre.*
        by = load_xnli_by_genre(lang, "test", d)
        assert {g: len(x) for g, x in by.items()} == {"fiction": 2, "travel": 1}
        flat = sorted((e for x in by.values() for e in x), key=lambda e: e.id)
        assert flat == sorted(load_xnli(lang, "test", d), key=lambda e: e.id)
    assert list(load_xnli_by_genre("en", "test", d, genres=["travel"])) == ["travel"]
    with pytest.raises(ValueError, match=r"no 'en' pairs of genre\(s\) \['oup'\]"):
        load_xnli_by_genre("en", "test", d, genres=["oup"])


def test_spanish_and_the_hub_have_no_genres() -> None:
    with pytest.raises(ValueError, match="xnli-es-original.tsv has no genre column"):
        load_xnli_by_genre("es", "test", FIX / "xnli_genre")
    with pytest.raises(ValueError, match="not on the Hub"):
        load_xnli_by_genre("sw", "test")
    with pytest.raises(ValueError, match="dev and test"):
        load_xnli_by_genre("sw", "train", FIX / "xnli_genre")


# ---------------------------------------------------------------------------------------------
# settings


def test_settings_defaults_and_cells() -> None:
    s = XnliOodSettings.from_settings({"seeds": [0, 1], "methods": ["plain", "free"]})
    assert s.in_domain == MNLI_GENRES
    assert set(s.in_domain).isdisjoint(s.out_of_domain)
    assert set(s.in_domain) | set(s.out_of_domain) == set(XNLI_GENRES)
    assert s.languages == ("en", "sw", "ur", "my")
    assert [c.name for c in xnli_ood_cells(s)] == ["seed0__plain", "seed0__free",
                                                   "seed1__plain", "seed1__free"]
    assert [c.group for c in xnli_ood_cells(s)] == [c.name for c in xnli_ood_cells(s)]
    assert KIND_SPEC.name == "xnli_ood" and KIND_SPEC.axes == ("seeds", "methods")


@pytest.mark.parametrize(("values", "match"), [
    ({"genres": ["fiction"]}, "unknown setting 'genres'"),
    ({"in_domain": ["fiction", "sports"]}, r"unknown genre\(s\) \['sports'\]"),
    ({"in_domain": list(XNLI_GENRES)}, "leave at least one out"),
    ({"in_domain": ["fiction", "fiction"]}, "duplicates"),
    ({"languages": ["sw", "ur"]}, "must include 'en'"),
    ({"languages": ["en", "xx"]}, r"unknown \['xx'\]"),
    ({"methods": ["plain", "mixup"]}, r"unknown \['mixup'\]"),
    ({"methods": []}, "non-empty"),
    ({"seeds": [-1]}, "'seeds' must be >= 0"),
    ({"n_test": 0}, "'n_test' must be >= 1 or null"),
    ({"n_train": "many"}, "'n_train': expected an integer"),
    ({"precision": "int8"}, "'precision' must be one of"),
    ({"finetune_precision": "auto"}, "'finetune_precision' must be one of"),
    ({"lr": 0}, "'epochs' and 'lr' must be > 0"),
    ({"robust": {"adv_norm": "l1"}}, "norm must be 'l2' or 'linf'"),
])
def test_settings_errors_name_the_setting(values: dict, match: str) -> None:
    with pytest.raises(SettingsError, match=match):
        XnliOodSettings.from_settings(values)


@pytest.mark.parametrize("name", ["xnli_ood_e5", "xnli_ood_smoke"])
def test_configs_parse(name: str) -> None:
    cfg = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text(encoding="utf-8"))
    assert cfg.pop("experiment") == "xnli_ood"
    s = XnliOodSettings.from_settings(cfg)
    assert "es" not in s.languages
    if name == "xnli_ood_e5":
        assert len(s.seeds) >= 3
        assert {"plain", "free", "smoothing", "codeswitch"} <= set(s.methods)
        assert (s.precision, s.finetune_precision, s.freeze_embeddings) == ("bf16", "bf16", True)


# ---------------------------------------------------------------------------------------------
# the real files


@pytest.fixture(scope="module")
def data_root() -> Path:
    return shared_or_skip("xnli").parent


def test_real_genre_split_is_disjoint_and_leaks_nothing(data_root: Path) -> None:
    setup = XnliGenreSetup(0, n_test=50, data_dir=data_root)
    assert setup.leakage() == {"train_ids": 0, "train_sentences": 0, "parallel_sentences": 0,
                               "train_out_of_domain": 0}
    assert set(setup.in_domain).isdisjoint(setup.out_of_domain)
    dev = setup.by_genre("en", "dev")
    assert {g: len(x) for g, x in dev.items()} == dict.fromkeys(sorted(XNLI_GENRES), 249)
    train = setup.train()
    in_ids = {e.id for g in MNLI_GENRES for e in dev[g]}
    assert len(train) == 5 * 249 and {e.id for e in train} == in_ids
    tests = setup.genre_tests()
    assert set(tests) == {(x, g) for x in ("en", "sw", "ur", "my") for g in XNLI_GENRES}
    assert all(len(d) == 50 for d in tests.values())
    for g in XNLI_GENRES:  # the same items in every language (XNLI is parallel)
        ids = [e.id for e in tests[("en", g)]]
        assert all([e.id for e in tests[(x, g)]] == ids for x in ("sw", "ur", "my"))
    test_ids = {e.id for d in tests.values() for e in d}
    assert not test_ids & {e.id for e in train}
    train_text = {s for e in train for s in (e.premise, e.hypothesis)}
    assert not train_text & {s for d in tests.values() for e in d
                             for s in (e.premise, e.hypothesis)}
    assert XnliGenreSetup(0, n_train=100, data_dir=data_root).train().task == "xnli_ood"
    assert len(XnliGenreSetup(0, n_train=100, data_dir=data_root).train()) == 100


def test_spanish_is_refused_before_any_model_loads(data_root: Path) -> None:
    with pytest.raises(ValueError, match=r"language 'es' cannot be split by genre: .*"
                                         r"xnli-es-original.tsv has no genre column"):
        XnliGenreSetup(0, languages=("en", "es"), data_dir=data_root)


@pytest.fixture(scope="module")
def tiny_model_dir(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-layer BERT with a WordPiece vocabulary of the four languages' real text."""
    import torch
    from transformers import BertConfig, BertModel

    from tests.test_align_training import _subword_tokenizer

    corpus = [s for lang in ("en", "sw", "ur", "my")
              for e in load_xnli(lang, "dev", data_root / "xnli").examples[:300]
              for s in (e.premise, e.hypothesis)]
    tok = _subword_tokenizer(corpus, xlmr_style=False)
    torch.manual_seed(0)
    model = BertModel(BertConfig(vocab_size=len(tok), hidden_size=16, num_hidden_layers=1,
                                 num_attention_heads=2, intermediate_size=32,
                                 max_position_embeddings=64, pad_token_id=tok.pad_token_id))
    out = tmp_path_factory.mktemp("tiny-bert")
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def test_smoke_run_writes_the_genre_records(data_root: Path, tiny_model_dir: Path,
                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    settings = {"model": str(tiny_model_dir), "seeds": [0], "data_dir": str(data_root),
                "methods": ["plain", "free", "smoothing", "codeswitch"],
                "codeswitch_languages": ["es"],
                "n_train": 32, "n_test": 3, "epochs": 1, "batch_size": 16, "max_length": 48,
                "precision": "bf16", "finetune_precision": "bf16", "freeze_embeddings": True,
                "robust": {"adv_steps": 2, "adv_step_size": 0.1, "adv_epsilon": 0.2}}
    recs = run_xnli_ood(settings, tmp_path, show_progress=False)
    assert {r.experiment for r in recs} == {"xnli_ood"}
    methods = {"plain", "free", "smoothing", "codeswitch"}
    assert {r.method for r in recs} == methods
    assert all(r.config_hash and r.train_lang == "en" for r in recs)
    summary = [r for r in recs if r.task == "xnli_ood" and r.metric != "train_seconds"
               and r.metric != "train_cpu_seconds"]
    assert {r.metric for r in summary} == {"acc_in_domain", "acc_out_of_domain", "ood_gap"}
    assert {r.eval_lang for r in summary} == {"en", "sw", "ur", "my"}
    assert all(r.premise_lang == r.hypothesis_lang == r.eval_lang for r in summary)
    per_genre = [r for r in recs if r.task.startswith("xnli_ood:") and r.metric == "accuracy"]
    assert {r.task for r in per_genre} == {f"xnli_ood:{g}" for g in XNLI_GENRES}
    assert len(per_genre) == 4 * 4 * 10 and all(r.n == 3 for r in per_genre)
    for method in methods:
        for lang in ("en", "sw", "ur", "my"):
            got = {r.metric: r for r in summary if r.method == method and r.eval_lang == lang}
            acc = {r.task.split(":")[1]: r.value for r in per_genre
                   if r.method == method and r.eval_lang == lang}
            mean_in = sum(acc[g] for g in MNLI_GENRES) / 5  # equal n per genre: pooled = mean
            mean_out = sum(v for g, v in acc.items() if g not in MNLI_GENRES) / 5
            assert got["acc_in_domain"].value == pytest.approx(mean_in)
            assert got["acc_out_of_domain"].value == pytest.approx(mean_out)
            assert got["ood_gap"].value == pytest.approx(mean_in - mean_out)
            assert got["acc_in_domain"].n == got["acc_out_of_domain"].n == 15
    timing = {(r.method, r.metric) for r in recs if "seconds" in r.metric}
    assert {m for m, _ in timing} == methods
    assert {t for _, t in timing} == {"train_seconds", "train_cpu_seconds", "seconds"}
    steps = {r.method: r.n for r in recs if r.metric == "train_seconds"}
    assert steps["plain"] == 2  # 32 pairs, batch 16, one epoch
    evals = [r for r in recs if r.metric == "seconds"]
    assert {r.task for r in evals} == {"xnli_ood:evaluate"} and all(r.n == 30 for r in evals)
    text = (tmp_path / "summary.txt").read_text(encoding="utf-8")
    assert "acc_in_domain" in text and "gap minus plain's gap" in text
    again = run_xnli_ood(settings, tmp_path, show_progress=False)  # resumes: nothing to do
    assert [r.to_dict() for r in again] == [r.to_dict() for r in recs]
    import xtutor.runner as runner  # the kind registered (a no-op once _kinds() lists it)

    kinds = runner._kinds()
    monkeypatch.setattr(runner, "_kinds", lambda: {**kinds, KIND_SPEC.name: KIND_SPEC})
    report = runner.verify_ledger(tmp_path, cells=2, threads=1)
    assert report.ok, report.problems


def _ood_table(gap_plain: float, gap_free: float) -> pd.DataFrame:
    rows = []
    for seed in range(4):
        for lang in ("en", "sw", "ur"):
            for m, gap in (("plain", gap_plain), ("free", gap_free)):
                acc_in = 0.6 + 0.01 * seed + (0.02 if lang == "sw" else 0.0)
                acc_out = acc_in - gap - 0.002 * seed - (0.004 * (seed % 2) if m == "free"
                                                         else 0.0)
                rows.append({"method": m, "seed": seed, "eval_lang": lang,
                             "acc_in_domain": acc_in, "acc_out_of_domain": acc_out,
                             "ood_gap": acc_in - acc_out})
    return pd.DataFrame(rows)


def test_ood_effects_finds_a_gap_and_its_change() -> None:
    fx = ood_effects(_ood_table(gap_plain=0.1, gap_free=0.02))
    assert fx.loc["plain: out - in", "verdict"] == "significantly lower than"
    assert fx.loc["plain: out - in", "mean"] == pytest.approx(-0.103)
    assert fx.loc["free vs plain: gap", "mean"] == pytest.approx(-0.078)
    assert fx.loc["free vs plain: gap", "verdict"] == "significantly lower than"
    assert fx.loc["free vs plain: out of domain", "verdict"] == "significantly higher than"
    assert len(fx) == 4 and fx.p_adjusted.notna().all()
    # English is left out by default: only sw and ur are averaged
    en_only = ood_effects(_ood_table(0.1, 0.02), languages=["en"])
    assert en_only.loc["plain: out - in", "n"] == 4


def test_ood_effects_errors_name_the_input() -> None:
    with pytest.raises(ValueError, match="lacks columns.*ood_gap"):
        ood_effects(_ood_table(0.1, 0.0).drop(columns="ood_gap"))
    with pytest.raises(ValueError, match="no rows for languages"):
        ood_effects(_ood_table(0.1, 0.0), languages=["my"])
    with pytest.raises(ValueError, match="control 'smoothing'"):
        ood_effects(_ood_table(0.1, 0.0), control="smoothing")

"""The PAWS-X grid (``setup: pawsx``, ``configs/grid_pawsx_xlmr.yaml``), offline: PAWS-X in the
Hub's format (``datasets.Dataset`` with ``id``/``sentence1``/``sentence2``/``label``, train,
validation and test splits per language, ids numbered per split as in the release) injected in
place of the Hub loader, and a tiny random-weight XLM-R with a subword tokenizer standing in
for ``xlm-roberta-base``."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
import torch

from tests._hubfake import patch_hub
from xtutor.attacks.constraints import Constraints
from xtutor.attacks.protect import label_protection
from xtutor.data.pawsx import check_pawsx_parallel, join_pawsx_pairs
from xtutor.data.types import PAWS_LABELS, PairDataset, PairExample
from xtutor.experiments.grid import (
    PAWSX_GRID_PROFILES,
    GridSettings,
    grid_cells,
    grid_setup,
    real_sizes,
    run_grid,
)
from xtutor.experiments.pawsx_setup import PawsxSetup
from xtutor.experiments.unit import run_unit
from xtutor.results import load_results
from xtutor.runner import cell_hash, kinds, load_config, verify_ledger

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CONFIGS = Path(__file__).resolve().parents[1] / "configs"
LANGS = ("en", "de", "fr")
N_TRAIN, N_DEV, N_TEST = 40, 20, 12
SMOKE = PAWSX_GRID_PROFILES["smoke"]

_WORDS = {  # parallel phrases: subjects, verbs, objects
    "en": (("the cat", "the dog", "a man", "a woman", "the child"),
           ("sees", "likes", "calls", "finds"), ("Anna", "a ball", "the house", "Berlin")),
    "de": (("die Katze", "der Hund", "ein Mann", "eine Frau", "das Kind"),
           ("sieht", "mag", "ruft", "findet"), ("Anna", "einen Ball", "das Haus", "Berlin")),
    "fr": (("le chat", "le chien", "un homme", "une femme", "l'enfant"),
           ("voit", "aime", "appelle", "trouve"), ("Anna", "une balle", "la maison", "Berlin")),
}


def _row(lang: str, k: int) -> tuple[str, str, int]:
    """Item ``k`` in ``lang``: a paraphrase (label 1: the same words, the number moved) or
    not (label 0: subject and object swapped), PAWS-style."""
    subj, verbs, objs = _WORDS[lang]
    s, v, o = subj[k % 5], verbs[k % 4], objs[(k // 5) % 4]
    label = (k // 2) % 2
    s2 = f"{k}: {s} {v} {o}." if label else f"{o} {v} {s} {k}."
    return f"{s} {v} {o} {k}.", s2, label


def _hub_pawsx() -> dict[tuple[str, str], dict[str, list]]:
    """``(lang, hub split) -> columns``. Ids count from 1 in every split (as in PAWS-X);
    contents are numbered 0.. (train), 100.. (validation), 200.. (test). Planted problems:
    one English train pair and one German validation pair reuse a test sentence, one French
    test item has no translation (a blank sentence2), and the German test rows come in
    another order than the English ones (pairing must go by id)."""
    out = {}
    for lang in LANGS:
        for split, base, n in (("train", 0, N_TRAIN), ("validation", 100, N_DEV),
                               ("test", 200, N_TEST)):
            rows = [_row(lang, base + k) for k in range(n)]
            out[(lang, split)] = {"id": list(range(1, n + 1)),
                                  "sentence1": [r[0] for r in rows],
                                  "sentence2": [r[1] for r in rows],
                                  "label": [r[2] for r in rows]}
    out[("en", "train")]["sentence1"][5] = out[("en", "test")]["sentence1"][2]
    out[("de", "validation")]["sentence1"][3] = out[("de", "test")]["sentence1"][0]
    out[("fr", "test")]["sentence2"][4] = " "
    de = out[("de", "test")]
    order = list(reversed(range(N_TEST)))
    out[("de", "test")] = {k: [v[i] for i in order] for k, v in de.items()}
    return out


def _fake_hub(monkeypatch: pytest.MonkeyPatch, data: dict) -> list[tuple]:
    import datasets

    import xtutor.data.pawsx as pawsx_mod

    feats = datasets.Features({"id": datasets.Value("int32"),
                               "sentence1": datasets.Value("string"),
                               "sentence2": datasets.Value("string"),
                               "label": datasets.ClassLabel(names=["0", "1"])})
    return patch_hub(monkeypatch, pawsx_mod, data, feats)


@pytest.fixture()
def hub_pawsx(monkeypatch: pytest.MonkeyPatch, hub_offline: None) -> list[tuple]:
    """The Hub loader of :mod:`xtutor.data.pawsx` replaced by the fixtures (offline mode on);
    returns the list of calls ``(name, config, split)``."""
    return _fake_hub(monkeypatch, _hub_pawsx())


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder with MUSE en-de and en-fr dictionaries and no PAWS-X files."""
    root = tmp_path / "data"
    (root / "muse").mkdir(parents=True)
    for name in ("en-de.txt", "en-fr.txt"):
        shutil.copy(FIXTURES / "muse" / name, root / "muse")
    monkeypatch.setenv("XTUTOR_DATA_DIR", str(tmp_path / "no-such-folder"))
    return root


def _setup(data_dir: Path, **kw: object) -> PawsxSetup:
    return PawsxSetup(0, **{"sizes": SMOKE, "languages": LANGS, "codeswitch_languages": ("de",),
                            "data_dir": data_dir, **kw})


def test_setup_data_leakage_and_pairing_by_id(hub_pawsx, data_dir) -> None:
    setup = _setup(data_dir)
    assert setup.leakage() == {"train_ids": 0, "train_sentences": 0, "parallel_sentences": 0,
                               "parallel_ids": 0}
    fix = _hub_pawsx()
    # training: English train pairs of the smoke size, 2 labels, none with a test sentence
    train = setup.train()
    assert len(train) == SMOKE.train and train.task == "pawsx"
    assert train.label_names == PAWS_LABELS
    assert all(e.id.startswith("pawsx-train-") and e.premise_lang == "en" for e in train)
    everything = _setup(data_dir, sizes=real_sizes(GridSettings(
        setup="pawsx", alignments=("none",), languages=LANGS, profile="smoke",
        pawsx_train=10_000))).train()
    assert len(everything) == N_TRAIN - 1 and "pawsx-train-6" not in {e.id for e in everything}
    # evaluation: the items every language has (French item 5 has a blank sentence), in
    # English order, the same items in every pair; mixed pairs joined by id
    assert setup.dropped[("fr", "test")] == 1 and setup.dropped[("de", "test")] == 0
    common = setup.common_test_ids()
    assert common == [f"pawsx-test-{i}" for i in range(1, N_TEST + 1) if i != 5]
    tests = setup.tests()
    assert set(tests) == {(a, b) for a in LANGS for b in LANGS}
    ids = [e.id for e in tests[("en", "en")]]
    assert len(ids) == SMOKE.test and all(i in common for i in ids)
    for (a, b), data in tests.items():
        assert [e.id for e in data] == ids and data.task == "pawsx"
        assert {(e.premise_lang, e.hypothesis_lang) for e in data} == {(a, b)}
    by_id = {e.id: e for e in tests[("en", "en")]}
    for e in tests[("en", "de")]:  # sentence1 English, sentence2 German, of the same item
        k = int(e.id.rsplit("-", 1)[1]) - 1
        assert (e.premise, e.hypothesis, e.label) == (_row("en", 200 + k)[0],
                                                      _row("de", 200 + k)[1],
                                                      by_id[e.id].label)
    # alignment text: dev translations by id, less the German pair that reuses a test sentence
    par = setup.parallel(10_000)
    assert len(par) == 2 * 2 * N_DEV - 1
    assert (fix[("en", "validation")]["sentence1"][0],
            fix[("de", "validation")]["sentence1"][0]) in par
    test_sentences = setup.test_sentences()
    assert not any(a in test_sentences or b in test_sentences for a, b in par)
    assert all(i.startswith("pawsx-dev-") for i, _, _ in setup.dev_items())
    # attacks and retrieval draw from the common items
    att = setup.attack_sets(4)
    assert set(att) == set(LANGS) and all(len(d) == 4 for d in att.values())
    assert [e.id for e in att["de"]] == [e.id for e in att["en"]]
    # the Hub: each split read once, English train only
    assert {c[0] for c in hub_pawsx} == {"google-research-datasets/paws-x"}
    assert {(c[1], c[2]) for c in hub_pawsx} == \
        {("en", "train")} | {(x, s) for x in LANGS for s in ("validation", "test")}
    assert max(Counter(hub_pawsx).values()) <= 2  # once per setup (two setups above)
    with pytest.raises(ValueError, match="pawsx setup: task must be 'pawsx', got 'nli'"):
        setup.train("nli")


def test_local_files_give_the_hub_data(hub_pawsx, data_dir) -> None:
    from xtutor.data.paths import MalformedRowsWarning

    files = {"train": "train.tsv", "validation": "dev_2k.tsv", "test": "test_2k.tsv"}
    for (lang, split), cols in _hub_pawsx().items():
        if split == "train" and lang != "en":
            continue
        folder = data_dir / "pawsx" / "x-final" / lang
        folder.mkdir(parents=True, exist_ok=True)
        rows = zip(cols["id"], cols["sentence1"], cols["sentence2"], cols["label"], strict=True)
        (folder / files[split]).write_text(
            "id\tsentence1\tsentence2\tlabel\n" + "".join(f"{i}\t{a}\t{b}\t{y}\n"
                                                       for i, a, b, y in rows), encoding="utf-8")
    local = _setup(data_dir, source="local")
    with pytest.warns(MalformedRowsWarning, match="test_2k.tsv.*line 6"):  # the blank French row
        tests = local.tests()
    hub = _setup(data_dir)
    assert tests == hub.tests() and local.train() == hub.train()
    assert local.parallel(10_000) == hub.parallel(10_000)
    assert local.leakage() == dict.fromkeys(hub.leakage(), 0)


def test_pairing_by_id_refuses_ids_that_do_not_line_up(monkeypatch, hub_offline,
                                                      data_dir) -> None:
    def ds(lang: str, rows: list[tuple[str, int]]) -> PairDataset:
        return PairDataset("pawsx", PAWS_LABELS, [PairExample(f"{lang} a {i}", f"{lang} b {i}",
                                                              y, lang, lang, i)
                                                  for i, y in rows])

    en = ds("en", [("1", 0), ("2", 1), ("3", 1)])
    de = ds("de", [("3", 1), ("1", 0), ("2", 1)])  # another order: paired by id
    pairs = join_pawsx_pairs(en, de, "en", "de")
    assert [(e.id, e.premise, e.hypothesis) for e in pairs] == \
        [("1", "en a 1", "de b 1"), ("2", "en a 2", "de b 2"), ("3", "en a 3", "de b 3")]
    with pytest.raises(ValueError, match=r"test en/de: the ids do not line up: 0 of 3 shared"):
        join_pawsx_pairs(en, ds("de", [("11", 0), ("12", 1), ("13", 1)]), "en", "de")
    with pytest.raises(ValueError, match=r"ids do not line up: 2 shared ids have different "
                                         r"labels, e.g. id '1': 'not_paraphrase' \(en\)"):
        join_pawsx_pairs(en, ds("de", [("1", 1), ("2", 0), ("3", 1)]), "en", "de")
    with pytest.raises(ValueError, match="id '1' occurs more than once"):
        join_pawsx_pairs(en, ds("de", [("1", 0), ("1", 0), ("2", 1)]), "en", "de")
    with pytest.raises(ValueError, match="2 of 3 shared"):  # joining needs the same ids
        join_pawsx_pairs(en, ds("de", [("1", 0), ("2", 1)]), "en", "de")
    assert check_pawsx_parallel(en, ds("de", [("1", 0), ("2", 1)]), "en", "de",
                                min_shared=0.6) == {"1", "2"}  # a missing translation is ok
    with pytest.raises(ValueError, match="unknown PAWS-X language 'sw'"):
        join_pawsx_pairs(en, de, "en", "sw")
    # in the setup: German test ids shifted by one, so ids and labels no longer line up
    data = _hub_pawsx()
    data[("de", "test")]["id"] = [i + 1 for i in data[("de", "test")]["id"]]
    _fake_hub(monkeypatch, data)
    with pytest.raises(ValueError, match="PAWS-X test en/de: the ids do not line up"):
        _setup(data_dir).tests()


def test_settings_and_setup_refuse_bad_values(monkeypatch, tmp_path, data_dir) -> None:
    base = {"setup": "pawsx", "alignments": ["none"], "languages": ["en", "de"]}
    s = GridSettings.from_settings(base)
    assert (s.pawsx_source, real_sizes(s)) == ("hub", PAWSX_GRID_PROFILES["small"])
    for bad, match in (
            ({"setup": "paws"}, r"'setup' must be one of \['toy', 'xnli', 'pawsx'\], got 'paws'"),
            ({"languages": ["en", "sw"]}, r"\['sw'\] are not PAWS-X languages"),
            ({"languages": ["de", "fr"]}, "must include 'en'"),
            ({"pawsx_source": "web"}, r"'pawsx_source' must be one of \['hub', 'local'\]"),
            ({"pawsx_train": 0}, "'pawsx_train' must be >= 1"),
            ({"xnli_source": "hub"}, "'xnli_source' applies to setup 'xnli' only.*pawsx_source"),
            ({"profile": "ledger"}, r"'profile' must be one of \['smoke', 'ci', 'small', "
                                    r"'full'\], got 'ledger'"),
            ({"alignments": ["none", "image-pivot"]}, "grid setup 'pawsx': 'image-pivot'"),
            ({"controls": ["shuffled-pairs"]}, "toy family only.*setup 'pawsx'")):
        with pytest.raises(ValueError, match=match):
            GridSettings.from_settings({**base, **bad})
    for other in ("xnli", "toy"):
        with pytest.raises(ValueError, match=r"\['pawsx_train'\] apply to setup 'pawsx' only"):
            GridSettings.from_settings({"setup": other, "alignments": ["none"],
                                        "languages": ["en", "de"], "pawsx_train": 100})
    # the new settings are hashed only when they differ from their defaults
    grid = kinds()["grid"]
    assert cell_hash(grid, s) == cell_hash(grid, GridSettings.from_settings(
        {**base, "pawsx_source": "hub"}))
    assert cell_hash(grid, s) != cell_hash(grid, GridSettings.from_settings(
        {**base, "pawsx_train": 123}))
    assert cell_hash(grid, s) != cell_hash(grid, GridSettings.from_settings(
        {**base, "setup": "xnli"}))
    # the setup itself
    with pytest.raises(ValueError, match=r"pawsx setup: source must be one of \['hub', "):
        PawsxSetup(0, source="web", data_dir=data_dir)
    with pytest.raises(ValueError, match="pawsx setup: languages must include 'en'"):
        PawsxSetup(0, languages=("de", "fr"), data_dir=data_dir)
    with pytest.raises(ValueError, match=r"pawsx setup: languages \['ar'\] are not PAWS-X"):
        PawsxSetup(0, languages=("en", "ar"), data_dir=data_dir)
    # missing resources fail at the first cell, saying what and how
    monkeypatch.setenv("XTUTOR_DATA_DIR", str(tmp_path / "none"))
    with pytest.raises(FileNotFoundError, match=r"pawsx setup \(source='hub'\): the attacks"):
        grid_setup(s, 0)
    cs = GridSettings.from_settings({**base, "finetunes": ["codeswitch"], "attacks": [],
                                     "data_dir": str(data_dir),
                                     "codeswitch_languages": ["de", "ja"]})
    with pytest.raises(FileNotFoundError, match=r"lacks \['muse/en-ja.txt'\]"):
        grid_setup(cs, 0)


def test_config_is_the_xnli_real_grid_on_pawsx() -> None:
    from xtutor.data.fetch import load_manifest

    _, s = load_config(CONFIGS / "grid_pawsx_xlmr.yaml")
    _, x = load_config(CONFIGS / "grid_xnli_xlmr.yaml")
    assert (s.setup, s.pawsx_source, s.model, s.profile) == ("pawsx", "hub", "xlm-roberta-base",
                                                              "full")
    assert set(s.languages) == {"de", "en", "es", "fr", "ja", "ko", "zh"}
    assert not {"ja", "zh"} & set(s.attack_languages)  # no whitespace words to attack
    for name in ("finetunes", "attacks", "alignments", "controls", "seeds", "lr", "robust",
                 "precision", "finetune_precision", "protect_labels", "query_budget",
                 "attack_sides", "retrieval_after"):
        assert getattr(s, name) == getattr(x, name), name
    assert len(grid_cells(s)) == 45 and real_sizes(s).train == 10_000
    manifest = load_manifest()  # the header's fetch line can verify every dictionary
    assert all(f"muse/en-{x}.txt" in manifest for x in s.codeswitch_languages)


def test_label_protection_of_paraphrase_pairs() -> None:
    from xtutor.attacks.words import words

    pair = (words("His father emigrated to Missouri in 1868 ."),
            words("His father did not emigrate to America in 1868 ."))
    c = Constraints(1.0, sides="hypothesis", **label_protection("en"))
    edit = {pair[1][i] for _, i in c.allowed_positions(pair)}
    assert edit == {"His", "father", "did", "emigrate", "to", "in"}  # not, America, 1868 kept
    ko = ("그는", "1868년에", "미주리로", "이민하지", "않았다.")
    c = Constraints(1.0, sides="hypothesis", **label_protection("ko"))
    assert [i for _, i in c.allowed_positions(((), ko))] == [0, 2, 3]


def _tiny_xlmr(folder: Path) -> Path:
    """A random-weight XLM-R (one layer, hidden 32) with a BPE tokenizer trained on the
    fixtures (``<s> A </s></s> B </s>``), saved to ``folder``."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast, XLMRobertaConfig, XLMRobertaModel

    corpus = [s for cols in _hub_pawsx().values() for s in cols["sentence1"] + cols["sentence2"]]
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tk = Tokenizer(models.BPE(unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Metaspace()
    tk.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=200, special_tokens=specials))
    tk.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", 0), ("</s>", 2)])
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<s>", eos_token="</s>",
                                  cls_token="<s>", sep_token="</s>", pad_token="<pad>",
                                  unk_token="<unk>", mask_token="<mask>",
                                  model_input_names=["input_ids", "attention_mask"])
    torch.manual_seed(0)
    model = XLMRobertaModel(XLMRobertaConfig(
        vocab_size=len(tok), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=37, pad_token_id=tok.pad_token_id, max_position_embeddings=80,
        type_vocab_size=1, bos_token_id=0, eos_token_id=2))
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def test_pawsx_grid_end_to_end_with_tiny_xlmr(hub_pawsx, data_dir, tmp_path) -> None:
    torch.set_num_threads(1)
    model = _tiny_xlmr(tmp_path / "tiny-xlmr")
    # one unit: the classifier head has the two PAWS labels
    setup = _setup(data_dir, model=str(model))
    unit = run_unit(setup, "plain")
    assert unit.classifier.config.num_labels == 2
    assert unit.classifier.config.id2label == dict(enumerate(PAWS_LABELS))
    assert {r.task for r in unit.records} == {"pawsx"}
    # the grid: alignment, fine-tuning, the three attacks, retrieval before and after
    s = {"setup": "pawsx", "model": str(model), "profile": "smoke", "seeds": [0],
         "alignments": ["none", "sentence"], "finetunes": ["plain"],
         "controls": ["shuffled-labels"],
         "attacks": ["char_noise", "word_substitution", "code_switch"],
         "languages": list(LANGS), "attack_languages": ["en", "de"],
         "codeswitch_languages": ["de"], "attack_targets": ["de"], "data_dir": str(data_dir),
         "protect_labels": True, "attack_sides": "hypothesis", "retrieval_after": True,
         "save_encoders": False}
    out = tmp_path / "ledger"
    res = run_grid(s, out, show_progress=False)
    df = res.frame()
    assert set(df.method) == {"none/none", "none/plain", "sentence/none", "sentence/plain",
                              "none/shuffled-labels"}
    clean = df[(df.metric == "accuracy") & (df.attack == "none")]
    assert set(clean.task) == {"pawsx"} and clean.value.between(0, 1).all()
    for method in ("none/plain", "sentence/plain", "none/shuffled-labels"):
        c = clean[clean.method == method]
        assert sorted(zip(c.premise_lang, c.hypothesis_lang, strict=True)) == \
            sorted((a, b) for a in LANGS for b in LANGS)
        assert set(c.n) == {SMOKE.test}
        assert set((c.value * SMOKE.test).round(6) % 1) == {0}  # k of 8 items right
    retr = df[df.metric == "retrieval_acc_cosine"]
    assert set(retr.eval_lang) == {"de", "fr"}
    assert set(retr.method) == {"none/none", "sentence/none", "none/plain", "sentence/plain"}
    att = df[df.attack != "none"]
    assert set(att.task) == {"pawsx"} and set(att.eval_lang) == {"en", "de"}
    assert {"char_noise", "word_substitution", "code_switch"} <= set(att.attack)
    assert not (out / "encoders").exists()
    # a ledger in the usual format, recomputable exactly
    assert {p.name for p in out.iterdir()} >= {"results.jsonl", "config.json", "summary.txt",
                                               "cells"}
    meta = json.loads((out / "config.json").read_text())
    assert meta["settings"]["setup"] == "pawsx" and meta["settings"]["pawsx_source"] == "hub"
    assert len(load_results(out / "results.jsonl")) == len(res.records)
    assert (out / "summary.txt").read_text().startswith("grid (pawsx)")
    rep = verify_ledger(out, cells=1, seed=0)
    assert rep.ok, rep.problems[:5]

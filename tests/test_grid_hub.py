"""The XNLI grid on the Hub (``xnli_source: hub``, the Colab ``real`` profile's path), offline:
XNLI in the Hub's format (``datasets.Dataset`` with ``premise``/``hypothesis``/``label``,
validation and test splits per language) injected in place of the Hub loader, and tiny
random-weight XLM-R and BERT models with subword tokenizers standing in for
``xlm-roberta-base`` and ``bert-base-multilingual-cased``."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
import torch

from tests._hubfake import patch_hub
from xtutor.data.types import NLI_LABELS
from xtutor.experiments.grid import (
    XNLI_GRID_PROFILES,
    GridSettings,
    grid_frame,
    grid_setup,
    run_grid,
    summary_table,
)
from xtutor.experiments.xnli_setup import XnliSetup
from xtutor.results import load_results
from xtutor.runner import cell_hash, kinds, load_config, verify_ledger

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CONFIGS = Path(__file__).resolve().parents[1] / "configs"
LEDGERS = Path(__file__).resolve().parents[1] / "data" / "ledgers"
LANGS = ("en", "de", "fr")
N_DEV, N_TEST = 20, 12

_WORDS = {  # parallel phrases: subject, verbs, objects
    "en": (("the cat", "the dog", "a man", "a woman", "the child"),
           ("sees", "likes", "eats", "finds"), ("bread", "a ball", "the house", "water")),
    "de": (("die Katze", "der Hund", "ein Mann", "eine Frau", "das Kind"),
           ("sieht", "mag", "isst", "findet"), ("Brot", "einen Ball", "das Haus", "Wasser")),
    "fr": (("le chat", "le chien", "un homme", "une femme", "l'enfant"),
           ("voit", "aime", "mange", "trouve"), ("du pain", "une balle", "la maison", "de l'eau")),
}


def _row(lang: str, k: int) -> tuple[str, str, int]:
    subj, verbs, objs = _WORDS[lang]
    s, v, o = subj[k % 5], verbs[k % 4], objs[(k // 4) % 4]
    return f"{s} {v} {o} {k}.", f"{s} {verbs[(k + 1) % 4]} {o}.", k % 3


def _hub_xnli() -> dict[tuple[str, str], dict[str, list]]:
    """``(lang, hub split) -> columns``: parallel rows (row k is the same item in every
    language; numbers 0.. in validation, 100.. in test). One German validation premise is
    also a German test premise, as XNLI's dev and test share a few translated sentences."""
    out = {}
    for lang in LANGS:
        for split, base, n in (("validation", 0, N_DEV), ("test", 100, N_TEST)):
            rows = [_row(lang, base + k) for k in range(n)]
            out[(lang, split)] = {"premise": [r[0] for r in rows],
                                  "hypothesis": [r[1] for r in rows],
                                  "label": [r[2] for r in rows]}
    out[("de", "validation")]["premise"][3] = out[("de", "test")]["premise"][0]
    return out


@pytest.fixture()
def hub_xnli(monkeypatch: pytest.MonkeyPatch, hub_offline: None) -> list[tuple]:
    """The Hub loader of :mod:`xtutor.data.xnli` replaced by the fixtures (offline mode on);
    returns the list of calls ``(name, config, split)``."""
    import datasets

    import xtutor.data.xnli as xnli_mod

    feats = datasets.Features({"premise": datasets.Value("string"),
                               "hypothesis": datasets.Value("string"),
                               "label": datasets.ClassLabel(names=list(NLI_LABELS))})
    return patch_hub(monkeypatch, xnli_mod, _hub_xnli(), feats)


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder with a MUSE en-de dictionary and no ``xnli/``: a local XNLI read would
    fail."""
    root = tmp_path / "data"
    (root / "muse").mkdir(parents=True)
    shutil.copy(FIXTURES / "muse" / "en-de.txt", root / "muse")
    monkeypatch.setenv("XTUTOR_DATA_DIR", str(tmp_path / "no-such-folder"))
    return root


def _corpus() -> list[str]:
    return [s for cols in _hub_xnli().values() for s in cols["premise"] + cols["hypothesis"]]


def _tiny_model(arch: str, folder: Path) -> Path:
    """A random-weight model of ``arch`` with a subword tokenizer trained on the fixtures,
    saved (``save_pretrained``) to ``folder``."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import (
        BertConfig,
        BertModel,
        PreTrainedTokenizerFast,
        XLMRobertaConfig,
        XLMRobertaModel,
    )

    if arch == "xlm-roberta":  # SentencePiece-like BPE, <s> A </s></s> B </s>
        specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
        tk = Tokenizer(models.BPE(unk_token="<unk>"))
        tk.pre_tokenizer = pre_tokenizers.Metaspace()
        tk.train_from_iterator(_corpus(), trainers.BpeTrainer(vocab_size=200,
                                                              special_tokens=specials))
        tk.post_processor = processors.TemplateProcessing(
            single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
            special_tokens=[("<s>", 0), ("</s>", 2)])
        tok = PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<s>", eos_token="</s>",
                                      cls_token="<s>", sep_token="</s>", pad_token="<pad>",
                                      unk_token="<unk>", mask_token="<mask>",
                                      model_input_names=["input_ids", "attention_mask"])
    else:  # WordPiece, [CLS] A [SEP] B [SEP] with token types
        specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        tk = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tk.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tk.train_from_iterator(_corpus(), trainers.WordPieceTrainer(vocab_size=200,
                                                                    special_tokens=specials))
        tk.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
            special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
        tok = PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]", pad_token="[PAD]",
                                      cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    size = dict(vocab_size=len(tok), hidden_size=32, num_hidden_layers=1,
                num_attention_heads=2, intermediate_size=37, pad_token_id=tok.pad_token_id)
    torch.manual_seed(0)
    if arch == "xlm-roberta":
        model = XLMRobertaModel(XLMRobertaConfig(**size, max_position_embeddings=80,
                                                 type_vocab_size=1, bos_token_id=0,
                                                 eos_token_id=2))
    else:
        model = BertModel(BertConfig(**size, max_position_embeddings=80))
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def test_hub_setup_reads_the_hub_once_and_leaks_no_test_sentence(hub_xnli, data_dir) -> None:
    smoke = XNLI_GRID_PROFILES["smoke"]
    setup = XnliSetup(0, sizes=smoke, languages=LANGS, codeswitch_languages=("de",),
                      data_dir=data_dir, source="hub")
    assert setup.leakage() == {"train_ids": 0, "train_sentences": 0, "parallel_sentences": 0}
    par = setup._dev_translations()
    # two non-English languages x (premise, hypothesis) x every row, less the leaking German row
    assert len(par) == 2 * 2 * N_DEV - 1
    test_de = set(_hub_xnli()[("de", "test")]["premise"])
    assert not any(b in test_de for _, b in par)
    assert ("the cat sees bread 0.", "die Katze sieht Brot 0.") in par  # row-matched translations
    train = setup.train()
    assert len(train) == smoke.train and all(e.id.startswith("xnli-dev-") for e in train)
    tests = setup.tests()
    assert set(tests) == {(a, b) for a in LANGS for b in LANGS}
    mixed = tests[("en", "fr")]
    assert len(mixed) == smoke.test and mixed[0].premise_lang == "en"
    k = int(mixed[0].id.rsplit("-", 1)[1])
    assert (mixed[0].premise, mixed[0].hypothesis) == (_row("en", 100 + k)[0],
                                                       _row("fr", 100 + k)[1])
    assert [e.id for e in mixed] == [e.id for e in tests[("en", "en")]]  # same items per pair
    assert {c[0] for c in hub_xnli} == {"facebook/xnli"}
    assert {(c[1], c[2]) for c in hub_xnli} == {(x, s) for x in LANGS
                                                for s in ("validation", "test")}
    assert max(Counter(hub_xnli).values()) == 1  # each split read once per setup
    assert setup.dictionaries()["de"].translations("dog") == ["Hund", "Köter"]


def test_hub_settings_are_checked_and_keep_old_hashes(monkeypatch, tmp_path) -> None:
    base = {"setup": "xnli", "alignments": ["none"], "languages": ["en", "de"]}
    hub = GridSettings.from_settings({**base, "xnli_source": "hub"})
    local = GridSettings.from_settings(base)
    grid = kinds()["grid"]
    assert cell_hash(grid, local) == cell_hash(grid, GridSettings.from_settings(
        {**base, "xnli_source": "local"}))  # the default is left out of the hash
    assert cell_hash(grid, hub) != cell_hash(grid, local)
    with pytest.raises(ValueError, match=r"\['my'\] are not on the Hub"):
        GridSettings.from_settings({**base, "xnli_source": "hub", "languages": ["en", "my"]})
    with pytest.raises(ValueError, match="'xnli_source' must be one of"):
        GridSettings.from_settings({**base, "xnli_source": "web"})
    with pytest.raises(ValueError, match="setup 'xnli' only"):
        GridSettings.from_settings({"xnli_source": "hub"})
    # no data folder: an alignment-only grid needs none, attacks fail at once saying how
    monkeypatch.setenv("XTUTOR_DATA_DIR", str(tmp_path / "none"))
    assert grid_setup(GridSettings.from_settings({**base, "xnli_source": "hub",
                                                  "finetunes": []}), 0).root is None
    with pytest.raises(FileNotFoundError, match=r"attacks.*colab_setup\('05'\)"):
        grid_setup(hub, 0)


def test_hub_grid_configs_load() -> None:
    for name, model in (("xlmr", "xlm-roberta-base"), ("mbert", "bert-base-multilingual-cased")):
        _, s = load_config(CONFIGS / f"grid_xnli_{name}.yaml")
        assert (s.setup, s.xnli_source, s.model) == ("xnli", "hub", model)
        assert len(s.languages) == 15 and s.alignments == ("none", "sentence")
        assert s.finetune_precision != "fp32" and s.precision != "fp32"
        _, e5 = load_config(CONFIGS / "grid_xnli_e5.yaml")
        assert (s.finetunes, s.attacks) == (e5.finetunes, e5.attacks)


@pytest.mark.parametrize("model_name", ["xlm-roberta-base", "bert-base-multilingual-cased"])
def test_hub_model_names_fail_offline_naming_the_local_way(hub_offline, tmp_path,
                                                           model_name) -> None:
    from xtutor.models import load_encoder

    with pytest.raises(RuntimeError) as e:
        load_encoder(model_name, cache_dir=tmp_path)  # an empty cache: nothing to fall back on
    msg = str(e.value)
    assert f"'{model_name}'" in msg and "offline mode is on (HF_HUB_OFFLINE=1)" in msg
    assert f"huggingface-cli download {model_name}" in msg and "model: DIR" in msg


@pytest.mark.parametrize("arch", ["xlm-roberta", "bert"])
def test_hub_grid_smoke_with_tiny_models(hub_xnli, data_dir, tmp_path, arch) -> None:
    torch.set_num_threads(1)
    model = _tiny_model(arch, tmp_path / f"tiny-{arch}")
    s = {"setup": "xnli", "xnli_source": "hub", "model": str(model), "profile": "smoke",
         "seeds": [0], "alignments": ["none", "sentence"], "finetunes": ["plain"],
         "controls": [], "attacks": ["char_noise"], "languages": list(LANGS),
         "codeswitch_languages": ["de"], "attack_targets": ["de"], "data_dir": str(data_dir),
         "save_encoders": False}
    out = tmp_path / "ledger"
    res = run_grid(s, out, show_progress=False)
    df = res.frame()
    assert set(df.method) == {"none/none", "none/plain", "sentence/none", "sentence/plain"}
    assert set(df.model) == {str(model)}
    clean = df[(df.metric == "accuracy") & (df.attack == "none")]
    for method in ("none/plain", "sentence/plain"):
        c = clean[clean.method == method]
        assert sorted(zip(c.premise_lang, c.hypothesis_lang, strict=True)) == \
            sorted((a, b) for a in LANGS for b in LANGS)
        assert set(c.n) == {XNLI_GRID_PROFILES["smoke"].test}
    retr = df[df.metric == "retrieval_acc_cosine"]
    assert set(retr.eval_lang) == {"de", "fr"}
    assert set(retr.method) == {"none/none", "sentence/none"}
    att = df[df.attack != "none"]
    assert set(att.attack) == {"char_noise"} and set(att.eval_lang) == set(LANGS)
    # the ledger: the files and keys of the committed ones, readable by chapter 5's tools
    assert {p.name for p in out.iterdir()} >= {"results.jsonl", "config.json", "summary.txt",
                                               "cells"}
    meta = json.loads((out / "config.json").read_text())
    assert meta["settings"]["xnli_source"] == "hub"
    assert meta["settings"]["languages"] == list(LANGS)
    committed = LEDGERS / "grid_toy" / "config.json"
    if committed.is_file():
        assert set(meta) == set(json.loads(committed.read_text()))
    ledger = grid_frame(load_results(out / "results.jsonl"))
    assert len(ledger) == len(res.records)
    table = summary_table(ledger)
    assert {("none", "plain"), ("sentence", "plain")} <= set(table.index)
    # a recomputed cell agrees exactly: the Hub path is deterministic on CPU
    rep = verify_ledger(out, cells=1, seed=0)
    assert rep.ok, rep.problems[:5]
    assert max(Counter(hub_xnli).values()) <= 2  # the run's setup and verify's, once each

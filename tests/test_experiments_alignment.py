"""The chapter 1-2 study functions: measurements by layer, cached encoders, alignment methods."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch
from transformers import BertConfig, BertModel

from xtutor.experiments import contrastive, encoders
from xtutor.experiments.contrastive import AlignmentStudyConfig, alignment_data, curve_frame
from xtutor.experiments.encoders import (
    RealSurveyConfig,
    layer_frame,
    pretrained_toy,
    random_toy,
    real_encoder_survey,
    toy_alignment_metrics,
)
from xtutor.lab import LabConfig
from xtutor.toyworld import ToyWorld

FIX = Path(__file__).parent / "fixtures"


def _frame(recs) -> pd.DataFrame:
    return pd.DataFrame([r.to_dict() for r in recs])


def test_pretrained_toy_cache_reuses_the_saved_encoder(tmp_path, monkeypatch) -> None:
    cfg = LabConfig.preset("tiny")
    a, _ = pretrained_toy(cfg, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("toy-mlm-*"))) == 1

    def no_training(*args, **kwargs):
        raise AssertionError("the cached encoder should have been loaded, not retrained")

    monkeypatch.setattr(encoders, "pretrain_toy_encoder", no_training)
    b, tok = pretrained_toy(cfg, cache_dir=tmp_path)
    for (k, v), (_, w) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(v, w), k
    assert tok("x")["input_ids"]
    with pytest.raises(AssertionError, match="retrained"):  # another seed is another model
        pretrained_toy(cfg.with_seed(1), cache_dir=tmp_path)


def test_toy_alignment_metrics_cover_every_layer_and_language() -> None:
    cfg = LabConfig.preset("tiny")
    w = ToyWorld(cfg.world)
    m, t = random_toy(cfg, w)
    df = _frame(toy_alignment_metrics(m, t, w, seed=0, model_name="toy-random", n_pairs=30,
                                      aer_pairs=10, probe_per_language=20))
    lf = layer_frame(df)
    n_layers = cfg.encoder.layers + 1
    assert sorted(lf.layer.unique()) == list(range(n_layers))
    ret = lf[lf.base_metric == "retrieval_acc_cosine"]
    assert sorted(ret.eval_lang.unique()) == ["L1", "L2"] and len(ret) == 2 * n_layers
    assert df.value.between(0, 1).all()
    # the unsuffixed metric is the last layer's
    last = lf[(lf.layer == n_layers - 1) & (lf.base_metric == "aer_itermax")]
    head = df[df.metric == "aer_itermax"]
    assert sorted(last.value) == sorted(head.value)


def test_identical_languages_align_perfectly() -> None:
    """A constructed case with a known answer: when 'L1' is rendered exactly like 'L0' (same
    words), retrieval is perfect and AER is zero at the embedding layer."""
    cfg = LabConfig.preset("tiny")
    w = ToyWorld(cfg.world)
    m, t = random_toy(cfg, w)

    class Twin:
        languages = ("L0", "L0b")

        def parallel(self, src, tgt, n, seed=0):
            return w.parallel("L0", "L0", n, seed=seed)

        def sample_meanings(self, n, seed=0):
            return w.sample_meanings(n, seed=seed)

        def render(self, meaning, lang):
            return w.render(meaning, "L0")

    df = _frame(toy_alignment_metrics(m, t, Twin(), seed=0, model_name="x", n_pairs=40,
                                      aer_pairs=20, probe_per_language=20))
    by = df.set_index("metric").value
    assert by["retrieval_acc_cosine@layer0"] > 0.9
    assert by["aer_argmax@layer0"] == pytest.approx(0.0)
    assert by["lang_id_acc"] <= 0.75  # identical texts: language cannot be told apart


def test_real_encoder_survey_on_fixtures_with_a_tiny_bert() -> None:
    from tests.test_align_training import _subword_tokenizer

    corpus = (FIX / "tatoeba" / "tatoeba.deu-eng.deu").read_text().splitlines() + \
        (FIX / "tatoeba" / "tatoeba.deu-eng.eng").read_text().splitlines()
    tok = _subword_tokenizer(corpus, xlmr_style=False)
    torch.manual_seed(0)
    model = BertModel(BertConfig(vocab_size=len(tok), hidden_size=16, num_hidden_layers=2,
                                 num_attention_heads=2, intermediate_size=32,
                                 max_position_embeddings=64, pad_token_id=tok.pad_token_id))
    cfg = RealSurveyConfig(tatoeba_languages=("deu",), pud_languages=("de",),
                           seeds=(0, 1, 2), n_pairs=3, n_pud=2, batch_size=4,
                           tatoeba_dir=str(FIX / "tatoeba"), pud_dir=str(FIX / "ud"))
    df = _frame(real_encoder_survey(model, tok, "tiny-bert", cfg, show_progress=False))
    assert set(df.seed) == {0, 1, 2}
    assert set(df[df.task == "retrieval"].eval_lang) == {"deu"}
    assert {"upos_agreement_itermax", "upos_agreement_random", "lang_id_acc"} <= set(df.metric)
    assert len(layer_frame(df[df.task == "retrieval"])) == 3 * 3  # seeds x layers
    with pytest.raises(ValueError, match="seeds is empty"):
        real_encoder_survey(model, tok, "x", RealSurveyConfig(seeds=()))


def test_alignment_data_keeps_the_pivot_free_of_parallel_text() -> None:
    w = ToyWorld(LabConfig.preset("tiny").world)
    pivot = alignment_data(w, "image-pivot", seed=0, n_pairs=8, n_captions=30)
    assert set(pivot) == {"images"}
    captions, x = pivot["images"]
    assert len(captions) == 30 * len(w.languages) == x.shape[0]
    text = alignment_data(w, "word", seed=0, n_pairs=8, n_captions=30)
    assert len(text["pairs"]) == 8 * (len(w.languages) - 1)
    with pytest.raises(ValueError, match="method must be one of"):
        alignment_data(w, "none", seed=0, n_pairs=8, n_captions=8)


def test_contrastive_config_and_curve_frame_errors() -> None:
    with pytest.raises(ValueError, match="unknown method"):
        AlignmentStudyConfig(methods=("sentence", "telepathy"))
    with pytest.raises(ValueError, match="curve_sizes"):
        AlignmentStudyConfig(curve_sizes=(1, 8))
    with pytest.raises(ValueError, match="parallel-text method"):
        contrastive.data_curve(AlignmentStudyConfig(), method="image-pivot")
    with pytest.raises(ValueError, match="not of the form"):
        curve_frame(pd.DataFrame({"method": ["sentence"], "value": [1.0]}))


def test_sentence_alignment_beats_no_alignment_on_the_tiny_world() -> None:
    cfg = AlignmentStudyConfig(lab_preset="tiny", seeds=(0,), methods=("none", "sentence"),
                            pairs_per_language=100, text_steps=60, batch_size=16,
                            n_eval_pairs=40, aer_pairs=5, probe_per_language=10, nli=False)
    df = _frame(contrastive.contrastive_study(cfg, show_progress=False))
    ret = df[df.metric == "retrieval_acc_cosine"].groupby("method").value.mean()
    assert ret["sentence"] > ret["none"] + 0.2


def test_shuffled_image_control_has_the_same_images_in_another_order() -> None:
    w = ToyWorld(LabConfig.preset("tiny").world)
    caps, x = alignment_data(w, "image-pivot", seed=0, n_pairs=8, n_captions=20)["images"]
    caps2, y = alignment_data(w, "image-shuffled", seed=0, n_pairs=8, n_captions=20)["images"]
    assert caps == caps2 and x.shape == y.shape
    assert not (x == y).all()
    assert sorted(map(tuple, x.round(6))) == sorted(map(tuple, y.round(6)))

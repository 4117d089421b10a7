"""Fast fine-tuning settings: a frozen word-embedding matrix and bf16 mixed precision."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from xtutor.evaluation import evaluate_pairs
from xtutor.regularizers import AdversarialConfig, AdversarialTraining
from xtutor.training import FinetuneConfig, finetune


def _word_matrix(model: torch.nn.Module) -> torch.Tensor:
    return model.get_input_embeddings().weight.detach().clone()


@pytest.mark.parametrize("method", [None, "free", "pgd"])
def test_frozen_word_embeddings_stay_and_everything_else_trains(small_world, tiny_encoder,
                                                                method) -> None:
    model, tok = tiny_encoder
    before = _word_matrix(model)
    regs = [] if method is None else [AdversarialTraining(AdversarialConfig(
        method, steps=2, step_size=0.05, epsilon=0.1))]
    clf, losses = finetune(model, tok, small_world.nli(96, "L0", seed=1),
                           FinetuneConfig(epochs=1, batch_size=16, lr=2e-3,
                                          freeze_embeddings=True),
                           show_progress=False, regularizers=regs)
    assert torch.equal(_word_matrix(clf), before)  # the matrix did not move
    pos = clf.bert.embeddings.position_embeddings.weight
    assert not torch.equal(pos, model.bert.embeddings.position_embeddings.weight)  # these did
    assert not torch.equal(clf.bert.encoder.layer[0].attention.self.query.weight,
                           model.bert.encoder.layer[0].attention.self.query.weight)
    assert all(torch.isfinite(torch.tensor(losses)))
    assert model.get_input_embeddings().weight.requires_grad  # the input model is untouched


def test_bf16_learns_like_fp32_on_the_toy_task(small_world, tiny_encoder) -> None:
    model, tok = tiny_encoder
    train, test = small_world.nli(900, "L0", seed=1), small_world.nli(150, "L0", seed=2)
    acc = {}
    for precision in ("fp32", "bf16"):
        clf, _ = finetune(model, tok, train, FinetuneConfig(epochs=6, batch_size=32, lr=2e-3,
                                                            precision=precision),
                          show_progress=False, cpu=True)
        assert clf.get_input_embeddings().weight.dtype == torch.float32  # weights stay fp32
        acc[precision] = evaluate_pairs(clf, tok, test)
    assert acc["bf16"] > 0.5, acc  # chance is 1/3: it learns
    assert abs(acc["bf16"] - acc["fp32"]) <= 0.1, acc


def test_fp16_needs_a_gpu(small_world, tiny_encoder) -> None:
    model, tok = tiny_encoder
    with pytest.raises(ValueError, match="'fp16' needs a GPU"):
        finetune(model, tok, small_world.nli(8), FinetuneConfig(precision="fp16"),
                 show_progress=False, cpu=True)


def test_length_grouped_batches_visit_every_example_once_and_pad_less() -> None:
    from xtutor.training.classify import GROUP_BATCHES, _Sampler

    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(5, 90, (1000,), generator=g).tolist()
    size = 10
    pads = {}
    for grouped in (False, True):
        s = _Sampler(1000, size, torch.Generator().manual_seed(3), 1,
                     lengths if grouped else None)
        batches = [s.next()[0] for _ in range(100)]  # one whole permutation
        assert sorted(j for b in batches for j in b) == list(range(1000))
        pads[grouped] = sum(max(lengths[j] for j in b) * len(b) for b in batches)
        if grouped:  # within a batch the lengths are close: each comes from one sorted chunk
            spread = [max(lengths[j] for j in b) - min(lengths[j] for j in b) for b in batches]
            assert max(spread) <= 85 / (GROUP_BATCHES / 10)
            again = _Sampler(1000, size, torch.Generator().manual_seed(3), 1, lengths)
            assert [again.next()[0] for _ in range(100)] == batches  # seeded
    real = sum(lengths)
    assert real / pads[True] > 0.9 > 0.75 > real / pads[False]


def test_grouped_batches_and_the_fused_optimizer_learn_like_the_defaults(small_world,
                                                                        tiny_encoder) -> None:
    model, tok = tiny_encoder
    train, test = small_world.nli(900, "L0", seed=1), small_world.nli(150, "L0", seed=2)
    acc = {}
    for fast in (False, True):
        clf, losses = finetune(model, tok, train, FinetuneConfig(
            epochs=6, batch_size=32, lr=2e-3, group_by_length=fast, fused_optimizer=fast),
            show_progress=False, cpu=True)
        assert all(torch.isfinite(torch.tensor(losses)))
        acc[fast] = evaluate_pairs(clf, tok, test)
    assert acc[True] > 0.5, acc  # chance is 1/3: it learns
    assert abs(acc[True] - acc[False]) <= 0.1, acc


def test_precision_is_the_configs_after_a_mixed_precision_accelerator(small_world,
                                                                      tiny_encoder) -> None:
    """Accelerate's mixed precision is process-wide: a bf16 Accelerator created earlier (as a
    ``Trainer(bf16=True)`` run does) must not turn a later fp32 ``finetune`` into bf16, in
    training or in the returned model's forward passes."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    model, tok = tiny_encoder
    train, test = small_world.nli(64, "L0", seed=1), small_world.nli(32, "L0", seed=2)
    cfg = FinetuneConfig(epochs=1, batch_size=16, lr=2e-3, precision="fp32")
    batch = tok([e.premise for e in test], [e.hypothesis for e in test], padding=True,
                return_tensors="pt")

    def run() -> tuple[torch.Tensor, list[float]]:
        clf, losses = finetune(model, tok, train, cfg, show_progress=False, cpu=True)
        with torch.inference_mode():
            return clf.eval()(**batch).logits, losses

    AcceleratorState._reset_state(True)
    try:
        ref_logits, ref_losses = run()
        AcceleratorState._reset_state(True)
        assert Accelerator(cpu=True, mixed_precision="bf16").mixed_precision == "bf16"
        logits, losses = run()
        clf, _ = finetune(model, tok, train, replace(cfg, precision="bf16"),
                          show_progress=False, cpu=True)
    finally:
        AcceleratorState._reset_state(True)
    assert losses == ref_losses  # trained in fp32, as asked
    assert torch.equal(logits, ref_logits)  # and the returned model predicts in fp32
    with torch.inference_mode():
        bf16_logits = clf.eval()(**batch).logits
    assert not torch.equal(bf16_logits, ref_logits)  # the check can fail: bf16 differs

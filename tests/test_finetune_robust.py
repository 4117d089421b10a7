"""finetune with regularisers: every one trains without NaN, they compose, the adversarial
variants cost what they should, and resuming from a checkpoint equals an uninterrupted run."""

from __future__ import annotations

import math

import pytest
import torch

from xtutor.regularizers import (
    AdversarialConfig,
    AdversarialTraining,
    CodeSwitch,
    CodeSwitchConfig,
    ConsistencyConfig,
    ContrastiveAlignment,
    ContrastiveConfig,
    KLConsistency,
    RandomizedSmoothing,
    Regularizer,
    SmoothingConfig,
    neighbours_from_dictionaries,
)
from xtutor.training import FinetuneConfig, finetune
from xtutor.training.checkpoint import latest_checkpoint
from xtutor.training.loop import NonFiniteLossError

CFG = FinetuneConfig(epochs=1, batch_size=16, lr=2e-3)


def _regs(world, name: str) -> list[Regularizer]:
    tables = {lang: world.dictionary("L0", lang) for lang in world.languages[1:]}
    adv = {"steps": 2, "step_size": 0.1, "epsilon": 0.2}
    return {
        "pgd": lambda: [AdversarialTraining(AdversarialConfig("pgd", **adv))],
        "freelb": lambda: [AdversarialTraining(AdversarialConfig("freelb", **adv))],
        "free": lambda: [AdversarialTraining(AdversarialConfig("free", **adv))],
        "smoothing": lambda: [RandomizedSmoothing(neighbours_from_dictionaries(tables.values()),
                                                  SmoothingConfig(0.3, noise_std=0.05))],
        "codeswitch": lambda: [CodeSwitch(tables, CodeSwitchConfig(0.3))],
        "consistency": lambda: [KLConsistency(ConsistencyConfig(noise_std=0.05),
                                              view=CodeSwitch(tables))],
        "contrastive": lambda: [ContrastiveAlignment(world.parallel("L0", "L1", 40),
                                                     ContrastiveConfig(batch_size=8))],
    }[name]()


def _weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.fixture(scope="module")
def encoder(small_world):
    from xtutor.models import toy_encoder

    return toy_encoder(small_world, layers=2, hidden=32, heads=2, ffn=64, seed=0)


@pytest.fixture(scope="module")
def plain_run(small_world, encoder):
    model, tok = encoder
    train = small_world.nli(64, "L0", seed=1)
    clf, losses = finetune(model, tok, train, CFG, show_progress=False)
    return train, _weights(clf), losses


@pytest.mark.parametrize("name", ["pgd", "freelb", "free", "smoothing", "codeswitch",
                                  "consistency", "contrastive"])
def test_each_regularizer_trains_without_nan_and_changes_training(
        small_world, encoder, plain_run, name) -> None:
    model, tok = encoder
    train, plain_w, plain_losses = plain_run
    clf, losses = finetune(model, tok, train, CFG, show_progress=False,
                           regularizers=_regs(small_world, name))
    assert len(losses) == len(plain_losses) == 4
    assert all(math.isfinite(v) for v in losses)
    w = _weights(clf)
    assert all(torch.isfinite(v).all() for v in w.values() if v.is_floating_point())
    diff = max(float((w[k].float() - plain_w[k].float()).abs().max()) for k in w)
    assert diff > 1e-6, f"{name} did not change training"


def test_regularizers_compose(small_world, encoder) -> None:
    model, tok = encoder
    regs = (_regs(small_world, "freelb") + _regs(small_world, "smoothing")
            + _regs(small_world, "consistency") + _regs(small_world, "contrastive"))
    clf, losses = finetune(model, tok, small_world.nli(32, "L0", seed=1), CFG,
                           show_progress=False, regularizers=regs)
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)
    with pytest.raises(ValueError, match="at most one adversarial"):
        finetune(model, tok, small_world.nli(48), CFG, regularizers=_regs(small_world, "pgd")
                 + _regs(small_world, "free"))
    with pytest.raises(TypeError, match=r"regularizers\[0\]"):
        finetune(model, tok, small_world.nli(48), CFG, regularizers=["pgd"])


@pytest.mark.parametrize(("name", "passes"), [(None, 1), ("free", 1), ("freelb", 2),
                                               ("pgd", 4)])
def test_forward_passes_per_step(small_world, encoder, name, passes) -> None:
    """The cost model: free = plain (1 pass a step), FreeLB = K, PGD = K ascents + 2."""
    model, tok = encoder
    calls = []
    orig = torch.nn.Module.__call__

    def counting(self, *a, **k):  # count classifier forward passes
        if type(self).__name__.endswith("ForSequenceClassification"):
            calls.append(1)
        return orig(self, *a, **k)

    regs = [] if name is None else _regs(small_world, name)
    torch.nn.Module.__call__ = counting
    try:
        _, losses = finetune(model, tok, small_world.nli(32, "L0", seed=1), CFG,
                             show_progress=False, regularizers=regs)
    finally:
        torch.nn.Module.__call__ = orig
    assert len(calls) == passes * len(losses)


class _Crash(Regularizer):
    """Raises once at a given step (simulates a killed job)."""

    name = "crash"

    def __init__(self, at: int | None) -> None:
        self.at = at

    def loss(self, ctx):
        if self.at is not None and ctx.step == self.at:
            self.at = None
            raise KeyboardInterrupt("simulated interruption")
        return None

    def __repr__(self) -> str:
        return "_Crash"


def test_resume_from_checkpoint_equals_uninterrupted_run(small_world, encoder,
                                                         tmp_path) -> None:
    model, tok = encoder
    train = small_world.nli(48, "L0", seed=1)
    cfg = FinetuneConfig(epochs=2, batch_size=8, lr=2e-3, seed=4)  # 12 steps of 8 pairs

    def regs(crash_at):
        # randomness everywhere: text noise, embedding noise, dropout, carried perturbation
        return (_regs(small_world, "free") + _regs(small_world, "smoothing")
                + [_Crash(crash_at)])

    ref, ref_losses = finetune(model, tok, train, cfg, show_progress=False,
                               regularizers=regs(None))
    ckpt = tmp_path / "ckpt"
    with pytest.raises(KeyboardInterrupt):
        finetune(model, tok, train, cfg, show_progress=False, regularizers=regs(7),
                 checkpoint_dir=ckpt, checkpoint_every=3)
    assert latest_checkpoint(ckpt).name == "step-0000006.pt"
    clf, losses = finetune(model, tok, train, cfg, show_progress=False, regularizers=regs(None),
                           checkpoint_dir=ckpt, checkpoint_every=3)
    assert losses == ref_losses
    a, b = _weights(ref), _weights(clf)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert latest_checkpoint(ckpt).name == "step-0000012.pt"
    # a finished run resumes to the same model without training
    again, again_losses = finetune(model, tok, train, cfg, show_progress=False,
                                   regularizers=regs(None), checkpoint_dir=ckpt)
    assert again_losses == ref_losses and all(torch.equal(a[k], v)
                                              for k, v in _weights(again).items())
    # a checkpoint of another run is refused
    with pytest.raises(ValueError, match="different run"):
        finetune(model, tok, train, FinetuneConfig(epochs=2, batch_size=8, lr=1e-3, seed=4),
                 show_progress=False, regularizers=regs(None), checkpoint_dir=ckpt)


def test_bad_arguments_and_nan_are_named(small_world, encoder) -> None:
    model, tok = encoder
    data = small_world.nli(32, "L0", seed=1)
    with pytest.raises(ValueError, match="checkpoint_dir"):
        finetune(model, tok, data, CFG, checkpoint_every=2)
    with pytest.raises(ValueError, match="checkpoint_every"):
        finetune(model, tok, data, CFG, checkpoint_every=-1, checkpoint_dir="x")

    class _NaN(Regularizer):
        def loss(self, ctx):
            return torch.tensor(float("nan"))

    with pytest.raises(NonFiniteLossError, match="step 0"):
        finetune(model, tok, data, CFG, show_progress=False, regularizers=[_NaN()])

"""The small optimisation loop shared by every trainer (AdamW, linear warm-up and decay,
gradient clipping, NaN detection, progress bar)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from xtutor.progress import progress


class NonFiniteLossError(RuntimeError):
    """Raised when a training loss becomes NaN or infinite."""


def make_optimizer(model: torch.nn.Module, lr: float, weight_decay: float, warmup: int,
                   total: int, *, fused: bool = False
                   ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW (no decay on biases and LayerNorm) with linear warm-up then linear decay;
    ``fused``: PyTorch's fused AdamW kernel instead of the multi-tensor one."""
    if lr <= 0:
        raise ValueError(f"learning rate must be positive, got {lr}")
    if total <= 0:
        raise ValueError(f"number of training steps must be positive, got {total}")
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim < 2 or "LayerNorm" in n or "norm" in n.lower() else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=lr,
                            **({"fused": True} if fused else {}))

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, schedule)


def run_steps(model: torch.nn.Module, step_loss: Callable[[int], torch.Tensor], steps: int, *,
              lr: float, weight_decay: float = 0.01, warmup: int = 0, max_grad_norm: float = 1.0,
              desc: str = "train", show_progress: bool = True, backward: Callable | None = None,
              start_step: int = 0, optimizer_state: dict | None = None,
              on_step: Callable[[int, float], None] | None = None) -> list[float]:
    """Run ``steps`` optimisation steps; ``step_loss(i)`` returns step ``i``'s loss.

    Returns the loss history. A non-finite loss raises :class:`NonFiniteLossError` naming the
    step, instead of silently corrupting the weights.
    """
    opt, sched = make_optimizer(model, lr, weight_decay, warmup, steps)
    if optimizer_state is not None:
        opt.load_state_dict(optimizer_state["optimizer"])
        sched.load_state_dict(optimizer_state["scheduler"])
    model.train()
    losses: list[float] = []
    bar = progress(range(start_step, steps), desc=desc, show=show_progress, leave=False)
    for i in bar:
        loss = step_loss(i)
        val = float(loss.detach())
        if not math.isfinite(val):
            raise NonFiniteLossError(
                f"{desc}: loss became {val} at step {i}; lower the learning rate ({lr}) or "
                f"check the inputs of this batch")
        opt.zero_grad(set_to_none=True)
        (backward or (lambda t: t.backward()))(loss)
        if max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        opt.step()
        sched.step()
        losses.append(val)
        if on_step is not None:
            on_step(i, val)
        if i % 10 == 0:
            bar.set_postfix(loss=f"{val:.3f}")
    model.eval()
    return losses

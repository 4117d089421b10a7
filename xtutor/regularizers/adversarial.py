"""Adversarial training in word-embedding space: PGD, FreeLB and "free" adversarial training.

A perturbation ``delta`` of the word embeddings ``E(x)`` (shape ``(B, T, D)``) is sought that
increases the task loss, inside a norm ball, on real tokens only (``mask``: non-pad and, by
default, non-special)::

    delta <- Proj_eps( delta + alpha * g / ||g|| )      (L2, per example)
    delta <- clip_[-eps, eps]( delta + alpha * sign(g) ) (Linf)
    g = d CE(f(E(x) + delta), y) / d delta

- ``pgd`` (Madry et al. 2018): ``K`` ascent steps from ``delta_0``, then the model is trained
  on ``CE(clean) + weight * CE(f(E(x) + delta_K))``; about ``K + 2`` forward/backward passes.
- ``freelb`` (Zhu et al. 2020): ``K`` ascent steps whose parameter gradients are accumulated,
  ``L = 1/K sum_{t<K} CE(f(E(x) + delta_t))``; with ``delta_0 = 0`` the first term is the clean
  loss. ``K`` passes.
- ``free`` (Shafahi et al. 2019): each minibatch is replayed ``K`` times; every replay does one
  forward/backward that updates the weights *and* (from the same backward) the perturbation,
  which is carried to the next replay. The number of optimiser steps, hence the cost, is that
  of plain fine-tuning (but ``K`` times fewer distinct batches are seen).

Every function works on tensors; :class:`AdversarialTraining` plugs them into
:func:`xtutor.training.finetune` (the model is run on ``inputs_embeds``).

Example:
    >>> delta = torch.ones(2, 3, 4)
    >>> mask = torch.tensor([[True, True, False], [True, False, False]])
    >>> p = project(delta, mask, epsilon=1.0, norm="l2")
    >>> [round(float(x), 4) for x in perturbation_norm(p, "l2")], float(p[0, 2].abs().sum())
    ([1.0, 1.0], 0.0)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch

from xtutor.regularizers.base import Regularizer

Norm = Literal["l2", "linf"]
Method = Literal["pgd", "freelb", "free"]
#: ``objective(delta, with_extras, sync) -> (task_loss, extra_loss)`` of one batch
#: (``delta=None``: the clean input; ``sync=False``: a pass whose gradients are not all-reduced
#: across processes).
Objective = Callable[[torch.Tensor | None, bool, bool], tuple[torch.Tensor, torch.Tensor]]
#: ``backward(loss)``: check the loss is finite and accumulate the parameter gradients.
Backward = Callable[[torch.Tensor], None]


@dataclass(frozen=True)
class AdversarialConfig:
    """Settings of embedding-space adversarial training.

    Attributes:
        method: ``pgd``, ``freelb`` or ``free`` (module docstring).
        steps: ``K``: ascent steps (``pgd``, ``freelb``) or replays per batch (``free``).
        step_size: ``alpha``, the ascent step (an L2 length per example, or a per-coordinate
            step for ``linf``).
        epsilon: radius of the norm ball (``0`` = no bound).
        norm: ``l2`` (per example, over all its real tokens) or ``linf``.
        init: random start ``delta_0`` of norm ``init * epsilon`` (``0``: start at zero).
        weight: ``pgd`` only: weight of the adversarial loss added to the clean loss.
        skip_special: never perturb special tokens (``[CLS]``, ``[SEP]``...).

    Example:
        >>> AdversarialConfig(method="freelb", steps=3).steps
        3
        >>> AdversarialConfig(norm="l1")
        Traceback (most recent call last):
        ...
        ValueError: AdversarialConfig: norm must be 'l2' or 'linf', got 'l1'
    """

    method: Method = "pgd"
    steps: int = 2
    step_size: float = 0.1
    epsilon: float = 0.5
    norm: Norm = "l2"
    init: float = 0.0
    weight: float = 1.0
    skip_special: bool = True

    def __post_init__(self) -> None:
        if self.method not in ("pgd", "freelb", "free"):
            raise ValueError(f"AdversarialConfig: method must be 'pgd', 'freelb' or 'free', got "
                             f"{self.method!r}")
        if self.norm not in ("l2", "linf"):
            raise ValueError(f"AdversarialConfig: norm must be 'l2' or 'linf', got {self.norm!r}")
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise ValueError(f"AdversarialConfig: steps must be an int >= 1, got {self.steps!r}")
        for name in ("step_size", "epsilon", "init", "weight"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or v < 0 or v != v:
                raise ValueError(f"AdversarialConfig: {name} must be a number >= 0, got {v!r}")
        if self.step_size == 0:
            raise ValueError("AdversarialConfig: step_size must be positive")
        if self.init > 0 and self.epsilon == 0:
            raise ValueError("AdversarialConfig: init is a fraction of epsilon; set epsilon > 0")


def _flat(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(x.shape[0], -1)


def perturbation_norm(delta: torch.Tensor, norm: Norm) -> torch.Tensor:
    """Per-example norm ``(B,)`` of a ``(B, T, D)`` perturbation (``l2`` or ``linf``).

    Example:
        >>> perturbation_norm(torch.full((1, 2, 2), 0.5), "l2")
        tensor([1.])
    """
    if norm == "l2":
        return _flat(delta).float().norm(dim=1)
    if norm == "linf":
        return _flat(delta).float().abs().amax(dim=1)
    raise ValueError(f"norm must be 'l2' or 'linf', got {norm!r}")


def _check(delta: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    if delta.ndim != 3:
        raise ValueError(f"delta must be (B, T, D), got shape {tuple(delta.shape)}")
    if mask.shape != delta.shape[:2]:
        raise ValueError(f"mask has shape {tuple(mask.shape)}, expected {tuple(delta.shape[:2])}"
                         f" (the first two dimensions of delta)")
    return mask.unsqueeze(-1).to(delta.dtype)


def project(delta: torch.Tensor, mask: torch.Tensor, epsilon: float, norm: Norm) -> torch.Tensor:
    """Zero ``delta`` outside ``mask`` and project it into the ``epsilon`` ball of ``norm``.

    L2: rows longer than ``epsilon`` are rescaled to length ``epsilon``; Linf: clamp to
    ``[-epsilon, epsilon]``. ``epsilon = 0`` means unbounded (only the mask is applied).

    Example:
        >>> project(torch.tensor([[[3.0, 4.0]]]), torch.tensor([[True]]), 1.0, "l2")
        tensor([[[0.6000, 0.8000]]])
    """
    m = _check(delta, mask)
    delta = delta * m
    if epsilon <= 0:
        return delta
    if norm == "linf":
        return delta.clamp(-epsilon, epsilon)
    n = perturbation_norm(delta, "l2").clamp_min(1e-12)
    scale = (epsilon / n).clamp(max=1.0).to(delta.dtype)
    return delta * scale.view(-1, 1, 1)


def ascend(delta: torch.Tensor, grad: torch.Tensor, mask: torch.Tensor, step_size: float,
           norm: Norm) -> torch.Tensor:
    """One normalised ascent step ``delta + alpha * g / ||g||_2`` (L2) or ``+ alpha sign(g)``.

    Example:
        >>> ascend(torch.zeros(1, 1, 2), torch.tensor([[[3.0, 4.0]]]), torch.tensor([[True]]),
        ...        1.0, "l2")
        tensor([[[0.6000, 0.8000]]])
    """
    m = _check(delta, mask)
    grad = grad * m
    if norm == "linf":
        return delta + step_size * grad.sign()
    n = perturbation_norm(grad, "l2").clamp_min(1e-12).to(grad.dtype)
    return delta + step_size * grad / n.view(-1, 1, 1)


def init_delta(shape: torch.Size | tuple[int, ...], mask: torch.Tensor, config: AdversarialConfig,
               generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32,
               device: torch.device | str = "cpu") -> torch.Tensor:
    """The start ``delta_0``: zeros, or (``config.init > 0``) uniform noise of norm
    ``init * epsilon`` on real tokens (drawn on the CPU from ``generator``).

    Example:
        >>> cfg = AdversarialConfig(epsilon=1.0, init=0.5)
        >>> d = init_delta((2, 3, 4), torch.ones(2, 3, dtype=torch.bool), cfg,
        ...                torch.Generator().manual_seed(0))
        >>> [round(float(x), 4) for x in perturbation_norm(d, "l2")]
        [0.5, 0.5]
    """
    if config.init == 0:
        return torch.zeros(shape, dtype=dtype, device=device)
    u = (torch.rand(shape, generator=generator) * 2 - 1).to(device=device, dtype=dtype)
    u = u * mask.unsqueeze(-1).to(device=device, dtype=dtype)
    radius = config.init * config.epsilon
    if config.norm == "linf":
        return u * radius
    n = perturbation_norm(u, "l2").clamp_min(1e-12).to(dtype)
    return u * (radius / n).view(-1, 1, 1)


def pgd_perturbation(loss_fn: Callable[[torch.Tensor], torch.Tensor], embeds: torch.Tensor,
                     mask: torch.Tensor, config: AdversarialConfig,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """``K`` projected ascent steps on ``loss_fn(embeds + delta)``; returns ``delta`` (detached).

    ``loss_fn`` maps perturbed embeddings ``(B, T, D)`` to a scalar loss. Only ``delta`` gets
    gradients here (``torch.autograd.grad``), never the model's parameters.

    Example:
        >>> w = torch.tensor([1.0, -2.0])
        >>> cfg = AdversarialConfig(steps=3, step_size=0.5, epsilon=1.0)
        >>> d = pgd_perturbation(lambda e: (e @ w).sum(), torch.zeros(1, 1, 2),
        ...                      torch.tensor([[True]]), cfg)
        >>> [round(float(x), 3) for x in d.flatten()]  # the unit vector along w
        [0.447, -0.894]
    """
    delta = init_delta(embeds.shape, mask, config, generator, embeds.dtype, embeds.device)
    base = embeds.detach()
    for _ in range(config.steps):
        delta.requires_grad_(True)
        loss = loss_fn(base + delta)
        (grad,) = torch.autograd.grad(loss, delta)
        delta = project(ascend(delta.detach(), grad, mask, config.step_size, config.norm), mask,
                        config.epsilon, config.norm)
    return delta.detach()


class AdversarialTraining(Regularizer):
    """Embedding-space adversarial training (``pgd``, ``freelb`` or ``free``) for
    :func:`xtutor.training.finetune`; see the module docstring for the objectives. The extra
    terms of other regularisers (consistency, contrastive) are added once per step: to the
    clean pass (``pgd``), to the first pass (``freelb``) or to the single pass (``free``).

    Example:
        >>> AdversarialTraining(AdversarialConfig(method="free")).name
        'free'
    """

    uses_embeddings = True
    supports_tokens = True  # the perturbation is on inputs_embeds, whatever the labels' shape

    def __init__(self, config: AdversarialConfig | None = None) -> None:
        if config is not None and not isinstance(config, AdversarialConfig):
            raise TypeError(f"config must be an AdversarialConfig, got {type(config).__name__}")
        self.config = config or AdversarialConfig()
        self.name = self.config.method
        self._carried: torch.Tensor | None = None

    @property
    def replays(self) -> int:
        """How many consecutive steps reuse one batch (``K`` for ``free``, else 1)."""
        return self.config.steps if self.config.method == "free" else 1

    def setup(self, tokenizer: Any, device: torch.device) -> None:
        self._carried = None

    def state_dict(self) -> dict[str, Any]:
        return {"carried": None if self._carried is None else self._carried.detach().cpu()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        c = state.get("carried")
        self._carried = None if c is None else c.clone()

    def train_step(self, objective: Objective, mask: torch.Tensor, shape: torch.Size,
                   backward: Backward, generator: torch.Generator, first_replay: bool,
                   dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Run the forward/backward passes of one step; returns the (detached) step loss.

        ``objective(delta, with_extras, sync)`` returns ``(task_loss, extra_loss)`` for the batch
        perturbed by ``delta`` (``None``: clean); ``backward(loss)`` accumulates the parameter
        gradients. ``first_replay`` tells ``free`` that a new batch starts.
        """
        cfg = self.config
        device = mask.device
        if cfg.method == "pgd":
            delta = init_delta(shape, mask, cfg, generator, dtype, device)
            for _ in range(cfg.steps):
                delta.requires_grad_(True)
                (grad,) = torch.autograd.grad(objective(delta, False, False)[0], delta)
                delta = project(ascend(delta.detach(), grad, mask, cfg.step_size, cfg.norm),
                                mask, cfg.epsilon, cfg.norm)
            task, extra = objective(None, True, True)
            total = task + extra + cfg.weight * objective(delta.detach(), False, True)[0]
            backward(total)
            return total.detach()
        if cfg.method == "freelb":
            delta = init_delta(shape, mask, cfg, generator, dtype, device)
            total_val = torch.zeros((), device=device)
            for t in range(cfg.steps):
                delta.requires_grad_(True)
                last = t == cfg.steps - 1
                task, extra = objective(delta, t == 0, last)
                loss = task / cfg.steps + (extra if t == 0 else 0.0)
                backward(loss)
                total_val = total_val + loss.detach()
                if not last:
                    grad = delta.grad
                    if grad is None:
                        raise RuntimeError("FreeLB: the loss does not depend on the embedding "
                                           "perturbation; is the model run on inputs_embeds?")
                    delta = project(ascend(delta.detach(), grad, mask, cfg.step_size, cfg.norm),
                                    mask, cfg.epsilon, cfg.norm)
            return total_val
        # free: one pass per replay, perturbation carried across the replays of a batch
        if first_replay or self._carried is None or self._carried.shape != shape:
            delta = init_delta(shape, mask, cfg, generator, dtype, device)
        else:
            delta = self._carried.to(device=device, dtype=dtype)
        delta.requires_grad_(True)
        task, extra = objective(delta, True, True)
        total = task + extra
        backward(total)
        grad = delta.grad if delta.grad is not None else torch.zeros_like(delta)
        self._carried = project(ascend(delta.detach(), grad, mask, cfg.step_size, cfg.norm),
                                mask, cfg.epsilon, cfg.norm).detach()
        return total.detach()

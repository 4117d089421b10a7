"""Sentence-level InfoNCE (translation ranking) with in-batch negatives.

For a batch of ``B`` translation pairs with embeddings ``x_i`` (source) and ``y_i`` (target),
every other target in the batch is a negative for ``x_i``. With cosine similarity
``s_ij = cos(x_i, y_j)``, temperature ``tau`` and an additive margin ``m`` subtracted from the
positive pairs only (LaBSE, Feng et al. 2022; Yang et al. 2019)::

    logit_ij = (s_ij - m * [i == j]) / tau
    L_x->y   = -1/B * sum_i log( exp(logit_ii) / sum_j exp(logit_ij) )

``bidirectional=True`` also ranks sources for each target (the same logits read by column) and
returns the mean ``(L_x->y + L_y->x) / 2``. A margin makes the task harder: the positive must
beat every negative by at least ``m`` in cosine before the loss is small, so the loss never
decreases when ``m`` grows.

Example:
    >>> import torch
    >>> x = torch.eye(2)  # two orthogonal unit vectors, each paired with itself
    >>> round(float(info_nce(x, x, temperature=1.0)), 4)  # log(1 + e^-1)
    0.3133
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def check_paired(a: torch.Tensor, b: torch.Tensor, name_a: str, name_b: str) -> None:
    """Raise a ``ValueError`` unless ``a`` and ``b`` are non-empty ``(B, D)`` with equal shape.

    Example:
        >>> check_paired(torch.zeros(2, 3), torch.zeros(2, 4), "src", "tgt")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: src has shape (2, 3) and tgt has shape (2, 4); expected both (B, D) ...
    """
    for t, name in ((a, name_a), (b, name_b)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if t.ndim != 2:
            raise ValueError(f"{name} must be 2-D (B, D), got shape {tuple(t.shape)}")
        if t.shape[0] == 0:
            raise ValueError(f"{name} is an empty batch (shape {tuple(t.shape)}); expected "
                             f"(B, D) with B >= 1")
    if a.shape != b.shape:
        raise ValueError(f"{name_a} has shape {tuple(a.shape)} and {name_b} has shape "
                         f"{tuple(b.shape)}; expected both (B, D) with the same B and D (row i "
                         f"of {name_a} pairs with row i of {name_b})")


def check_temperature(temperature: float | torch.Tensor, name: str = "temperature") -> None:
    """Raise a ``ValueError`` unless ``temperature`` is a positive finite scalar."""
    if isinstance(temperature, torch.Tensor):
        if temperature.numel() != 1:
            raise ValueError(f"{name} must be a scalar, got a tensor of shape "
                             f"{tuple(temperature.shape)}")
        t = float(temperature.detach())
    else:
        t = temperature
    if not isinstance(t, (int, float)) or not t > 0 or t == float("inf"):
        raise ValueError(f"{name} must be a positive finite number, got {temperature!r}")


def info_nce_logits(src: torch.Tensor, tgt: torch.Tensor, *,
                    temperature: float | torch.Tensor = 0.05, margin: float = 0.0,
                    normalize: bool = True) -> torch.Tensor:
    """The ``(B, B)`` logit matrix ``(s_ij - m [i == j]) / tau`` (see the module docstring).

    ``normalize=False`` uses raw dot products instead of cosines.

    Example:
        >>> info_nce_logits(torch.eye(2), torch.eye(2), temperature=0.5, margin=0.2)
        tensor([[1.6000, 0.0000],
                [0.0000, 1.6000]])
    """
    check_paired(src, tgt, "src", "tgt")
    check_temperature(temperature)
    if normalize:
        src, tgt = F.normalize(src, dim=-1), F.normalize(tgt, dim=-1)
    sim = src @ tgt.T
    if margin:
        sim = sim - margin * torch.eye(sim.shape[0], dtype=sim.dtype, device=sim.device)
    return sim / temperature


def info_nce(src: torch.Tensor, tgt: torch.Tensor, *, temperature: float | torch.Tensor = 0.05,
             margin: float = 0.0, bidirectional: bool = True, normalize: bool = True
             ) -> torch.Tensor:
    """Translation-ranking InfoNCE over a batch of ``(B, D)`` source/target embeddings.

    Row ``i`` of ``src`` translates row ``i`` of ``tgt``; all other rows are negatives. Returns
    the scalar mean loss (formula in the module docstring).

    Args:
        src, tgt: ``(B, D)`` embeddings (any real dtype; gradients flow to both).
        temperature: ``tau > 0`` (a float, or a 0-d tensor, e.g. a learnable one).
        margin: additive margin subtracted from the positive cosines (0 = plain InfoNCE).
        bidirectional: average the source->target and target->source losses.
        normalize: use cosine similarity (``True``) or raw dot products.

    Example:
        >>> x = torch.eye(2)
        >>> plain = info_nce(x, x, temperature=1.0)
        >>> bool(info_nce(x, x, temperature=1.0, margin=0.5) > plain)
        True
        >>> float(info_nce(x[:1], x[:1]))  # one pair, no negatives: nothing to rank
        0.0
    """
    logits = info_nce_logits(src, tgt, temperature=temperature, margin=margin,
                             normalize=normalize)
    labels = torch.arange(logits.shape[0], device=logits.device)
    loss = F.cross_entropy(logits, labels)
    if bidirectional:
        loss = (loss + F.cross_entropy(logits.T, labels)) / 2
    return loss


class InfoNCELoss(nn.Module):
    """:func:`info_nce` as a module with fixed settings.

    Example:
        >>> loss = InfoNCELoss(temperature=1.0)
        >>> round(float(loss(torch.eye(2), torch.eye(2))), 4)
        0.3133
    """

    def __init__(self, temperature: float = 0.05, margin: float = 0.0,
                 bidirectional: bool = True, normalize: bool = True) -> None:
        super().__init__()
        check_temperature(temperature)
        self.temperature = float(temperature)
        self.margin = float(margin)
        self.bidirectional = bidirectional
        self.normalize = normalize

    def forward(self, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        return info_nce(src, tgt, temperature=self.temperature, margin=self.margin,
                        bidirectional=self.bidirectional, normalize=self.normalize)

    def extra_repr(self) -> str:
        return (f"temperature={self.temperature}, margin={self.margin}, "
                f"bidirectional={self.bidirectional}, normalize={self.normalize}")

"""L2 drift regulariser: keep an encoder near the weights it started from.

With a frozen snapshot ``theta_0`` of the parameters taken before training::

    R(theta) = sum_p || theta_p - theta_0,p ||^2

summed over every parameter ``p`` in the snapshot (an L2-SP style penalty; Li et al. 2018).
Adding ``lambda * R`` to an alignment loss trades alignment against forgetting what pretraining
taught the encoder.

Example:
    >>> import torch
    >>> lin = torch.nn.Linear(1, 1)
    >>> reg = DriftRegularizer(lin)
    >>> reg(lin).item()
    0.0
    >>> with torch.no_grad():
    ...     _ = lin.weight.add_(2.0)
    >>> reg(lin).item()  # (2)^2 for the weight, 0 for the bias
    4.0
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import nn


def snapshot(module: nn.Module, trainable_only: bool = True) -> dict[str, torch.Tensor]:
    """Detached copies of ``module``'s (trainable) parameters, by name.

    Example:
        >>> sorted(snapshot(torch.nn.Linear(2, 1)))
        ['bias', 'weight']
    """
    return {n: p.detach().clone() for n, p in module.named_parameters()
            if p.requires_grad or not trainable_only}


def l2_drift(params: Iterable[tuple[str, torch.Tensor]] | nn.Module,
             reference: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """``sum_p ||params[p] - reference[p]||^2`` over the names in ``reference``.

    ``params`` is a module or ``(name, tensor)`` pairs (``module.named_parameters()``). Every
    name of ``reference`` must be present with the same shape, else a ``ValueError`` says which.

    Example:
        >>> ref = {"w": torch.zeros(2)}
        >>> float(l2_drift([("w", torch.tensor([1.0, 2.0]))], ref))
        5.0
    """
    if not reference:
        raise ValueError("reference is empty: there are no parameters to measure drift against")
    current = dict(params.named_parameters() if isinstance(params, nn.Module) else params)
    missing = [n for n in reference if n not in current]
    if missing:
        raise ValueError(f"parameters {missing[:5]} of the reference snapshot are missing from "
                         f"the model (is it the same architecture as the snapshot?)")
    total: torch.Tensor | None = None
    for name, ref in reference.items():
        cur = current[name]
        if cur.shape != ref.shape:
            raise ValueError(f"parameter {name!r} has shape {tuple(cur.shape)} but the snapshot "
                             f"has {tuple(ref.shape)}")
        term = (cur - ref.to(device=cur.device, dtype=cur.dtype)).pow(2).sum()
        total = term if total is None else total + term
    assert total is not None
    return total


class DriftRegularizer:
    """Snapshots ``module``'s parameters at construction; calling it returns the L2 drift.

    It holds plain tensors, not the module, so it adds no parameters to an optimizer and keeps
    no reference to the model it was built from.

    Example:
        >>> lin = torch.nn.Linear(2, 2)
        >>> reg = DriftRegularizer(lin)
        >>> len(reg), reg(lin).item()
        (2, 0.0)
    """

    def __init__(self, module: nn.Module, trainable_only: bool = True) -> None:
        self.reference = snapshot(module, trainable_only)
        if not self.reference:
            raise ValueError(f"{type(module).__name__} has no (trainable) parameters to "
                             f"snapshot")

    def __len__(self) -> int:
        return len(self.reference)

    def __call__(self, module: nn.Module) -> torch.Tensor:
        return l2_drift(module, self.reference)

"""KL consistency between the predictions on a clean and a perturbed view of each example
(xTune, Zheng et al. 2021; R-Drop when the views differ only by dropout).

With ``p = softmax(f(x))`` and ``q = softmax(f(x'))``::

    KL(p || q) = sum_c p_c (log p_c - log q_c)            (mean over the batch)
    symmetric:  (KL(p || q) + KL(q || p)) / 2

The perturbed view ``x'`` is the batch after a text augmenter (``view``, e.g. a
:class:`~xtutor.regularizers.codeswitch.CodeSwitch`), plus optional Gaussian noise on its word
embeddings; the loss added to training is ``weight * KL``. It is exactly zero when both views
give identical logits.

Example:
    >>> import torch
    >>> x = torch.tensor([[2.0, 0.0, -1.0]])
    >>> float(kl_consistency(x, x))
    0.0
    >>> bool(kl_consistency(x, torch.zeros(1, 3)) > 0)
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F

from xtutor.regularizers.base import Regularizer, StepContext, gaussian_noise, token_mask


def kl_consistency(clean_logits: torch.Tensor, perturbed_logits: torch.Tensor,
                   symmetric: bool = False, detach_clean: bool = False) -> torch.Tensor:
    """``KL(softmax(clean) || softmax(perturbed))`` averaged over the batch (or its symmetric
    version); ``detach_clean`` stops the gradient through the clean side.

    Example:
        >>> a, b = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
        >>> round(float(kl_consistency(a, b)), 4), round(float(kl_consistency(a, b, True)), 4)
        (0.4621, 0.4621)
    """
    if clean_logits.shape != perturbed_logits.shape or clean_logits.ndim != 2:
        raise ValueError(f"clean_logits {tuple(clean_logits.shape)} and perturbed_logits "
                         f"{tuple(perturbed_logits.shape)} must both be (B, C) with equal shape")
    p_log = F.log_softmax(clean_logits.float(), dim=-1)
    q_log = F.log_softmax(perturbed_logits.float(), dim=-1)
    if detach_clean:
        p_log = p_log.detach()
    kl_pq = F.kl_div(q_log, p_log, log_target=True, reduction="batchmean")
    if not symmetric:
        return kl_pq
    kl_qp = F.kl_div(p_log, q_log, log_target=True, reduction="batchmean")
    return (kl_pq + kl_qp) / 2


@dataclass(frozen=True)
class ConsistencyConfig:
    """Settings of :class:`KLConsistency`.

    Attributes:
        weight: weight of the KL term in the training loss.
        symmetric: symmetric KL (xTune) instead of ``KL(clean || perturbed)``.
        noise_std: Gaussian noise on the perturbed view's word embeddings.
        detach_clean: treat the clean prediction as a fixed target.

    Example:
        >>> ConsistencyConfig(weight=-1)
        Traceback (most recent call last):
        ...
        ValueError: ConsistencyConfig.weight must be >= 0, got -1
    """

    weight: float = 1.0
    symmetric: bool = True
    noise_std: float = 0.0
    detach_clean: bool = False

    def __post_init__(self) -> None:
        for name in ("weight", "noise_std"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not v >= 0:
                raise ValueError(f"ConsistencyConfig.{name} must be >= 0, got {v!r}")


class KLConsistency(Regularizer):
    """``weight * KL`` between the main forward pass and a perturbed view of the same batch.

    Args:
        config: :class:`ConsistencyConfig`.
        view: a regulariser whose ``augment`` makes the perturbed text (e.g. a
            :class:`~xtutor.regularizers.codeswitch.CodeSwitch`); ``None`` keeps the text, so
            the views differ by embedding noise and dropout only.

    Example:
        >>> KLConsistency().name
        'consistency'
    """

    name = "consistency"

    def __init__(self, config: ConsistencyConfig | None = None,
                 view: Regularizer | None = None) -> None:
        self.config = config or ConsistencyConfig()
        if view is not None and not isinstance(view, Regularizer):
            raise TypeError(f"view must be a Regularizer with an augment() method, got "
                            f"{type(view).__name__}")
        self.view = view
        self._special: list[int] = []

    def setup(self, tokenizer, device) -> None:  # noqa: ANN001 - see Regularizer.setup
        self._special = list(tokenizer.all_special_ids)
        if self.view is not None:
            self.view.setup(tokenizer, device)

    def loss(self, ctx: StepContext) -> torch.Tensor:
        if self.view is not None:
            examples = [self.view.augment(e, ctx.rng) for e in ctx.examples]
            batch = ctx.tokenize(examples)
        else:
            batch = ctx.batch
        embeds = ctx.embed(batch["input_ids"])
        if self.config.noise_std > 0:
            mask = token_mask(batch["input_ids"], batch.get("attention_mask"), self._special)
            embeds = gaussian_noise(embeds, mask, self.config.noise_std, ctx.generator)
        logits = ctx.forward(batch, embeds)
        return self.config.weight * kl_consistency(ctx.logits, logits, self.config.symmetric,
                                                   self.config.detach_clean)

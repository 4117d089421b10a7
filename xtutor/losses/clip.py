"""CLIP-style image-text contrastive loss and a projector for the toy image features.

For ``B`` (text, image) pairs with text embeddings ``t_i`` and image embeddings ``v_i``
(CLIP, Radford et al. 2021)::

    logit_ij = cos(t_i, v_j) / tau
    L = ( CE(logits, diag) + CE(logits^T, diag) ) / 2

i.e. the symmetric (bidirectional) :func:`~xtutor.losses.infonce.info_nce` without margin.
:class:`CLIPLoss` can learn ``tau`` as CLIP does, through ``logit_scale = log(1 / tau)``
clamped so that ``1 / tau <= 100``.

Used as a *pivot*, each language is aligned to images only: if captions in two languages are
both pulled towards the images of their meanings, they may end up near each other although
no parallel text was ever seen.

Example:
    >>> import torch
    >>> round(float(clip_loss(torch.eye(2), torch.eye(2), temperature=1.0)), 4)
    0.3133
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from xtutor.losses.infonce import check_paired, check_temperature, info_nce

#: CLIP's cap on the learnable inverse temperature.
MAX_LOGIT_SCALE = 100.0


def clip_loss(text: torch.Tensor, image: torch.Tensor, *,
              temperature: float | torch.Tensor = 0.07) -> torch.Tensor:
    """Symmetric image-text InfoNCE over ``(B, D)`` text and image embeddings.

    Row ``i`` of ``text`` describes row ``i`` of ``image``; cosine similarity.

    Example:
        >>> t = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> v = torch.tensor([[0.0, 1.0], [1.0, 0.0]])  # images swapped: a worse fit
        >>> bool(clip_loss(t, v, temperature=1.0) > clip_loss(t, t, temperature=1.0))
        True
    """
    check_paired(text, image, "text", "image")
    return info_nce(text, image, temperature=temperature, bidirectional=True)


class CLIPLoss(nn.Module):
    """:func:`clip_loss` with a fixed or learnable temperature.

    With ``learnable=True`` the parameter ``logit_scale`` (``log(1 / tau)``) trains with the
    model; its value is clamped to at most ``log(100)`` in the forward pass.

    Example:
        >>> loss = CLIPLoss(temperature=0.5, learnable=True)
        >>> round(loss.temperature, 4), [n for n, _ in loss.named_parameters()]
        (0.5, ['logit_scale'])
    """

    def __init__(self, temperature: float = 0.07, learnable: bool = False) -> None:
        super().__init__()
        check_temperature(temperature)
        init = torch.tensor(math.log(1.0 / temperature))
        if learnable:
            self.logit_scale = nn.Parameter(init)
        else:
            self.register_buffer("logit_scale", init)
        self.learnable = learnable

    @property
    def temperature(self) -> float:
        """The current temperature ``tau``."""
        return float(1.0 / self._scale().detach().exp())

    def _scale(self) -> torch.Tensor:
        return self.logit_scale.clamp(max=math.log(MAX_LOGIT_SCALE))

    def forward(self, text: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        return clip_loss(text, image, temperature=torch.exp(-self._scale()))

    def extra_repr(self) -> str:
        return f"temperature={self.temperature:.4g}, learnable={self.learnable}"


class ImageProjector(nn.Module):
    """A linear map from image features ``(B, image_dim)`` to the encoder's width ``hidden``.

    Accepts a tensor or a NumPy array (as returned by ``ToyWorld.images``).

    Example:
        >>> proj = ImageProjector(48, 32)
        >>> proj(np.zeros((3, 48), dtype=np.float32)).shape
        torch.Size([3, 32])
    """

    def __init__(self, image_dim: int, hidden: int, bias: bool = True) -> None:
        super().__init__()
        if image_dim < 1 or hidden < 1:
            raise ValueError(f"image_dim and hidden must be positive, got {image_dim}, {hidden}")
        self.image_dim, self.hidden = image_dim, hidden
        self.proj = nn.Linear(image_dim, hidden, bias=bias)

    def forward(self, images: torch.Tensor | np.ndarray) -> torch.Tensor:
        x = torch.as_tensor(images, dtype=self.proj.weight.dtype, device=self.proj.weight.device)
        if x.ndim != 2 or x.shape[1] != self.image_dim:
            raise ValueError(f"images must have shape (B, {self.image_dim}), got "
                             f"{tuple(x.shape)}")
        return self.proj(x)

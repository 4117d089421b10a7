"""Contrastive alignment objectives, one small module per objective.

- :mod:`~xtutor.losses.infonce`: sentence-level translation ranking with in-batch negatives
  (InfoNCE, bidirectional, LaBSE's additive margin);
- :mod:`~xtutor.losses.word_alignment`: word-level contrastive alignment over aligned token
  pairs (Wu & Dredze 2020), and helpers mapping word alignments to subword positions;
- :mod:`~xtutor.losses.clip`: CLIP-style symmetric image-text loss and an image projector;
- :mod:`~xtutor.losses.drift`: an L2 penalty on the distance to the starting weights.

Every function takes tensors and returns a scalar loss; none keeps global state.

Example:
    >>> import torch
    >>> from xtutor.losses import info_nce, clip_loss
    >>> x = torch.eye(3)
    >>> bool(torch.isclose(info_nce(x, x, temperature=0.1), clip_loss(x, x, temperature=0.1)))
    True
"""

from xtutor.losses.clip import CLIPLoss, ImageProjector, clip_loss
from xtutor.losses.drift import DriftRegularizer, l2_drift, snapshot
from xtutor.losses.infonce import InfoNCELoss, info_nce, info_nce_logits
from xtutor.losses.word_alignment import (
    WordAlignmentLoss,
    align_tokens,
    word_alignment_loss,
    word_positions,
    word_states,
)

__all__ = [
    "CLIPLoss", "DriftRegularizer", "ImageProjector", "InfoNCELoss", "WordAlignmentLoss",
    "align_tokens", "clip_loss", "info_nce", "info_nce_logits", "l2_drift", "snapshot",
    "word_alignment_loss", "word_positions", "word_states",
]

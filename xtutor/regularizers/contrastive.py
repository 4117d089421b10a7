"""The chapter-2 contrastive alignment objective as an auxiliary loss during fine-tuning.

At every step a batch of ``B`` parallel sentence pairs is encoded by the classifier's own
encoder; their pooled vectors are ranked with translation InfoNCE (in-batch negatives, the
sentence objective of :func:`xtutor.training.align`, reused through
:func:`xtutor.training.align.pooled_info_nce`)::

    L = CE(f(x), y) + weight * InfoNCE(pool(h(src)), pool(h(tgt)))

so the source-language task is learnt while translations are kept close.

Example:
    >>> c = ContrastiveAlignment([("a b", "x y"), ("c", "z")], ContrastiveConfig(batch_size=2))
    >>> c.name, len(c.pairs)
    ('contrastive', 2)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from xtutor.data.corpora import ParallelCorpus
from xtutor.encode import Pooling, base_encoder
from xtutor.regularizers.base import Regularizer, StepContext
from xtutor.training.align import collate_items, encoder_states, pooled_info_nce, tokenized_items


@dataclass(frozen=True)
class ContrastiveConfig:
    """Settings of :class:`ContrastiveAlignment`.

    Attributes:
        weight: weight of the InfoNCE term.
        batch_size: parallel pairs per step (``>= 2``: the other pairs are the negatives).
        temperature, margin, bidirectional: as in :func:`xtutor.losses.info_nce`.
        pooling, layer: which sentence vectors are aligned (as in :func:`xtutor.encode.encode`).
        max_length: truncation length of each sentence.

    Example:
        >>> ContrastiveConfig(batch_size=1)
        Traceback (most recent call last):
        ...
        ValueError: ContrastiveConfig.batch_size must be an int >= 2 (in-batch negatives), got 1
    """

    weight: float = 0.5
    batch_size: int = 16
    temperature: float = 0.05
    margin: float = 0.0
    bidirectional: bool = True
    pooling: Pooling = "mean"
    layer: int = -1
    max_length: int = 64

    def __post_init__(self) -> None:
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or \
                self.batch_size < 2:
            raise ValueError(f"ContrastiveConfig.batch_size must be an int >= 2 (in-batch "
                             f"negatives), got {self.batch_size!r}")
        if not self.weight >= 0:
            raise ValueError(f"ContrastiveConfig.weight must be >= 0, got {self.weight!r}")
        if not self.temperature > 0:
            raise ValueError(f"ContrastiveConfig.temperature must be > 0, got "
                             f"{self.temperature!r}")
        if self.pooling not in ("mean", "cls"):
            raise ValueError(f"ContrastiveConfig.pooling must be 'mean' or 'cls', got "
                             f"{self.pooling!r}")


def _as_pairs(pairs: Any) -> list[tuple[str, str]]:
    if isinstance(pairs, ParallelCorpus):
        return list(pairs)
    if isinstance(pairs, (str, bytes)) or not isinstance(pairs, Sequence):
        raise TypeError(f"pairs must be a list of ParallelPair (ToyWorld.parallel), of "
                        f"(source, target) strings, or a ParallelCorpus; got "
                        f"{type(pairs).__name__}")
    out = []
    for i, p in enumerate(pairs):
        if hasattr(p, "src") and hasattr(p, "tgt"):
            out.append((p.src.text, p.tgt.text))
        elif isinstance(p, (tuple, list)) and len(p) == 2 and all(isinstance(s, str) for s in p):
            out.append((p[0], p[1]))
        else:
            raise TypeError(f"pairs[{i}] must be a ParallelPair or a (source, target) pair of "
                            f"strings, got {p!r}")
        if not out[-1][0].strip() or not out[-1][1].strip():
            raise ValueError(f"pairs[{i}] has an empty sentence")
    if len(out) < 2:
        raise ValueError(f"pairs has {len(out)} pair(s); contrastive alignment needs at least 2")
    return out


class ContrastiveAlignment(Regularizer):
    """Auxiliary translation-ranking InfoNCE on parallel pairs (see the module docstring).

    Args:
        pairs: ``ToyWorld.parallel(...)`` pairs, ``(source, target)`` strings or a
            :class:`~xtutor.data.corpora.ParallelCorpus`.
        config: :class:`ContrastiveConfig`.
    """

    name = "contrastive"
    supports_tokens = True  # its loss reads the parallel pairs, never the task's batch

    def __init__(self, pairs: Any, config: ContrastiveConfig | None = None) -> None:
        self.config = config or ContrastiveConfig()
        self.pairs = _as_pairs(pairs)
        self._items: list[dict[str, torch.Tensor]] = []
        self._pad = 0

    def setup(self, tokenizer: Any, device: torch.device) -> None:
        texts = [s for s, _ in self.pairs] + [t for _, t in self.pairs]
        enc = tokenizer(texts, truncation=True, max_length=self.config.max_length)
        self._items = tokenized_items(enc, len(texts))
        if tokenizer.pad_token_id is None:
            raise ValueError("the tokenizer has no pad token; set tokenizer.pad_token first")
        self._pad = tokenizer.pad_token_id

    def loss(self, ctx: StepContext) -> torch.Tensor:
        if not self._items:
            raise RuntimeError("ContrastiveAlignment.setup(tokenizer, device) was not called")
        n = len(self.pairs)
        b = min(self.config.batch_size, n)
        idx = torch.randperm(n, generator=ctx.generator)[:b].tolist()
        rows = [self._items[i] for i in idx] + [self._items[n + i] for i in idx]
        batch = collate_items(rows, self._pad, ctx.device)
        enc = base_encoder(ctx.classifier)
        h = encoder_states(enc, batch, self.config.layer)
        loss = pooled_info_nce(h, batch["attention_mask"], b, pooling=self.config.pooling,
                               temperature=self.config.temperature, margin=self.config.margin,
                               bidirectional=self.config.bidirectional)
        return self.config.weight * loss

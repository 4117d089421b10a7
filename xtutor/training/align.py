"""Contrastive cross-lingual alignment of an encoder: any weighted mix of

- ``sentence``: translation-ranking InfoNCE on parallel sentence pairs
  (:func:`xtutor.losses.info_nce`, in-batch negatives, optional LaBSE margin);
- ``word``: word-level contrastive alignment on the gold word links of the same pairs
  (:func:`xtutor.losses.word_alignment_loss`, Wu & Dredze 2020);
- ``clip``: CLIP-style text-image InfoNCE on (caption, image) pairs
  (:func:`xtutor.losses.clip_loss`); captions of several languages, each paired only with
  images, make images the *pivot* between languages that never saw parallel text;
- ``drift``: the L2 distance to the starting weights (:class:`xtutor.losses.DriftRegularizer`).

The loss of a step is ``sum_k weight_k * L_k``. The sentence and CLIP objectives read the same
pooled sentence vectors (``pooling`` over ``layer``) that :func:`xtutor.encode.encode` returns,
so what is trained is what retrieval measures; the word objective reads the word states of the
same layer. No MLM term is used. The encoder is a copy: the model passed in is never changed.

Example:
    >>> from xtutor.toyworld import ToyWorld, WorldConfig
    >>> from xtutor.models import toy_encoder
    >>> w = ToyWorld(WorldConfig(n_languages=2))
    >>> m, t = toy_encoder(w, layers=1, hidden=16)
    >>> res = align(m, t, pairs=w.parallel("L0", "L1", 20),
    ...             config=AlignConfig(steps=3, batch_size=8), show_progress=False)
    >>> sorted(res.losses), len(res.losses["total"])
    (['sentence', 'total'], 3)
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from xtutor.encode import Pooling, base_encoder, pool
from xtutor.losses import (
    CLIPLoss,
    DriftRegularizer,
    ImageProjector,
    info_nce,
    word_alignment_loss,
    word_states,
)
from xtutor.losses.word_alignment import Negatives, WordPooling
from xtutor.reproducibility import set_seed
from xtutor.toyworld import ParallelPair
from xtutor.training.loop import run_steps

_INPUT_KEYS = ("input_ids", "token_type_ids", "attention_mask")


@dataclass(frozen=True)
class AlignConfig:
    """Settings of :func:`align`.

    Weights: ``sentence_weight`` and ``clip_weight`` default to ``None``, meaning 1.0 when their
    data (``pairs`` / ``images``) is given and 0 otherwise; ``word_weight`` and
    ``drift_weight`` default to 0. A positive weight whose data is missing is an error.

    Attributes:
        steps, batch_size, lr, warmup, weight_decay, max_grad_norm: optimisation (AdamW with
            linear warm-up and decay). ``batch_size`` pairs (and, for ``clip``, as many
            caption-image pairs) per step; in-batch negatives, so larger is harder.
        temperature, margin, bidirectional: sentence InfoNCE.
        word_temperature, word_negatives, word_pooling: word alignment (``word_pooling``
            ``"first"`` subword or ``"mean"`` over subwords).
        clip_temperature, learn_clip_temperature: CLIP loss (learnable like CLIP if true).
        pooling, layer: which sentence vectors are aligned (as in :func:`xtutor.encode.encode`;
            word states come from the same layer).
        max_length: truncation length in tokens.
        seed: seeds batching, the image projector and dropout.
    """

    steps: int = 200
    batch_size: int = 32
    lr: float = 2e-4
    warmup: int = 10
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    temperature: float = 0.05
    margin: float = 0.0
    bidirectional: bool = True
    word_temperature: float = 0.1
    word_negatives: Negatives = "batch"
    word_pooling: WordPooling = "first"
    clip_temperature: float = 0.07
    learn_clip_temperature: bool = False
    sentence_weight: float | None = None
    word_weight: float = 0.0
    clip_weight: float | None = None
    drift_weight: float = 0.0
    pooling: Pooling = "mean"
    layer: int = -1
    max_length: int = 64
    seed: int = 0

    def __post_init__(self) -> None:
        if self.steps <= 0 or self.batch_size <= 0:
            raise ValueError(f"AlignConfig: steps and batch_size must be positive (got "
                             f"{self.steps}, {self.batch_size})")
        if self.batch_size < 2:
            raise ValueError("AlignConfig: batch_size must be >= 2 (in-batch negatives)")
        for name in ("temperature", "word_temperature", "clip_temperature", "lr"):
            if not getattr(self, name) > 0:
                raise ValueError(f"AlignConfig: {name} must be positive, got "
                                 f"{getattr(self, name)}")
        for name in ("sentence_weight", "word_weight", "clip_weight", "drift_weight"):
            v = getattr(self, name)
            if v is not None and not v >= 0:
                raise ValueError(f"AlignConfig: {name} must be >= 0, got {v}")
        if self.margin < 0:
            raise ValueError(f"AlignConfig: margin must be >= 0, got {self.margin}")
        if self.word_negatives not in ("batch", "sentence", "aligned"):
            raise ValueError(f"AlignConfig: word_negatives must be 'batch', 'sentence' or "
                             f"'aligned', got {self.word_negatives!r}")
        if self.word_pooling not in ("first", "mean"):
            raise ValueError(f"AlignConfig: word_pooling must be 'first' or 'mean', got "
                             f"{self.word_pooling!r}")
        if self.pooling not in ("mean", "cls"):
            raise ValueError(f"AlignConfig: pooling must be 'mean' or 'cls', got "
                             f"{self.pooling!r}")
        if self.max_length < 4:
            raise ValueError(f"AlignConfig: max_length must be >= 4, got {self.max_length}")

    def weights(self, has_pairs: bool, has_images: bool) -> dict[str, float]:
        """The resolved weight of each objective given which data is present.

        Example:
            >>> AlignConfig(word_weight=0.5).weights(has_pairs=True, has_images=False)
            {'sentence': 1.0, 'word': 0.5, 'clip': 0.0, 'drift': 0.0}
        """
        def resolve(w: float | None, present: bool) -> float:
            return (1.0 if present else 0.0) if w is None else float(w)

        return {"sentence": resolve(self.sentence_weight, has_pairs),
                "word": float(self.word_weight),
                "clip": resolve(self.clip_weight, has_images),
                "drift": float(self.drift_weight)}


@dataclass
class AlignResult:
    """What :func:`align` returns.

    Attributes:
        model: the aligned bare encoder (a copy; ``xtutor.encode.encode`` accepts it).
        losses: per step, ``"total"`` (the weighted sum that was optimised) and the unweighted
            value of each active objective (``"sentence"``, ``"word"``, ``"clip"``,
            ``"drift"``).
        projector: the trained :class:`~xtutor.losses.ImageProjector` (``clip`` only).
        clip_temperature: the CLIP temperature at the end (``clip`` only).
        weights: the resolved objective weights.
        seconds: wall-clock training time.
    """

    model: PreTrainedModel
    losses: dict[str, list[float]]
    projector: ImageProjector | None = None
    clip_temperature: float | None = None
    weights: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


def _check_pairs(pairs: Sequence[ParallelPair]) -> None:
    if isinstance(pairs, (str, bytes)) or not isinstance(pairs, Sequence):
        raise TypeError(f"pairs must be a sequence of ParallelPair, got {type(pairs).__name__}")
    if len(pairs) < 2:
        raise ValueError(f"pairs has {len(pairs)} pair(s); contrastive alignment needs at least "
                         f"2 (the other pairs of a batch are the negatives)")
    for i, p in enumerate(pairs):
        if not (hasattr(p, "src") and hasattr(p, "tgt") and hasattr(p, "alignment")):
            raise TypeError(f"pairs[{i}] is {type(p).__name__}, expected a ParallelPair "
                            f"(.src, .tgt, .alignment)")
        if not p.src.tokens or not p.tgt.tokens:
            raise ValueError(f"pairs[{i}] has an empty sentence")


def _check_images(images: tuple[Sequence[str], np.ndarray]) -> tuple[list[str], torch.Tensor]:
    if not (isinstance(images, tuple) and len(images) == 2):
        raise TypeError("images must be a tuple (texts, features): a list of captions and an "
                        "array (N, image_dim) with one image per caption")
    texts, feats = images
    if isinstance(texts, str):
        raise TypeError("images[0] must be a list of captions, not a single string")
    x = torch.as_tensor(np.asarray(feats), dtype=torch.float32)
    if x.ndim != 2:
        raise ValueError(f"images[1] must be 2-D (N, image_dim), got shape {tuple(x.shape)}")
    if len(texts) != x.shape[0]:
        raise ValueError(f"images has {len(texts)} captions but {x.shape[0]} image rows; "
                         f"expected one image per caption")
    if len(texts) < 2:
        raise ValueError(f"images has {len(texts)} caption-image pair(s); the CLIP loss needs "
                         f"at least 2")
    if not torch.isfinite(x).all():
        raise ValueError("images[1] contains NaN or infinite values")
    return list(texts), x


def _items(enc: Any, n: int) -> list[dict[str, torch.Tensor]]:
    keys = [k for k in _INPUT_KEYS if k in enc]
    return [{k: torch.tensor(enc[k][i]) for k in keys} for i in range(n)]


def _collate(items: list[dict[str, torch.Tensor]], pad_id: int, device: torch.device
             ) -> dict[str, torch.Tensor]:
    out = {}
    for k in items[0]:
        pv = pad_id if k == "input_ids" else 0
        out[k] = torch.nn.utils.rnn.pad_sequence([x[k] for x in items], batch_first=True,
                                                 padding_value=pv).to(device)
    return out


def encoder_states(enc: PreTrainedModel, batch: dict[str, torch.Tensor], layer: int = -1
                   ) -> torch.Tensor:
    """Token states ``(B, T, D)`` of a bare encoder at ``layer`` (``-1``: the last).

    Example:
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> from xtutor.models import toy_encoder
        >>> m, _ = toy_encoder(ToyWorld(WorldConfig(n_languages=1)), layers=1, hidden=16)
        >>> ids = torch.tensor([[2, 5, 3]])
        >>> encoder_states(base_encoder(m), {"input_ids": ids}, layer=0).shape
        torch.Size([1, 3, 16])
    """
    out = enc(**batch, output_hidden_states=layer != -1)
    return out.last_hidden_state if layer == -1 else out.hidden_states[layer]


def pooled_info_nce(hidden: torch.Tensor, attention_mask: torch.Tensor, n_pairs: int, *,
                    pooling: Pooling = "mean", temperature: float = 0.05, margin: float = 0.0,
                    bidirectional: bool = True) -> torch.Tensor:
    """The sentence objective of :func:`align`: rows ``i`` and ``n_pairs + i`` of ``hidden``
    are a translation pair; their pooled vectors are ranked with
    :func:`xtutor.losses.info_nce` (in-batch negatives).

    Example:
        >>> h = torch.eye(2).repeat(2, 1).unsqueeze(1)  # (4, 1, 2): rows 0-1 pair with 2-3
        >>> round(float(pooled_info_nce(h, torch.ones(4, 1), 2, temperature=1.0)), 4)
        0.3133
    """
    if hidden.shape[0] != 2 * n_pairs:
        raise ValueError(f"hidden has {hidden.shape[0]} rows, expected 2 * n_pairs = "
                         f"{2 * n_pairs} (sources first, then their translations)")
    v = pool(hidden, attention_mask, pooling)
    return info_nce(v[:n_pairs], v[n_pairs:], temperature=temperature, margin=margin,
                    bidirectional=bidirectional)


def tokenized_items(enc: Any, n: int) -> list[dict[str, torch.Tensor]]:
    """Unpadded per-row tensors from a tokenizer output (``input_ids``, ``attention_mask``...)."""
    return _items(enc, n)


def collate_items(items: list[dict[str, torch.Tensor]], pad_id: int, device: torch.device
                  ) -> dict[str, torch.Tensor]:
    """Pad tokenised rows into a batch on ``device``."""
    return _collate(items, pad_id, device)


class _Batches:
    """Seeded batches without repeats inside a batch (a fresh permutation when one runs out)."""

    def __init__(self, n: int, batch_size: int, generator: torch.Generator) -> None:
        self.n, self.size, self.g = n, min(batch_size, n), generator
        self.perm: list[int] = []

    def next(self) -> list[int]:
        if len(self.perm) < self.size:
            self.perm = torch.randperm(self.n, generator=self.g).tolist()
        idx, self.perm = self.perm[:self.size], self.perm[self.size:]
        return idx


def align(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, *,
          pairs: Sequence[ParallelPair] | None = None,
          images: tuple[list[str], np.ndarray] | None = None,
          config: AlignConfig | None = None, show_progress: bool = True) -> AlignResult:
    """Align a copy of ``model``'s encoder with a weighted mix of contrastive objectives.

    Seeds Python, NumPy and torch with ``config.seed``
    (:func:`~xtutor.reproducibility.set_seed`) and leaves torch's deterministic mode as it is:
    for bit-repeatable GPU runs, call it inside ``with xtutor.reproducibility.deterministic():``.

    Args:
        model: any Hugging Face encoder or a task model around one (``BertForMaskedLM``,
            ``BertModel``, ``XLMRobertaModel``, ...); only its bare encoder is copied and
            trained.
        tokenizer: its fast tokenizer (word alignment needs ``word_ids()``).
        pairs: parallel pairs (``ToyWorld.parallel``) for the ``sentence`` and ``word``
            objectives; ``pair.alignment`` holds word links ``(src_word, tgt_word)``.
        images: ``(captions, features)`` for the ``clip`` objective: caption ``i`` (any
            language) describes image row ``i``; features are projected to the encoder width by
            a new :class:`~xtutor.losses.ImageProjector` trained alongside.
        config: :class:`AlignConfig`.

    Returns:
        :class:`AlignResult` with the aligned encoder and the loss curves.

    Raises:
        ValueError: no objective is active, an active objective lacks its data, data is given
            that no objective uses, or the data is empty or malformed.
        xtutor.training.loop.NonFiniteLossError: the loss became NaN or infinite.
    """
    config = config or AlignConfig()
    t0 = time.time()
    weights = config.weights(pairs is not None, images is not None)
    if pairs is None and (weights["sentence"] > 0 or weights["word"] > 0):
        raise ValueError(f"sentence_weight={weights['sentence']} and word_weight="
                         f"{weights['word']} need parallel pairs, but pairs is None")
    if images is None and weights["clip"] > 0:
        raise ValueError(f"clip_weight={weights['clip']} needs (captions, images), but images "
                         f"is None")
    if pairs is not None and weights["sentence"] == 0 and weights["word"] == 0:
        raise ValueError("pairs were given but sentence_weight and word_weight are both 0: no "
                         "objective would use them")
    if images is not None and weights["clip"] == 0:
        raise ValueError("images were given but clip_weight is 0: no objective would use them")
    if weights["sentence"] + weights["word"] + weights["clip"] == 0:
        raise ValueError("no alignment objective is active: give pairs (sentence/word) or "
                         "images (clip) with a positive weight; drift alone has nothing to do")
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("align needs a fast tokenizer (PreTrainedTokenizerFast)")

    g = set_seed(config.seed)
    enc = copy.deepcopy(base_encoder(model))
    device = next(enc.parameters()).device
    n_layers = enc.config.num_hidden_layers + 1
    if not -n_layers <= config.layer < n_layers:
        raise ValueError(f"layer {config.layer} out of range for a model with {n_layers - 1} "
                         f"layers (valid: {-n_layers}..{n_layers - 1})")
    hidden_size = enc.config.hidden_size
    parts = nn.ModuleDict({"encoder": enc})
    pad = tokenizer.pad_token_id
    if pad is None:
        raise ValueError("the tokenizer has no pad token; set tokenizer.pad_token first")
    tok_kw = {"truncation": True, "max_length": config.max_length}

    pair_items: list[dict[str, torch.Tensor]] = []
    word_ids: list[list[int | None]] = []
    if pairs is not None:
        _check_pairs(pairs)
        words = [list(p.src.tokens) for p in pairs] + [list(p.tgt.tokens) for p in pairs]
        e = tokenizer(words, is_split_into_words=True, **tok_kw)
        pair_items = _items(e, len(words))
        word_ids = [e.word_ids(i) for i in range(len(words))]
        pair_batches = _Batches(len(pairs), config.batch_size, g)
    n_pairs = 0 if pairs is None else len(pairs)

    clip_mod: CLIPLoss | None = None
    projector: ImageProjector | None = None
    if images is not None:
        captions, feats = _check_images(images)
        e = tokenizer(captions, **tok_kw)
        caption_items = _items(e, len(captions))
        torch.manual_seed(config.seed)
        projector = ImageProjector(feats.shape[1], hidden_size).to(device)
        clip_mod = CLIPLoss(config.clip_temperature, learnable=config.learn_clip_temperature)
        clip_mod = clip_mod.to(device)
        parts["projector"], parts["clip"] = projector, clip_mod
        feats = feats.to(device)
        image_batches = _Batches(len(captions), config.batch_size, g)

    drift = DriftRegularizer(enc) if weights["drift"] > 0 else None
    history: dict[str, list[float]] = {k: [] for k, w in weights.items() if w > 0}

    def states(batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return encoder_states(enc, batch, config.layer)

    def step_loss(_: int) -> torch.Tensor:
        total = torch.zeros((), device=device)
        if n_pairs:
            idx = pair_batches.next()
            rows = idx + [n_pairs + i for i in idx]
            batch = _collate([pair_items[r] for r in rows], pad, device)
            h = states(batch)
            b = len(idx)
            if weights["sentence"] > 0:
                loss = pooled_info_nce(h, batch["attention_mask"], b, pooling=config.pooling,
                                       temperature=config.temperature, margin=config.margin,
                                       bidirectional=config.bidirectional)
                history["sentence"].append(float(loss.detach()))
                total = total + weights["sentence"] * loss
            if weights["word"] > 0:
                ws, wm = word_states(h, [word_ids[r] for r in rows], config.word_pooling)
                links = [(k, i, j) for k, p in enumerate(idx) for i, j in pairs[p].alignment
                         if i < wm.shape[1] and j < wm.shape[1] and wm[k, i] and wm[b + k, j]]
                if links:
                    loss = word_alignment_loss(
                        ws[:b], ws[b:], links, src_mask=wm[:b], tgt_mask=wm[b:],
                        temperature=config.word_temperature, negatives=config.word_negatives,
                        bidirectional=config.bidirectional)
                    history["word"].append(float(loss.detach()))
                    total = total + weights["word"] * loss
                else:  # every link truncated away in this batch
                    history["word"].append(float("nan"))
        if clip_mod is not None and projector is not None:
            idx = image_batches.next()
            batch = _collate([caption_items[i] for i in idx], pad, device)
            v = pool(states(batch), batch["attention_mask"], config.pooling)
            loss = clip_mod(v, projector(feats[idx]))
            history["clip"].append(float(loss.detach()))
            total = total + weights["clip"] * loss
        if drift is not None:
            loss = drift(enc)
            history["drift"].append(float(loss.detach()))
            total = total + weights["drift"] * loss
        return total

    active = "+".join(k for k, w in weights.items() if w > 0)
    history["total"] = run_steps(
        parts, step_loss, config.steps, lr=config.lr, warmup=config.warmup,
        weight_decay=config.weight_decay, max_grad_norm=config.max_grad_norm,
        desc=f"align ({active})", show_progress=show_progress)
    return AlignResult(model=enc, losses=history, projector=projector,
                       clip_temperature=None if clip_mod is None else clip_mod.temperature,
                       weights=weights, seconds=time.time() - t0)

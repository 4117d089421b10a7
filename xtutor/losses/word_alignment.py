"""Word-level contrastive alignment (in the style of Wu & Dredze 2020).

Wu and Dredze ("Do explicit alignments robustly improve multilingual encoders?", EMNLP 2020)
align the contextual states of word pairs that a word aligner links in parallel sentences, with
a contrastive objective: a linked target word must be closer to its source word than the other
target words are. Here, for a batch of source states ``h^s`` ``(B, Ts, D)``, target states
``h^t`` ``(B, Tt, D)`` and links ``k = (b, i, j)`` (source position ``i`` of sentence ``b`` is
aligned to target position ``j`` of the same sentence)::

    L_k = -log( exp(cos(h^s_bi, h^t_bj) / tau) / sum_{c in C_k} exp(cos(h^s_bi, h^t_c) / tau) )
    L   = mean_k L_k        (bidirectional: mean of this and the target->source loss)

The candidate set ``C_k`` always holds the positive ``(b, j)`` and, by ``negatives``:

- ``"batch"``: every real target position of every sentence in the batch (``tgt_mask``);
- ``"sentence"``: the real target positions of sentence ``b`` only;
- ``"aligned"``: the target positions that take part in some link of the batch (the in-batch
  aligned words of Wu & Dredze).

Other targets linked to the same source position (one-to-many alignments) are removed from
``C_k``: they are not negatives. Positions can be tokens (first subword) or words (pooled with
:func:`word_states`); :func:`word_positions`, :func:`align_tokens` and :func:`word_states` map
word-level alignments to subword positions through a fast tokenizer's ``word_ids()``.

Example:
    >>> import torch
    >>> h = torch.eye(2)[None]  # one sentence, two orthogonal token states on both sides
    >>> round(float(word_alignment_loss(h, h, [(0, 0, 0), (0, 1, 1)], temperature=1.0)), 4)
    0.3133
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

from xtutor.losses.infonce import check_temperature

Negatives = Literal["batch", "sentence", "aligned"]
WordPooling = Literal["first", "mean"]
Link = tuple[int, int, int]
_NEGATIVES = ("batch", "sentence", "aligned")


def _check_states(states: torch.Tensor, name: str) -> None:
    if not isinstance(states, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(states).__name__}")
    if states.ndim != 3:
        raise ValueError(f"{name} must be 3-D (B, T, D) token states, got shape "
                         f"{tuple(states.shape)}")
    if states.shape[0] == 0 or states.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(states.shape)}); expected (B, T, D) "
                         f"with B >= 1 and T >= 1")


def _mask(mask: torch.Tensor | None, states: torch.Tensor, name: str) -> torch.Tensor:
    if mask is None:
        return torch.ones(states.shape[:2], dtype=torch.bool, device=states.device)
    if tuple(mask.shape) != tuple(states.shape[:2]):
        raise ValueError(f"{name} has shape {tuple(mask.shape)}; expected (B, T) = "
                         f"{tuple(states.shape[:2])} to match the states")
    return mask.to(device=states.device, dtype=torch.bool)


def _links(links: Sequence[Link] | torch.Tensor, src: torch.Tensor, tgt: torch.Tensor
           ) -> torch.Tensor:
    t = links if isinstance(links, torch.Tensor) else torch.tensor(list(links), dtype=torch.long)
    if t.numel() == 0:
        raise ValueError("links is empty: the word alignment loss needs at least one aligned "
                         "(batch, src_pos, tgt_pos) triple")
    if t.ndim != 2 or t.shape[1] != 3:
        raise ValueError(f"links must be (batch, src_pos, tgt_pos) triples, shape (K, 3); got "
                         f"shape {tuple(t.shape)}")
    t = t.long().to(src.device)
    limits = [(0, src.shape[0], "batch index"), (1, src.shape[1], "src position"),
              (2, tgt.shape[1], "tgt position")]
    for col, high, what in limits:
        bad = (t[:, col] < 0) | (t[:, col] >= high)
        if bad.any():
            k = int(bad.nonzero()[0])
            raise ValueError(f"links[{k}] = {tuple(t[k].tolist())}: {what} out of range "
                             f"[0, {high})")
    return t


def _directional(q_states: torch.Tensor, c_states: torch.Tensor, c_mask: torch.Tensor,
                 links: torch.Tensor, temperature: float | torch.Tensor, negatives: str,
                 normalize: bool) -> torch.Tensor:
    """One direction: queries at ``links[:, :2]``, positives at ``links[:, [0, 2]]``."""
    b, qi, cj = links[:, 0], links[:, 1], links[:, 2]
    if not c_mask[b, cj].all():
        k = int((~c_mask[b, cj]).nonzero()[0])
        raise ValueError(f"links[{k}] points at a masked (padding or special) position: "
                         f"{tuple(links[k].tolist())}")
    n_batch, n_pos = c_mask.shape
    flat = torch.full((n_batch, n_pos), -1, dtype=torch.long, device=c_mask.device)
    flat[c_mask] = torch.arange(int(c_mask.sum()), device=c_mask.device)
    cands = c_states[c_mask]  # (N, D)
    cand_batch = torch.arange(n_batch, device=c_mask.device)[:, None].expand(n_batch, n_pos)
    cand_batch = cand_batch[c_mask]  # (N,)
    pos = flat[b, cj]  # (K,)
    q = q_states[b, qi]  # (K, D)
    if normalize:
        q, cands = F.normalize(q, dim=-1), F.normalize(cands, dim=-1)
    logits = q @ cands.T / temperature  # (K, N)
    n_links, n_cands = logits.shape
    allowed = torch.ones(n_links, n_cands, dtype=torch.bool, device=logits.device)
    if negatives == "sentence":
        allowed &= cand_batch[None, :] == b[:, None]
    elif negatives == "aligned":
        used = torch.zeros(n_cands, dtype=torch.bool, device=logits.device)
        used[pos] = True
        allowed &= used[None, :]
    # other gold targets of the same query are not negatives
    key = b * q_states.shape[1] + qi
    same_query = (key[:, None] == key[None, :]).to(logits.dtype)  # (K, K)
    onehot = F.one_hot(pos, n_cands).to(logits.dtype)  # (K, N)
    gold = (same_query @ onehot) > 0
    allowed &= ~gold
    allowed[torch.arange(n_links, device=logits.device), pos] = True
    logits = logits.masked_fill(~allowed, float("-inf"))
    return F.cross_entropy(logits, pos)


def word_alignment_loss(src_states: torch.Tensor, tgt_states: torch.Tensor,
                        links: Sequence[Link] | torch.Tensor, *,
                        src_mask: torch.Tensor | None = None,
                        tgt_mask: torch.Tensor | None = None,
                        temperature: float | torch.Tensor = 0.1, negatives: Negatives = "batch",
                        bidirectional: bool = True, normalize: bool = True) -> torch.Tensor:
    """Contrastive loss over aligned positions (formula in the module docstring).

    Args:
        src_states: ``(B, Ts, D)`` source token (or word) states.
        tgt_states: ``(B, Tt, D)`` target token (or word) states; same ``B`` and ``D``.
        links: ``(batch, src_pos, tgt_pos)`` triples, a list or a ``(K, 3)`` long tensor.
        src_mask, tgt_mask: ``(B, T)``, true where a position may serve as a candidate (real
            tokens; exclude padding and special tokens). Default: every position.
        temperature: ``tau > 0``.
        negatives: ``"batch"``, ``"sentence"`` or ``"aligned"`` (see the module docstring).
        bidirectional: average with the target->source loss (candidates from ``src_mask``).
        normalize: cosine (``True``) or raw dot-product similarity.

    Example:
        >>> import torch
        >>> h = torch.eye(3)[None]
        >>> links = [(0, 0, 0), (0, 1, 1)]
        >>> # with "aligned" negatives the unaligned third token is not a candidate
        >>> round(float(word_alignment_loss(h, h, links, temperature=1.0,
        ...                                 negatives="aligned")), 4)
        0.3133
        >>> round(float(word_alignment_loss(h, h, links, temperature=1.0, bidirectional=False)),
        ...       4)  # log(1 + 2 / e)
        0.5514
    """
    _check_states(src_states, "src_states")
    _check_states(tgt_states, "tgt_states")
    if src_states.shape[0] != tgt_states.shape[0] or src_states.shape[2] != tgt_states.shape[2]:
        raise ValueError(f"src_states {tuple(src_states.shape)} and tgt_states "
                         f"{tuple(tgt_states.shape)} must agree in batch size B and width D "
                         f"(shapes (B, Ts, D) and (B, Tt, D))")
    if negatives not in _NEGATIVES:
        raise ValueError(f"negatives must be one of {list(_NEGATIVES)}, got {negatives!r}")
    check_temperature(temperature)
    t = _links(links, src_states, tgt_states)
    sm = _mask(src_mask, src_states, "src_mask")
    tm = _mask(tgt_mask, tgt_states, "tgt_mask")
    loss = _directional(src_states, tgt_states, tm, t, temperature, negatives, normalize)
    if bidirectional:
        rev = t[:, [0, 2, 1]]
        back = _directional(tgt_states, src_states, sm, rev, temperature, negatives, normalize)
        loss = (loss + back) / 2
    return loss


class WordAlignmentLoss(nn.Module):
    """:func:`word_alignment_loss` as a module with fixed settings.

    Example:
        >>> import torch
        >>> h = torch.eye(2)[None]
        >>> round(float(WordAlignmentLoss(temperature=1.0)(h, h, [(0, 0, 0), (0, 1, 1)])), 4)
        0.3133
    """

    def __init__(self, temperature: float = 0.1, negatives: Negatives = "batch",
                 bidirectional: bool = True, normalize: bool = True) -> None:
        super().__init__()
        check_temperature(temperature)
        if negatives not in _NEGATIVES:
            raise ValueError(f"negatives must be one of {list(_NEGATIVES)}, got {negatives!r}")
        self.temperature = float(temperature)
        self.negatives: Negatives = negatives
        self.bidirectional = bidirectional
        self.normalize = normalize

    def forward(self, src_states: torch.Tensor, tgt_states: torch.Tensor,
                links: Sequence[Link] | torch.Tensor, src_mask: torch.Tensor | None = None,
                tgt_mask: torch.Tensor | None = None) -> torch.Tensor:
        return word_alignment_loss(src_states, tgt_states, links, src_mask=src_mask,
                                   tgt_mask=tgt_mask, temperature=self.temperature,
                                   negatives=self.negatives, bidirectional=self.bidirectional,
                                   normalize=self.normalize)

    def extra_repr(self) -> str:
        return (f"temperature={self.temperature}, negatives={self.negatives!r}, "
                f"bidirectional={self.bidirectional}")


# ----------------------------------------------------------------- words <-> subword tokens
def word_positions(word_ids: Sequence[int | None]) -> dict[int, list[int]]:
    """Token positions of each word, from a fast tokenizer's ``encoding.word_ids(i)``.

    Special tokens (word id ``None``) belong to no word; words cut off by truncation are absent.

    Example:
        >>> word_positions([None, 0, 1, 1, 2, None])
        {0: [1], 1: [2, 3], 2: [4]}
    """
    out: dict[int, list[int]] = {}
    for pos, w in enumerate(word_ids):
        if w is not None:
            out.setdefault(int(w), []).append(pos)
    return out


def align_tokens(alignment: Iterable[tuple[int, int]], src_word_ids: Sequence[int | None],
                 tgt_word_ids: Sequence[int | None]) -> list[tuple[int, int]]:
    """Map word links ``(src_word, tgt_word)`` to first-subword token links.

    Links whose word lost all its tokens to truncation are dropped.

    Example:
        >>> align_tokens([(0, 1), (1, 0), (2, 2)], [None, 0, 1, 1, None], [None, 0, 0, 1, None])
        [(1, 3), (2, 1)]
    """
    sp, tp = word_positions(src_word_ids), word_positions(tgt_word_ids)
    return [(sp[i][0], tp[j][0]) for i, j in alignment if i in sp and j in tp]


def word_states(hidden: torch.Tensor, word_ids: Sequence[Sequence[int | None]],
                mode: WordPooling = "first") -> tuple[torch.Tensor, torch.Tensor]:
    """Word states ``(B, W, D)`` and a word mask ``(B, W)`` from token states ``(B, T, D)``.

    ``word_ids[b]`` is ``encoding.word_ids(b)`` (padded rows may be shorter than ``T``). Word
    ``w`` of sentence ``b`` is its first subword's state (``"first"``) or the mean over its
    subwords (``"mean"``); ``W`` is the largest word count in the batch and the mask is false
    for words a sentence does not have (or lost to truncation).

    Example:
        >>> h = torch.tensor([[[0.0], [1.0], [3.0], [5.0], [0.0]]])
        >>> states, mask = word_states(h, [[None, 0, 1, 1, None]], "mean")
        >>> states.squeeze(-1).tolist(), mask.tolist()
        ([[1.0, 4.0]], [[True, True]])
        >>> word_states(h, [[None, 0, 1, 1, None]], "first")[0].squeeze(-1).tolist()
        [[1.0, 3.0]]
    """
    _check_states(hidden, "hidden")
    if mode not in ("first", "mean"):
        raise ValueError(f"mode must be 'first' or 'mean', got {mode!r}")
    if len(word_ids) != hidden.shape[0]:
        raise ValueError(f"word_ids has {len(word_ids)} rows for a batch of "
                         f"{hidden.shape[0]} (hidden shape {tuple(hidden.shape)})")
    groups = [word_positions(w) for w in word_ids]
    n_words = max([max(g) + 1 for g in groups if g] + [1])
    n_batch, n_tok = hidden.shape[:2]
    weights = torch.zeros(n_batch, n_words, n_tok, dtype=hidden.dtype)
    mask = torch.zeros(n_batch, n_words, dtype=torch.bool)
    for b, g in enumerate(groups):
        for w, positions in g.items():
            if positions[-1] >= n_tok:
                raise ValueError(f"word_ids[{b}] has a token at position {positions[-1]} but "
                                 f"hidden has only {n_tok} positions")
            mask[b, w] = True
            if mode == "first":
                weights[b, w, positions[0]] = 1.0
            else:
                weights[b, w, positions] = 1.0 / len(positions)
    return weights.to(hidden.device) @ hidden, mask.to(hidden.device)

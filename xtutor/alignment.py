"""Measuring cross-lingual alignment: parallel-sentence retrieval.

Given embeddings of N sentences in a query language and their N translations in a candidate
language (row i translates row i), retrieval accuracy is the fraction of queries whose best
candidate is their own translation. Three scores are offered:

- ``cosine``: cos(x, y);
- ``csls`` (cross-domain similarity local scaling, Lample et al. 2018):
  2 cos(x, y) - r_C(x) - r_Q(y), where r_C(x) is the mean cosine of x with its k nearest
  candidates and r_Q(y) the mean cosine of y with its k nearest queries. It penalises "hubs",
  vectors that are near everything;
- ``margin`` (ratio margin, Artetxe & Schwenk 2019): cos(x, y) / ((r_C(x) + r_Q(y)) / 2).

Example:
    >>> import torch
    >>> x = torch.eye(3)
    >>> retrieval_accuracy(x, x + 0.01)
    1.0
"""

from __future__ import annotations

from typing import Literal

import torch

Scoring = Literal["cosine", "csls", "margin"]


def _check_pair(queries: torch.Tensor, candidates: torch.Tensor) -> None:
    if queries.ndim != 2 or candidates.ndim != 2:
        raise ValueError(f"queries and candidates must be 2-D (N, D); got shapes "
                         f"{tuple(queries.shape)} and {tuple(candidates.shape)}")
    if queries.shape[0] == 0:
        raise ValueError("queries is empty")
    if queries.shape != candidates.shape:
        raise ValueError(f"queries {tuple(queries.shape)} and candidates "
                         f"{tuple(candidates.shape)} must have the same shape (row i of one "
                         f"translates row i of the other)")


def similarity(queries: torch.Tensor, candidates: torch.Tensor, scoring: Scoring = "cosine",
               k: int = 10) -> torch.Tensor:
    """The ``(Nq, Nc)`` score matrix between queries and candidates under ``scoring``.

    Example:
        >>> import torch
        >>> similarity(torch.eye(2), torch.eye(2)).tolist()
        [[1.0, 0.0], [0.0, 1.0]]
    """
    q = torch.nn.functional.normalize(queries.float(), dim=-1)
    c = torch.nn.functional.normalize(candidates.float(), dim=-1)
    cos = q @ c.T
    if scoring == "cosine":
        return cos
    if scoring not in ("csls", "margin"):
        raise ValueError(f"scoring must be 'cosine', 'csls' or 'margin', got {scoring!r}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    kq = min(k, cos.shape[1])
    kc = min(k, cos.shape[0])
    r_c = cos.topk(kq, dim=1).values.mean(1)  # each query's mean similarity to candidates
    r_q = cos.topk(kc, dim=0).values.mean(0)  # each candidate's mean similarity to queries
    if scoring == "csls":
        return 2 * cos - r_c[:, None] - r_q[None, :]
    return cos / ((r_c[:, None] + r_q[None, :]) / 2).clamp_min(1e-8)


def retrieval_accuracy(queries: torch.Tensor, candidates: torch.Tensor,
                       scoring: Scoring = "cosine", k: int = 10) -> float:
    """Top-1 accuracy of retrieving row i of ``candidates`` for row i of ``queries``.

    Example:
        >>> import torch
        >>> q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> retrieval_accuracy(q, q.flip(0))
        0.0
    """
    _check_pair(queries, candidates)
    pred = similarity(queries, candidates, scoring, k).argmax(1)
    return float((pred == torch.arange(len(pred))).float().mean())


def retrieval_both_directions(a: torch.Tensor, b: torch.Tensor, scoring: Scoring = "cosine",
                              k: int = 10) -> tuple[float, float]:
    """``(a->b, b->a)`` retrieval accuracies for parallel embeddings ``a`` and ``b``."""
    return retrieval_accuracy(a, b, scoring, k), retrieval_accuracy(b, a, scoring, k)

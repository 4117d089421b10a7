"""From word vectors to word links: SimAlign's three methods, on one cosine matrix or many.

:func:`align_words` / :func:`align_similarity` turn the cosine-similarity matrix between the
words of two sentences into links ``{(i, j)}``; :func:`align_many` does it for a corpus, with
the cosines computed in padded batches (:func:`cosine_matrices`). The word vectors usually come
from :func:`xtutor.word_alignment.word_embeddings`. The methods (``method=``):

``argmax``
    the mutual argmax (SimAlign's "inter"): ``(i, j)`` is a link when ``j`` is the most
    similar target word of ``i`` *and* ``i`` the most similar source word of ``j``. Precise,
    at most one link per word.
``itermax``
    SimAlign's iterative mutual argmax. Start from the ``argmax`` links, then repeat
    ``max_iter - 1`` times (SimAlign's default ``max_iter=2``: one extra round): on the
    similarity ``s = (1 + cos) / 2`` (in ``[0, 1]``), a cell whose row *and* column are both
    already aligned is zeroed and excluded, a cell with exactly one of them aligned is
    discounted to ``0.9 s``, a cell with neither stays ``s``; the mutual argmaxes of that
    matrix are added (so an unaligned word can now link to an already aligned one: one-to-many
    links). A round stops the process when it adds nothing, when every row or every column is
    already aligned, and matrices with 2 or fewer rows or columns get no extra round.
``match``
    a maximum-weight bipartite matching on ``s`` (SimAlign's "mwmf"): ``min(m, n)`` one-to-one
    links maximising total similarity (Hungarian algorithm, ``scipy``).

An optional ``distortion`` multiplies ``s`` by ``1 - ratio * (i / (m - 1) - j / (n - 1)) ** 2``
before any method (SimAlign's distortion, off by default): links far off the diagonal cost.
Zero word vectors (words lost to truncation) take no part and get no link.

Example:
    >>> import torch
    >>> src = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]])
    >>> tgt = torch.tensor([[0.0, 1.0], [1.0, 0.1]])
    >>> sorted(align_words(src, tgt, "argmax"))
    [(0, 1), (1, 0)]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch

Method = Literal["argmax", "itermax", "match"]
Link = tuple[int, int]
METHODS: tuple[str, ...] = ("argmax", "itermax", "match")

#: SimAlign's discount for a cell whose row or column is already aligned (``itermax``).
ITERMAX_ALPHA = 0.9


# ----------------------------------------------------------------- from similarities to links
def _mutual_argmax(s: torch.Tensor) -> torch.Tensor:
    """Boolean ``(m, n)``: cells that are the argmax of their row and of their column."""
    m, n = s.shape
    fwd = torch.zeros(m, n, dtype=torch.bool)
    fwd[torch.arange(m), s.argmax(1)] = True
    bwd = torch.zeros(m, n, dtype=torch.bool)
    bwd[s.argmax(0), torch.arange(n)] = True
    return fwd & bwd


def _itermax(s: torch.Tensor, max_iter: int, alpha: float = ITERMAX_ALPHA) -> torch.Tensor:
    """SimAlign's ``iter_max`` on a non-negative similarity ``s`` (see the module docstring)."""
    inter = _mutual_argmax(s)
    m, n = s.shape
    if min(m, n) <= 2:
        return inter
    for _ in range(max_iter - 1):
        row_free = ~inter.any(1, keepdim=True).expand(m, n)
        col_free = ~inter.any(0, keepdim=True).expand(m, n)
        if not row_free[:, 0].any() or not col_free[0].any():
            break
        weight = (alpha * row_free.to(s.dtype) + alpha * col_free.to(s.dtype)).clamp(0.0, 1.0)
        allowed = row_free | col_free
        new = _mutual_argmax(s * weight) & allowed
        if not (new & ~inter).any():
            break
        inter = inter | new
    return inter


def _max_weight_matching(s: torch.Tensor) -> torch.Tensor:
    try:
        from scipy.optimize import linear_sum_assignment
    except ImportError as e:  # pragma: no cover - scipy comes with most installs
        raise ImportError("method='match' needs scipy (pip install scipy)") from e
    rows, cols = linear_sum_assignment(s.double().numpy(), maximize=True)
    out = torch.zeros(s.shape, dtype=torch.bool)
    out[torch.as_tensor(rows, dtype=torch.long), torch.as_tensor(cols, dtype=torch.long)] = True
    return out


def _distort(s: torch.Tensor, ratio: float) -> torch.Tensor:
    m, n = s.shape
    if ratio == 0.0 or m < 2 or n < 2:
        return s
    pi = torch.arange(m, dtype=s.dtype) / (m - 1)
    pj = torch.arange(n, dtype=s.dtype) / (n - 1)
    return s * (1.0 - ratio * (pi[:, None] - pj[None, :]) ** 2)


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def align_similarity(cos: torch.Tensor, method: Method = "itermax", *, distortion: float = 0.0,
                     max_iter: int = 2) -> set[Link]:
    """Links ``{(i, j)}`` read off a cosine-similarity matrix ``(m, n)`` (values in [-1, 1]).

    The methods work on ``s = (1 + cos) / 2`` as SimAlign does (only ``itermax``'s
    multiplicative discount depends on it); see the module docstring for the rules.

    Example:
        >>> import torch
        >>> cos = torch.tensor([[0.9, 0.1, 0.0], [0.8, 0.2, 0.1], [0.0, 0.1, 0.9]])
        >>> sorted(align_similarity(cos, "argmax"))
        [(0, 0), (2, 2)]
        >>> sorted(align_similarity(cos, "itermax"))
        [(0, 0), (1, 0), (2, 2)]
        >>> sorted(align_similarity(cos, "match"))
        [(0, 0), (1, 1), (2, 2)]
    """
    _check_method(method)
    if not isinstance(cos, torch.Tensor) or cos.ndim != 2:
        raise ValueError(f"cos must be a 2-D tensor (m, n), got "
                         f"{getattr(cos, 'shape', type(cos).__name__)}")
    if cos.numel() == 0:
        raise ValueError(f"cos has shape {tuple(cos.shape)}: both sentences need words")
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter}")
    if not 0.0 <= distortion <= 1.0:
        raise ValueError(f"distortion must be in [0, 1], got {distortion}")
    cos = cos.detach().float().cpu()
    if not torch.isfinite(cos).all() or cos.min() < -1.001 or cos.max() > 1.001:
        raise ValueError("cos must hold finite cosine similarities in [-1, 1]")
    s = _distort((1.0 + cos.clamp(-1.0, 1.0)) / 2.0, distortion)
    if method == "argmax":
        links = _mutual_argmax(s)
    elif method == "itermax":
        links = _itermax(s, max_iter)
    else:
        links = _max_weight_matching(s)
    return {(int(i), int(j)) for i, j in links.nonzero().tolist()}


def cosine_matrix(src_vecs: torch.Tensor, tgt_vecs: torch.Tensor) -> torch.Tensor:
    """Cosine similarities ``(m, n)`` between the rows of ``src_vecs`` and ``tgt_vecs``."""
    a = torch.nn.functional.normalize(src_vecs.detach().float().cpu(), dim=-1)
    b = torch.nn.functional.normalize(tgt_vecs.detach().float().cpu(), dim=-1)
    return a @ b.T


def align_words(src_vecs: torch.Tensor, tgt_vecs: torch.Tensor, method: Method = "itermax", *,
                distortion: float = 0.0, max_iter: int = 2) -> set[Link]:
    """Word links ``{(i, j)}`` between two sentences given their word vectors.

    ``src_vecs`` is ``(m, D)``, ``tgt_vecs`` ``(n, D)`` (e.g. from :func:`word_embeddings`).
    Zero rows (words lost to truncation) take no part and get no link.

    Example:
        >>> import torch
        >>> v = torch.eye(3)
        >>> sorted(align_words(v, v[[2, 0, 1]], "argmax"))
        [(0, 1), (1, 2), (2, 0)]
    """
    _check_method(method)
    for name, v in (("src_vecs", src_vecs), ("tgt_vecs", tgt_vecs)):
        if not isinstance(v, torch.Tensor) or v.ndim != 2:
            raise ValueError(f"{name} must be a 2-D tensor (n_words, D), got "
                             f"{getattr(v, 'shape', type(v).__name__)}")
        if v.shape[0] == 0:
            raise ValueError(f"{name} has no words")
    if src_vecs.shape[1] != tgt_vecs.shape[1]:
        raise ValueError(f"src_vecs and tgt_vecs have different widths ({src_vecs.shape[1]} "
                         f"and {tgt_vecs.shape[1]})")
    cos = cosine_matrix(src_vecs, tgt_vecs)
    return _align_nonzero(cos, src_vecs.detach().abs().sum(1) > 0,
                          tgt_vecs.detach().abs().sum(1) > 0, method, distortion, max_iter)


def _align_nonzero(cos: torch.Tensor, src_ok: torch.Tensor, tgt_ok: torch.Tensor, method: str,
                   distortion: float, max_iter: int) -> set[Link]:
    """Align the sub-matrix of rows/columns whose word vectors are nonzero."""
    if bool(src_ok.all()) and bool(tgt_ok.all()):
        return align_similarity(cos, method, distortion=distortion, max_iter=max_iter)
    rows, cols = src_ok.nonzero().flatten(), tgt_ok.nonzero().flatten()
    if len(rows) == 0 or len(cols) == 0:
        return set()
    links = align_similarity(cos[rows][:, cols], method, distortion=distortion,
                             max_iter=max_iter)
    ri, ci = rows.tolist(), cols.tolist()
    return {(ri[i], ci[j]) for i, j in links}


def _padded(vecs: Sequence[torch.Tensor]) -> torch.Tensor:
    out = torch.zeros(len(vecs), max(v.shape[0] for v in vecs), vecs[0].shape[1])
    for b, v in enumerate(vecs):
        out[b, :v.shape[0]] = v
    return out


def cosine_matrices(src_vecs: Sequence[torch.Tensor], tgt_vecs: Sequence[torch.Tensor],
                    chunk: int = 256) -> list[torch.Tensor]:
    """:func:`cosine_matrix` for many sentence pairs at once (padded batched products).

    One large product instead of one small product per pair: on a busy CPU each small
    multi-threaded product can wait milliseconds for its threads.
    """
    if len(src_vecs) != len(tgt_vecs):
        raise ValueError(f"{len(src_vecs)} source and {len(tgt_vecs)} target sentences")
    out: list[torch.Tensor] = []
    for s in range(0, len(src_vecs), chunk):
        a = torch.nn.functional.normalize(_padded(src_vecs[s:s + chunk]), dim=-1)
        b = torch.nn.functional.normalize(_padded(tgt_vecs[s:s + chunk]), dim=-1)
        cos = torch.bmm(a, b.transpose(1, 2))
        out += [cos[k, :x.shape[0], :y.shape[0]]
                for k, (x, y) in enumerate(zip(src_vecs[s:s + chunk], tgt_vecs[s:s + chunk],
                                               strict=True))]
    return out


def align_many(src_vecs: Sequence[torch.Tensor], tgt_vecs: Sequence[torch.Tensor],
               method: Method = "itermax", *, distortion: float = 0.0, max_iter: int = 2
               ) -> list[set[Link]]:
    """:func:`align_words` for many sentence pairs, with the cosines computed in batches.

    Example:
        >>> import torch
        >>> v = torch.eye(3)
        >>> [sorted(x) for x in align_many([v, v[:2]], [v[[1, 0, 2]], v[:2]], "argmax")]
        [[(0, 1), (1, 0), (2, 2)], [(0, 0), (1, 1)]]
    """
    _check_method(method)
    if len(src_vecs) != len(tgt_vecs):
        raise ValueError(f"src_vecs has {len(src_vecs)} sentences but tgt_vecs has "
                         f"{len(tgt_vecs)}: they must be parallel")
    if len(src_vecs) == 0:
        raise ValueError("no sentence pairs to align")
    for k, (x, y) in enumerate(zip(src_vecs, tgt_vecs, strict=True)):
        if x.ndim != 2 or y.ndim != 2 or 0 in (x.shape[0], y.shape[0]):
            raise ValueError(f"pair {k}: word vectors must be non-empty (n_words, D) tensors, "
                             f"got {tuple(x.shape)} and {tuple(y.shape)}")
        if x.shape[1] != y.shape[1] or x.shape[1] != src_vecs[0].shape[1]:
            raise ValueError(f"pair {k}: word vectors of different widths")
    cosines = cosine_matrices([x.detach().float().cpu() for x in src_vecs],
                              [y.detach().float().cpu() for y in tgt_vecs])
    return [_align_nonzero(cos, x.detach().abs().sum(1) > 0, y.detach().abs().sum(1) > 0,
                           method, distortion, max_iter)
            for cos, x, y in zip(cosines, src_vecs, tgt_vecs, strict=True)]


__all__ = [
    "ITERMAX_ALPHA",
    "METHODS",
    "Link",
    "Method",
    "align_many",
    "align_similarity",
    "align_words",
    "cosine_matrices",
    "cosine_matrix",
]

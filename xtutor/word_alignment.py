"""Word alignment from contextual embeddings (SimAlign-style), and how to score it.

SimAlign (Jalili Sabet et al., 2020) aligns the words of a sentence pair with no training and no
parallel data: encode both sentences with a multilingual encoder, take one layer's states, build
the cosine-similarity matrix between the words of the two sentences and read links off it. This
module is our own implementation of that recipe, batched: :func:`align_batch` encodes all
sentences of a corpus in one length-sorted pass (SimAlign encodes one pair at a time).

Steps and the rules they follow:

- :func:`word_embeddings`: pre-tokenised sentences (lists of words) go through the tokenizer with
  ``is_split_into_words=True``; a word's vector is the mean of its subword states at ``layer``
  (the "word" token type of SimAlign), mapped through the fast tokenizer's ``word_ids()``.
  Layer 0 is the embedding output; the default is two thirds of the depth (layer 8 of 12, the
  layer SimAlign recommends for mBERT/XLM-R). Layers above ``layer`` are not run.
- :func:`align_words` / :func:`align_similarity` turn the cosine matrix into links:

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
- :func:`aer`, :func:`alignment_scores`, :func:`corpus_scores`: alignment error rate (Och & Ney,
  2003), precision and recall against sure (``S``) and possible (``P``, with ``S`` included)
  gold links; corpus scores are micro-averaged (link counts summed over sentences before
  dividing), as in the standard evaluation scripts.
- :func:`pos_agreement`: on treebanks with no gold alignment (UD PUD), the fraction of links
  whose two words carry the same UPOS tag. It is a gold-free *proxy* only: translations change
  parts of speech legitimately, so a perfect aligner scores below 1; compare aligners or layers
  with it, against :func:`pos_chance_agreement` (random pairing of the words).

Example:
    >>> import torch
    >>> src = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]])
    >>> tgt = torch.tensor([[0.0, 1.0], [1.0, 0.1]])
    >>> sorted(align_words(src, tgt, "argmax"))
    [(0, 1), (1, 0)]
    >>> aer({(0, 1), (1, 0)}, sure={(0, 1)}, possible={(1, 0)})
    0.0
"""

from __future__ import annotations

import contextlib
import operator
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from tqdm.auto import tqdm
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from xtutor.encode import base_encoder

Method = Literal["argmax", "itermax", "match"]
Link = tuple[int, int]
METHODS: tuple[str, ...] = ("argmax", "itermax", "match")

#: SimAlign's discount for a cell whose row or column is already aligned (``itermax``).
ITERMAX_ALPHA = 0.9


# ----------------------------------------------------------------- encoding words
def default_layer(num_hidden_layers: int) -> int:
    """Two thirds of the depth, rounded: 8 for a 12-layer encoder (SimAlign's choice).

    Example:
        >>> default_layer(12), default_layer(4), default_layer(1)
        (8, 3, 1)
    """
    return max(0, round(2 * num_hidden_layers / 3))


def _check_sentences(sentences: Sequence[Sequence[str]], name: str = "sentences") -> None:
    if isinstance(sentences, str) or not isinstance(sentences, Sequence):
        raise TypeError(f"{name} must be a list of sentences, each a list of words")
    if len(sentences) == 0:
        raise ValueError(f"{name} is empty: nothing to encode")
    for k, sent in enumerate(sentences):
        if isinstance(sent, str):
            raise TypeError(f"{name}[{k}] is a string; pass each sentence as a list of words "
                            f"(e.g. sentence.split())")
        if len(sent) == 0:
            raise ValueError(f"{name}[{k}] has no words")
        for w, word in enumerate(sent):
            if not isinstance(word, str):
                raise TypeError(f"{name}[{k}][{w}] is {type(word).__name__}, expected str")
            if not word.strip():
                raise ValueError(f"{name}[{k}][{w}] is an empty or whitespace-only word "
                                 f"({word!r}); it has no subword tokens to embed")


def _resolve_layer(enc_model: PreTrainedModel, layer: int | None) -> int:
    n = int(enc_model.config.num_hidden_layers)
    if layer is None:
        return default_layer(n)
    if not -(n + 1) <= int(layer) <= n:
        raise ValueError(f"layer {layer} out of range for a model with {n} layers "
                         f"(valid: {-(n + 1)}..{n}; 0 is the embedding output)")
    return int(layer) % (n + 1)


@contextlib.contextmanager
def _run_only_layers(enc_model: PreTrainedModel, k: int):
    """Temporarily keep only the first ``k`` transformer layers (skip the ones not needed).

    Yields True when the model was cut (its ``last_hidden_state`` is then layer ``k``'s output),
    False when it runs in full. Cutting applies to post-norm encoders that hold their layers in
    ``encoder.layer`` (BERT, XLM-R, e5, ...); the original layer list is always restored.
    """
    encoder = getattr(enc_model, "encoder", None)
    layers = getattr(encoder, "layer", None)
    if not isinstance(layers, torch.nn.ModuleList) or k >= len(layers):
        yield False
        return
    encoder.layer = layers[:k]
    try:
        yield True
    finally:
        encoder.layer = layers


def _resolve_max_length(enc_model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                        max_length: int | None) -> int | None:
    if max_length is not None:
        if max_length < 2:
            raise ValueError(f"max_length must be >= 2 (special tokens count), got {max_length}")
        return int(max_length)
    limits = [x for x in (getattr(tokenizer, "model_max_length", None),
                          getattr(enc_model.config, "max_position_embeddings", None))
              if isinstance(x, int) and 0 < x < 1_000_000]
    return min(limits) if limits else None


def _tokenize_words(tokenizer: PreTrainedTokenizerBase, sentences: Sequence[Sequence[str]],
                    max_length: int | None, chunk: int = 2048
                    ) -> tuple[list[list[int]], list[list[int | None]]]:
    if not getattr(tokenizer, "is_fast", False):
        raise TypeError(f"{type(tokenizer).__name__} is not a fast tokenizer: word alignment "
                        f"needs word_ids() (load it with AutoTokenizer, use_fast=True)")
    ids: list[list[int]] = []
    wids: list[list[int | None]] = []
    for s in range(0, len(sentences), chunk):
        part = [list(x) for x in sentences[s:s + chunk]]
        enc = tokenizer(part, is_split_into_words=True, truncation=max_length is not None,
                        max_length=max_length, return_attention_mask=False,
                        return_token_type_ids=False)
        ids += enc["input_ids"]
        wids += [enc.word_ids(b) for b in range(len(part))]
    return ids, wids


def word_embeddings(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
    sentences: Sequence[Sequence[str]], *, layer: int | None = None, batch_size: int = 64,
    max_length: int | None = None, show_progress: bool = False,
) -> list[torch.Tensor]:
    """One ``(n_words, D)`` float32 tensor per sentence: word vectors from one layer.

    ``sentences`` are lists of words (a CoNLL-U sentence's tokens, a toy sentence's tokens). The
    tokenizer splits each word into subwords (``is_split_into_words=True``: with an XLM-R /
    SentencePiece tokenizer every word gets its own ``▁``, exactly as ``tokenize(word)``); a word
    vector is the mean of its subword states. Sentences are encoded in batches of similar
    length, under ``torch.inference_mode``, and returned in input order. ``layer=None`` takes
    :func:`default_layer`; ``0`` is the embedding output, ``-1`` the last layer.

    Sentences are truncated at ``max_length`` tokens (special tokens included; default: the
    smaller of the tokenizer's ``model_max_length`` and the model's position limit, 512 for
    e5). A word cut off gets a zero vector (and a warning); :func:`align_words` never links a
    zero vector.

    Example:
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> from xtutor.models import toy_encoder
        >>> m, t = toy_encoder(ToyWorld(WorldConfig(n_languages=1)), layers=2, hidden=8)
        >>> [tuple(v.shape) for v in word_embeddings(m, t, [["a", "b", "c"], ["d"]])]
        [(3, 8), (1, 8)]
    """
    _check_sentences(sentences)
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    enc_model = base_encoder(model)
    k = _resolve_layer(enc_model, layer)
    return _word_vectors(model, tokenizer, sentences, [k], batch_size=batch_size,
                         max_length=max_length, show_progress=show_progress)[0]


def word_embeddings_layers(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
    sentences: Sequence[Sequence[str]], *, layers: Sequence[int] | None = None,
    batch_size: int = 64, max_length: int | None = None, show_progress: bool = False,
) -> list[list[torch.Tensor]]:
    """:func:`word_embeddings` for several layers from one forward pass per batch.

    Returns ``out[l][i]``: the ``(n_words, D)`` vectors of sentence ``i`` at ``layers[l]``
    (``layers=None``: every layer, 0 = embedding output). Use it for layer-wise curves: one pass
    instead of one per layer.

    Example:
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> from xtutor.models import toy_encoder
        >>> m, t = toy_encoder(ToyWorld(WorldConfig(n_languages=1)), layers=2, hidden=8)
        >>> out = word_embeddings_layers(m, t, [["a", "b"]])
        >>> len(out), tuple(out[2][0].shape)
        (3, (2, 8))
        >>> torch.equal(out[1][0], word_embeddings(m, t, [["a", "b"]], layer=1)[0])
        True
    """
    enc_model = base_encoder(model)
    n = int(enc_model.config.num_hidden_layers)
    ks = list(range(n + 1)) if layers is None else [_resolve_layer(enc_model, x) for x in layers]
    if not ks:
        raise ValueError("layers is empty: give at least one layer (or None for all)")
    return _word_vectors(model, tokenizer, sentences, ks, batch_size=batch_size,
                         max_length=max_length, show_progress=show_progress)


def _word_vectors(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                  sentences: Sequence[Sequence[str]], ks: list[int], *, batch_size: int,
                  max_length: int | None, show_progress: bool) -> list[list[torch.Tensor]]:
    _check_sentences(sentences)
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    enc_model = base_encoder(model)
    k = max(ks)
    max_length = _resolve_max_length(enc_model, tokenizer, max_length)
    ids, wids = _tokenize_words(tokenizer, sentences, max_length)
    n_words = [len(s) for s in sentences]
    truncated = sum(1 for w, n in zip(wids, n_words, strict=True)
                    if n and max((x for x in w if x is not None), default=-1) < n - 1)
    if truncated:
        warnings.warn(f"{truncated} sentence(s) were truncated at max_length={max_length} "
                      f"tokens; their cut-off words get zero vectors and stay unaligned",
                      stacklevel=3)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    use_types = "token_type_ids" in getattr(tokenizer, "model_input_names", ())
    device = next(enc_model.parameters()).device
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))  # longest first, stable
    out: list[list[torch.Tensor | None]] = [[None] * len(ids) for _ in ks]
    was_training = enc_model.training
    enc_model.eval()
    try:
        cut_ctx = _run_only_layers(enc_model, k) if len(ks) == 1 else contextlib.nullcontext(False)
        with torch.inference_mode(), cut_ctx as cut:
            bar = tqdm(total=len(ids), desc="words", unit="sent", disable=not show_progress)
            for s in range(0, len(order), batch_size):
                idx = order[s:s + batch_size]
                t_max = len(ids[idx[0]])
                input_ids = torch.full((len(idx), t_max), pad_id, dtype=torch.long)
                mask = torch.zeros((len(idx), t_max), dtype=torch.long)
                w_max = max(n_words[i] for i in idx)
                # averaging weights: row w of sentence b spreads 1/len over word w's subwords
                avg = torch.zeros((len(idx), w_max, t_max))
                for b, i in enumerate(idx):
                    n_tok = len(ids[i])
                    input_ids[b, :n_tok] = torch.tensor(ids[i])
                    mask[b, :n_tok] = 1
                    pos = [(w, p) for p, w in enumerate(wids[i]) if w is not None]
                    if pos:
                        wt, pt = torch.tensor(pos).T
                        avg[b, wt, pt] = 1.0
                avg = avg / avg.sum(2, keepdim=True).clamp_min(1.0)
                batch: dict[str, Any] = {"input_ids": input_ids, "attention_mask": mask}
                if use_types:
                    batch["token_type_ids"] = torch.zeros_like(input_ids)
                batch = {key: v.to(device) for key, v in batch.items()}
                if cut:  # layer k is the last one run
                    states = [enc_model(**batch).last_hidden_state]
                else:
                    hs = enc_model(**batch, output_hidden_states=True).hidden_states
                    states = [hs[x] for x in ks]
                for li, hidden in enumerate(states):
                    vecs = torch.bmm(avg.to(device, hidden.dtype), hidden).float().cpu()
                    for b, i in enumerate(idx):
                        out[li][i] = vecs[b, :n_words[i]].clone()
                bar.update(len(idx))
            bar.close()
    finally:
        enc_model.train(was_training)
    return [[v for v in layer_out if v is not None] for layer_out in out]


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


def align_batch(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
    src_sents: Sequence[Sequence[str]], tgt_sents: Sequence[Sequence[str]],
    method: Method = "itermax", *, layer: int | None = None, batch_size: int = 64,
    max_length: int | None = None, distortion: float = 0.0, max_iter: int = 2,
    show_progress: bool = False,
) -> list[set[Link]]:
    """Align many sentence pairs: one encoding pass over all sentences, then per-pair links.

    ``src_sents[k]`` and ``tgt_sents[k]`` are lists of words. To compare several methods, call
    :func:`word_embeddings` once and :func:`align_words` per method instead.

    Example:
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> from xtutor.models import toy_encoder
        >>> w = ToyWorld(WorldConfig(n_languages=2))
        >>> m, t = toy_encoder(w, layers=1, hidden=16)
        >>> pairs = w.parallel("L0", "L1", 3)
        >>> links = align_batch(m, t, [p.src.tokens for p in pairs], [p.tgt.tokens for p in pairs])
        >>> len(links)
        3
    """
    _check_method(method)
    _check_sentences(src_sents, "src_sents")
    _check_sentences(tgt_sents, "tgt_sents")
    if len(src_sents) != len(tgt_sents):
        raise ValueError(f"src_sents has {len(src_sents)} sentences but tgt_sents has "
                         f"{len(tgt_sents)}: they must be parallel")
    vecs = word_embeddings(model, tokenizer, list(src_sents) + list(tgt_sents), layer=layer,
                           batch_size=batch_size, max_length=max_length,
                           show_progress=show_progress)
    n = len(src_sents)
    return align_many(vecs[:n], vecs[n:], method, distortion=distortion, max_iter=max_iter)


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


# ----------------------------------------------------------------- scoring
@dataclass(frozen=True)
class AlignmentScores:
    """Precision, recall, F1 and AER of predicted links, with the counts behind them.

    ``precision = |A ∩ P| / |A|``, ``recall = |A ∩ S| / |S|``,
    ``AER = 1 - (|A ∩ S| + |A ∩ P|) / (|A| + |S|)``, with ``P ⊇ S``. Empty denominators give
    1.0 for precision and recall (nothing predicted, nothing wrong; nothing to find) and 0.0 AER.
    """

    precision: float
    recall: float
    f1: float
    aer: float
    n_predicted: int
    n_sure: int
    n_pred_sure: int
    n_pred_possible: int


def _link_set(links: Iterable[Link], name: str) -> set[Link]:
    if isinstance(links, str | bytes):
        raise TypeError(f"{name} must be a collection of (i, j) pairs")
    out: set[Link] = set()
    for x in links:
        try:
            i, j = (operator.index(v) for v in x)
        except (TypeError, ValueError):
            i = j = -1
        if isinstance(x, str | bytes) or i < 0 or j < 0 or any(isinstance(v, bool) for v in x):
            raise ValueError(f"{name} holds {x!r}; links must be (i, j) pairs of "
                             f"non-negative word indices")
        out.add((i, j))
    return out


def _scores(n_pred: int, n_sure: int, a_s: int, a_p: int) -> AlignmentScores:
    precision = a_p / n_pred if n_pred else 1.0
    recall = a_s / n_sure if n_sure else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    err = 1.0 - (a_s + a_p) / (n_pred + n_sure) if n_pred + n_sure else 0.0
    return AlignmentScores(precision, recall, f1, err, n_pred, n_sure, a_s, a_p)


def _counts(predicted: Iterable[Link], sure: Iterable[Link],
            possible: Iterable[Link] | None) -> tuple[int, int, int, int]:
    a = _link_set(predicted, "predicted")
    s = _link_set(sure, "sure")
    p = s | (_link_set(possible, "possible") if possible is not None else set())
    return len(a), len(s), len(a & s), len(a & p)


def alignment_scores(predicted: Iterable[Link], sure: Iterable[Link],
                     possible: Iterable[Link] | None = None) -> AlignmentScores:
    """Scores of one sentence pair's links (``possible`` defaults to the sure links only).

    Example:
        >>> sc = alignment_scores({(0, 0), (1, 2)}, sure={(0, 0), (1, 1)})
        >>> sc.precision, sc.recall, sc.aer
        (0.5, 0.5, 0.5)
    """
    return _scores(*_counts(predicted, sure, possible))


def aer(predicted: Iterable[Link], sure: Iterable[Link],
        possible: Iterable[Link] | None = None) -> float:
    """Alignment error rate (Och & Ney 2003) of one sentence pair; lower is better.

    Example:
        >>> aer({(0, 0), (1, 1)}, sure={(0, 0)}, possible={(1, 1)})
        0.0
        >>> round(aer({(0, 0), (1, 1)}, sure={(0, 0), (2, 2)}), 4)
        0.5
    """
    return alignment_scores(predicted, sure, possible).aer


def corpus_scores(predicted: Sequence[Iterable[Link]], sure: Sequence[Iterable[Link]],
                  possible: Sequence[Iterable[Link] | None] | None = None) -> AlignmentScores:
    """Micro-averaged scores over sentence pairs: link counts are summed, then divided.

    Example:
        >>> corpus_scores([{(0, 0)}, {(0, 1)}], [{(0, 0)}, {(0, 0), (1, 1)}]).recall
        0.3333333333333333
    """
    if len(predicted) != len(sure):
        raise ValueError(f"predicted has {len(predicted)} sentence pairs but sure has "
                         f"{len(sure)}")
    if possible is not None and len(possible) != len(sure):
        raise ValueError(f"possible has {len(possible)} sentence pairs but sure has {len(sure)}")
    if len(sure) == 0:
        raise ValueError("no sentence pairs to score")
    tot = [0, 0, 0, 0]
    for k in range(len(sure)):
        c = _counts(predicted[k], sure[k], None if possible is None else possible[k])
        tot = [t + x for t, x in zip(tot, c, strict=True)]
    return _scores(*tot)


def corpus_aer(predicted: Sequence[Iterable[Link]], sure: Sequence[Iterable[Link]],
               possible: Sequence[Iterable[Link] | None] | None = None) -> float:
    """Micro-averaged AER over sentence pairs (:func:`corpus_scores`' ``aer``)."""
    return corpus_scores(predicted, sure, possible).aer


# ----------------------------------------------------------------- gold-free proxy (UD)
def _check_upos_pairs(pairs: Sequence[tuple[Any, Any]]) -> None:
    if len(pairs) == 0:
        raise ValueError("pairs is empty")
    for k, pair in enumerate(pairs):
        if len(pair) != 2 or not all(hasattr(s, "upos") for s in pair):
            raise ValueError(f"pairs[{k}] must be two sentences with .upos tags "
                             f"(UDSentence objects)")


def pos_agreement(pairs: Sequence[tuple[Any, Any]], alignments: Sequence[Iterable[Link]]
                  ) -> float:
    """Fraction of links whose two words have the same UPOS tag (micro-averaged).

    ``pairs`` are ``(source, target)`` sentences with ``.upos`` (e.g. from
    :func:`xtutor.data.ud.load_pud_parallel`) and ``alignments[k]`` the links of pair ``k``. A
    gold-free proxy of alignment quality, not an accuracy: translation changes parts of speech
    (a German compound for an English adjective + noun), so even gold alignments score below 1.

    Example:
        >>> from types import SimpleNamespace as S
        >>> en, de = S(upos=("DET", "NOUN", "VERB")), S(upos=("DET", "NOUN", "AUX"))
        >>> pos_agreement([(en, de)], [{(0, 0), (1, 1), (2, 2)}])
        0.6666666666666666
    """
    _check_upos_pairs(pairs)
    if len(alignments) != len(pairs):
        raise ValueError(f"{len(pairs)} sentence pairs but {len(alignments)} alignments")
    same = total = 0
    for k, ((a, b), links) in enumerate(zip(pairs, alignments, strict=True)):
        for i, j in _link_set(links, f"alignments[{k}]"):
            if i >= len(a.upos) or j >= len(b.upos):
                raise ValueError(f"alignments[{k}] links ({i}, {j}) but the sentences have "
                                 f"{len(a.upos)} and {len(b.upos)} words")
            same += a.upos[i] == b.upos[j]
            total += 1
    if total == 0:
        raise ValueError("the alignments hold no links: agreement is undefined")
    return same / total


def pos_chance_agreement(pairs: Sequence[tuple[Any, Any]]) -> float:
    """UPOS agreement of a random pairing: over all ``(i, j)`` word pairs of every sentence pair.

    The baseline for :func:`pos_agreement` (micro-averaged over all cross-sentence word pairs).

    Example:
        >>> from types import SimpleNamespace as S
        >>> pos_chance_agreement([(S(upos=("DET", "NOUN")), S(upos=("NOUN", "NOUN")))])
        0.5
    """
    _check_upos_pairs(pairs)
    same = total = 0
    for a, b in pairs:
        tags_b: dict[str, int] = {}
        for t in b.upos:
            tags_b[t] = tags_b.get(t, 0) + 1
        same += sum(tags_b.get(t, 0) for t in a.upos)
        total += len(a.upos) * len(b.upos)
    if total == 0:
        raise ValueError("the sentences have no words")
    return same / total


__all__ = [
    "ITERMAX_ALPHA",
    "METHODS",
    "AlignmentScores",
    "aer",
    "align_batch",
    "align_many",
    "align_similarity",
    "align_words",
    "alignment_scores",
    "corpus_aer",
    "corpus_scores",
    "cosine_matrices",
    "cosine_matrix",
    "default_layer",
    "pos_agreement",
    "pos_chance_agreement",
    "word_embeddings",
]

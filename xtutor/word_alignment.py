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
- :func:`align_words` / :func:`align_similarity` / :func:`align_many` turn the cosine matrix
  into links with SimAlign's methods ``argmax`` (mutual argmax), ``itermax`` (iterative
  mutual argmax, one-to-many links) and ``match`` (maximum-weight matching), optionally with
  SimAlign's ``distortion``; the rules are in :mod:`xtutor.word_alignment_methods`.
- :func:`aer`, :func:`alignment_scores`, :func:`corpus_scores`: alignment error rate (Och & Ney,
  2003), precision and recall against sure and possible gold links, micro-averaged over a
  corpus; :func:`pos_agreement`: a gold-free UPOS proxy for treebanks with no gold alignment
  (UD PUD), against :func:`pos_chance_agreement`. Both are in :mod:`xtutor.word_alignment_metrics`.

This module holds the word-vector extraction and :func:`align_batch` (encode, then align); it
re-exports the names of the two modules above, so ``from xtutor.word_alignment import ...``
reaches all of them.

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
import warnings
from collections.abc import Sequence
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from xtutor.encode import base_encoder
from xtutor.precision import autocast
from xtutor.progress import progress
from xtutor.word_alignment_methods import (
    ITERMAX_ALPHA,
    METHODS,
    Link,
    Method,
    _check_method,
    align_many,
    align_similarity,
    align_words,
    cosine_matrices,
    cosine_matrix,
)
from xtutor.word_alignment_metrics import (
    AlignmentScores,
    aer,
    alignment_scores,
    corpus_aer,
    corpus_scores,
    pos_agreement,
    pos_chance_agreement,
)


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
    max_length: int | None = None, show_progress: bool = False, precision: str = "auto",
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
    zero vector. ``precision``: of the forward passes (:mod:`xtutor.precision`); the vectors
    are fp32.

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
                         max_length=max_length, show_progress=show_progress,
                         precision=precision)[0]


def word_embeddings_layers(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
    sentences: Sequence[Sequence[str]], *, layers: Sequence[int] | None = None,
    batch_size: int = 64, max_length: int | None = None, show_progress: bool = False,
    precision: str = "auto",
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
                         max_length=max_length, show_progress=show_progress,
                         precision=precision)


def _word_vectors(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                  sentences: Sequence[Sequence[str]], ks: list[int], *, batch_size: int,
                  max_length: int | None, show_progress: bool, precision: str = "auto"
                  ) -> list[list[torch.Tensor]]:
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
        with torch.inference_mode(), cut_ctx as cut, autocast(precision, device, enc_model):
            bar = progress(total=len(ids), desc="words", unit="sent", show=show_progress)
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
                    vecs = torch.bmm(avg.to(device), hidden.float()).cpu()
                    for b, i in enumerate(idx):
                        out[li][i] = vecs[b, :n_words[i]].clone()
                bar.update(len(idx))
            bar.close()
    finally:
        enc_model.train(was_training)
    return [[v for v in layer_out if v is not None] for layer_out in out]


def align_batch(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
    src_sents: Sequence[Sequence[str]], tgt_sents: Sequence[Sequence[str]],
    method: Method = "itermax", *, layer: int | None = None, batch_size: int = 64,
    max_length: int | None = None, distortion: float = 0.0, max_iter: int = 2,
    show_progress: bool = False, precision: str = "auto",
) -> list[set[Link]]:
    """Align many sentence pairs: one encoding pass over all sentences, then per-pair links
    (``precision`` of the encoding as in :func:`word_embeddings`).

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
                           show_progress=show_progress, precision=precision)
    n = len(src_sents)
    return align_many(vecs[:n], vecs[n:], method, distortion=distortion, max_iter=max_iter)


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

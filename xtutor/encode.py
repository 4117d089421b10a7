"""Batched sentence encoding for any Hugging Face encoder.

Texts are sorted by their token count (as the model will see them, after truncation) so that
each batch pads as little as possible, padded only to the longest text of their batch, encoded
under ``torch.inference_mode``, pooled (mean over real tokens, or the first token) from any
layer, and returned in the caller's order. Sorting by tokens rather than characters matters for
mixed-language input: a Chinese sentence is short in characters but not in tokens.

Example:
    >>> from xtutor.toyworld import ToyWorld, WorldConfig
    >>> from xtutor.models import toy_encoder
    >>> world = ToyWorld(WorldConfig(n_languages=2))
    >>> model, tok = toy_encoder(world, layers=1, hidden=16, seed=0)
    >>> encode(model, tok, ["x y", "z"]).shape
    torch.Size([2, 16])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from xtutor.precision import autocast
from xtutor.progress import progress

Pooling = Literal["mean", "cls"]


def base_encoder(model: PreTrainedModel) -> PreTrainedModel:
    """The bare encoder inside a task model (``BertForMaskedLM.bert``), or the model itself."""
    prefix = getattr(model, "base_model_prefix", "")
    inner = getattr(model, prefix, None) if prefix else None
    return inner if isinstance(inner, torch.nn.Module) else model


def _check_texts(texts: Sequence[str], name: str = "texts") -> None:
    if isinstance(texts, str):
        raise TypeError(f"{name} must be a sequence of strings, not a single string")
    if len(texts) == 0:
        raise ValueError(f"{name} is empty: nothing to encode")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise TypeError(f"{name}[{bad[0]}] is {type(texts[bad[0]]).__name__}, expected str")


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: Pooling) -> torch.Tensor:
    """Pool token states ``(B, T, D)`` into sentence vectors ``(B, D)``.

    ``mean`` averages over positions where ``attention_mask`` is 1; ``cls`` takes position 0.

    Example:
        >>> h = torch.tensor([[[1.0], [3.0], [100.0]]])
        >>> pool(h, torch.tensor([[1, 1, 0]]), "mean")
        tensor([[2.]])
    """
    if pooling == "cls":
        return hidden[:, 0]
    if pooling != "mean":
        raise ValueError(f"pooling must be 'mean' or 'cls', got {pooling!r}")
    m = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp_min(1.0)


def _token_lengths(tokenizer: PreTrainedTokenizerBase, texts: Sequence[str],
                   max_length: int | None, chunk: int = 4096) -> list[int]:
    """Tokens per text as the batches will hold them (special tokens included, truncated)."""
    lengths: list[int] = []
    for s in range(0, len(texts), chunk):
        enc = tokenizer(list(texts[s:s + chunk]), truncation=True, max_length=max_length,
                        return_attention_mask=False, return_token_type_ids=False)
        lengths += [len(ids) for ids in enc["input_ids"]]
    return lengths


def _batches(tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], batch_size: int,
             max_length: int | None):
    # longest first (a too-large batch fails at once); ties keep the input order
    lengths = _token_lengths(tokenizer, texts, max_length)
    order = sorted(range(len(texts)), key=lambda i: -lengths[i])
    for s in range(0, len(order), batch_size):
        idx = order[s:s + batch_size]
        enc = tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                        max_length=max_length, return_tensors="pt")
        yield idx, enc


def encode_layers(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], *,
    layers: Sequence[int] | None = None, batch_size: int = 128, pooling: Pooling = "mean",
    normalize: bool = True, prefix: str = "", max_length: int | None = 256,
    show_progress: bool = False, precision: str = "auto",
) -> torch.Tensor:
    """Sentence vectors from several layers in one pass: shape ``(len(layers), N, D)``.

    Layer 0 is the embedding output and ``-1`` the last layer; ``layers=None`` means all.
    ``precision``: ``fp32``, ``bf16``, ``fp16`` or ``auto`` (the default: bf16 for a real encoder
    on hardware with bf16, fp32 for the toy encoders; :mod:`xtutor.precision`); the vectors are
    fp32 in every case.

    Example:
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> from xtutor.models import toy_encoder
        >>> m, t = toy_encoder(ToyWorld(WorldConfig(n_languages=1)), layers=2, hidden=8)
        >>> encode_layers(m, t, ["a", "b c"]).shape
        torch.Size([3, 2, 8])
    """
    _check_texts(texts)
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    enc_model = base_encoder(model)
    n_layers = enc_model.config.num_hidden_layers + 1
    layer_ids = list(range(n_layers)) if layers is None else [int(x) for x in layers]
    for x in layer_ids:
        if not -n_layers <= x < n_layers:
            raise ValueError(f"layer {x} out of range for a model with {n_layers - 1} layers "
                             f"(valid: {-n_layers}..{n_layers - 1})")
    device = next(enc_model.parameters()).device
    # only the last layer asked: take last_hidden_state, without keeping every layer's states
    last_only = all(x % n_layers == n_layers - 1 for x in layer_ids)
    texts_in = [prefix + t for t in texts] if prefix else list(texts)
    out: torch.Tensor | None = None
    was_training = enc_model.training
    enc_model.eval()
    try:
        with torch.inference_mode(), autocast(precision, device, enc_model):
            bar = progress(total=len(texts_in), desc="encode", unit="sent", show=show_progress)
            for idx, enc in _batches(tokenizer, texts_in, batch_size, max_length):
                enc = {k: v.to(device) for k, v in enc.items()}
                if last_only:
                    last = enc_model(**enc).last_hidden_state.float()
                    vecs = pool(last, enc["attention_mask"], pooling).unsqueeze(0)
                    vecs = vecs.expand(len(layer_ids), -1, -1)
                else:
                    hs = enc_model(**enc, output_hidden_states=True).hidden_states
                    vecs = torch.stack([pool(hs[x].float(), enc["attention_mask"], pooling)
                                        for x in layer_ids])
                if normalize:
                    vecs = torch.nn.functional.normalize(vecs.float(), dim=-1)
                if out is None:
                    out = torch.empty(len(layer_ids), len(texts_in), vecs.shape[-1])
                out[:, idx] = vecs.float().cpu()
                bar.update(len(idx))
            bar.close()
    finally:
        enc_model.train(was_training)
    assert out is not None
    return out


def encode(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], *,
    layer: int = -1, batch_size: int = 128, pooling: Pooling = "mean", normalize: bool = True,
    prefix: str = "", max_length: int | None = 256, show_progress: bool = False,
    precision: str = "auto",
) -> torch.Tensor:
    """Sentence vectors ``(N, D)`` from one layer, in the order of ``texts``.

    For e5 models pass ``prefix="query: "``; ``normalize`` L2-normalises the vectors.

    Example:
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> from xtutor.models import toy_encoder
        >>> m, t = toy_encoder(ToyWorld(WorldConfig(n_languages=1)), layers=1, hidden=8)
        >>> v = encode(m, t, ["a b", "c"])
        >>> [round(float(x), 4) for x in v.norm(dim=1)]
        [1.0, 1.0]
    """
    return encode_layers(model, tokenizer, texts, layers=[layer], batch_size=batch_size,
                         pooling=pooling, normalize=normalize, prefix=prefix,
                         max_length=max_length, show_progress=show_progress,
                         precision=precision)[0]

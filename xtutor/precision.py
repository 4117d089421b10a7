"""Numeric precision of inference: ``fp32``, ``bf16`` or ``fp16`` autocast, or ``auto``.

Encoding, evaluation, the attack victim and word alignment take a ``precision`` argument;
:func:`autocast` wraps their forward passes. Weights stay as they are (fp32); matrix products
run in the lower precision where the hardware has it, and every returned vector or logit is
fp32. ``auto``, the default of those functions, resolves per device and model
(:func:`resolve_precision`): ``bf16`` on a GPU that supports it (else ``fp16``) and on a CPU with
native bf16 instructions (AVX-512 BF16 or AMX), else ``fp32``; and ``fp32`` for a model narrower
than :data:`BF16_MIN_HIDDEN`. Why, measured on this project's 2-core AVX-512 BF16 CPU:

- e5-small (hidden 384): bf16 encodes 1.8-2.2x faster and evaluates 2.05x faster (idle runs,
  ``benchmarks/``); embeddings' cosine to fp32 >= 0.9999, predicted XNLI labels >= 99.5%
  identical, word-alignment links >= 99% identical
  (``tests/test_precision.py`` checks >= 0.999 / 99.5% / 99% on every run);
- the toy encoders (hidden 32-128): bf16 is no faster (1.07x at hidden 64, one thread), so they
  stay fp32, and the book's toy numbers stay the same on every CPU.

Pass ``precision="fp32"`` (or ``"bf16"``) to override. Experiment settings (``precision`` in a
config) default to ``fp32``, so that a ledger does not depend on the machine that wrote it.

Example:
    >>> resolve_precision("fp32", "cpu")
    'fp32'
    >>> import torch
    >>> with autocast("bf16", "cpu"):
    ...     (torch.ones(2, 2) @ torch.ones(2, 2)).dtype
    torch.bfloat16
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from pathlib import Path

import torch

#: Models narrower than this (``config.hidden_size``) stay fp32 under ``auto``: bf16 autocast
#: gained nothing on the toy encoders (module docstring).
BF16_MIN_HIDDEN: int = 256
#: Precisions the inference functions accept.
PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "fp16", "auto")
#: Numeric precisions of fine-tuning (:class:`xtutor.training.FinetuneConfig`): ``fp32``;
#: ``bf16`` autocast (CPU with AVX-512 BF16 / AMX, or a GPU); ``fp16`` autocast with loss
#: scaling (GPU only). Weights and optimiser state stay fp32 in every case.
TRAIN_PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "fp16")


def check_precision_settings(kind: str, precision: str, finetune_precision: str) -> None:
    """Refuse an experiment's ``precision`` (inference, :data:`PRECISIONS`) or
    ``finetune_precision`` (:data:`TRAIN_PRECISIONS`) with a message naming the setting.

    Example:
        >>> check_precision_settings("grid", "bf16", "auto")
        Traceback (most recent call last):
        ...
        ValueError: grid setting 'finetune_precision' must be one of ['fp32', 'bf16', 'fp16'], got 'auto'
    """  # noqa: E501
    for name, value, allowed in (("precision", precision, PRECISIONS),
                                 ("finetune_precision", finetune_precision, TRAIN_PRECISIONS)):
        if value not in allowed:
            raise ValueError(f"{kind} setting {name!r} must be one of {list(allowed)}, got "
                             f"{value!r}")
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@functools.cache
def cpu_has_bf16() -> bool:
    """Whether this CPU has native bf16 arithmetic (AVX-512 BF16 or AMX), as Linux reports it.

    Example:
        >>> isinstance(cpu_has_bf16(), bool)
        True
    """
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _hidden_size(model: torch.nn.Module | None) -> int | None:
    config = getattr(model, "config", None)
    size = getattr(config, "hidden_size", None)
    return size if isinstance(size, int) else None


def resolve_precision(precision: str, device: torch.device | str,
                      model: torch.nn.Module | None = None) -> str:
    """``precision`` with ``auto`` resolved for ``device`` (and ``model``: ``fp32`` below
    :data:`BF16_MIN_HIDDEN`); refuses ``fp16`` on a CPU.

    Example:
        >>> from transformers import BertConfig, BertModel
        >>> tiny = BertModel(BertConfig(hidden_size=32, num_hidden_layers=1,
        ...                             num_attention_heads=2, intermediate_size=64))
        >>> resolve_precision("auto", "cpu", tiny)
        'fp32'
        >>> resolve_precision("fp16", "cpu")
        Traceback (most recent call last):
        ...
        ValueError: precision 'fp16' needs a GPU; use 'bf16' (or 'auto') on a CPU
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    kind = torch.device(device).type
    if precision == "auto":
        size = _hidden_size(model)
        if size is not None and size < BF16_MIN_HIDDEN:
            return "fp32"
        if kind == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "bf16" if kind == "cpu" and cpu_has_bf16() else "fp32"
    if precision == "fp16" and kind != "cuda":
        raise ValueError("precision 'fp16' needs a GPU; use 'bf16' (or 'auto') on a CPU")
    return precision


@contextlib.contextmanager
def autocast(precision: str, device: torch.device | str,
             model: torch.nn.Module | None = None) -> Iterator[str]:
    """Run the block's forward passes in ``precision`` on ``device`` (``torch.autocast``);
    ``model`` resolves ``auto`` as in :func:`resolve_precision`; yields the resolved
    precision."""
    resolved = resolve_precision(precision, device, model)
    if resolved == "fp32":
        yield resolved
        return
    with torch.autocast(torch.device(device).type, dtype=_DTYPES[resolved]):
        yield resolved


__all__ = ["BF16_MIN_HIDDEN", "PRECISIONS", "autocast", "cpu_has_bf16", "resolve_precision"]

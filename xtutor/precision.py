"""Numeric precision of inference: ``fp32``, ``bf16`` or ``fp16`` autocast, or ``auto``.

Encoding, evaluation, the attack victim and word alignment take a ``precision`` argument;
:func:`autocast` wraps their forward passes. Weights stay as they are (fp32); matrix products
run in the lower precision where the hardware has it, and every returned vector or logit is
fp32. ``auto`` resolves per device (:func:`resolve_precision`): ``bf16`` on a GPU that supports
it (else ``fp16``) and on a CPU with native bf16 instructions (AVX-512 BF16 or AMX), else
``fp32``. The library's default stays ``fp32`` until the checks of ``tests/test_precision.py``
(embeddings' cosine to fp32 >= 0.999, predicted labels >= 99.5% identical, word-alignment links
>= 99% identical) have decided the default per device.

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


def resolve_precision(precision: str, device: torch.device | str) -> str:
    """``precision`` with ``auto`` resolved for ``device``; refuses ``fp16`` on a CPU.

    Example:
        >>> resolve_precision("fp16", "cpu")
        Traceback (most recent call last):
        ...
        ValueError: precision 'fp16' needs a GPU; use 'bf16' (or 'auto') on a CPU
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    kind = torch.device(device).type
    if precision == "auto":
        if kind == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "bf16" if kind == "cpu" and cpu_has_bf16() else "fp32"
    if precision == "fp16" and kind != "cuda":
        raise ValueError("precision 'fp16' needs a GPU; use 'bf16' (or 'auto') on a CPU")
    return precision


@contextlib.contextmanager
def autocast(precision: str, device: torch.device | str) -> Iterator[str]:
    """Run the block's forward passes in ``precision`` on ``device`` (``torch.autocast``);
    yields the resolved precision."""
    resolved = resolve_precision(precision, device)
    if resolved == "fp32":
        yield resolved
        return
    with torch.autocast(torch.device(device).type, dtype=_DTYPES[resolved]):
        yield resolved


__all__ = ["PRECISIONS", "autocast", "cpu_has_bf16", "resolve_precision"]

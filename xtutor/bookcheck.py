"""Rendered = tested: compare the values a chapter glues into its prose with the stored ones.

The book is rendered from the outputs stored in the committed notebooks, while CI executes every
chapter again (nbval). The numbers a reader sees are the glued values (``myst_nb.glue``), so the
root ``conftest.py`` compares, cell by cell, every value glued in CI's run with the value stored
in the committed notebook, using :func:`compare_glued`. Numbers (also those inside glued text,
such as ``"+0.021 [95% CI +0.006, +0.036]"``) must agree within a stated tolerance, words exactly;
values that measure the machine (seconds, speed ratios, load average) are named in the notebook's
metadata (``metadata.xtutor.volatile_glue``, shell-style patterns) and only checked to exist.

Example:
    >>> stored = {"acc": "0.6720000000000001", "verdict": "'+0.021 [95% CI +0.006, +0.036]'"}
    >>> compare_glued(stored, {"acc": "0.672", "verdict": "'+0.021 [95% CI +0.006, +0.036]'"})
    []
    >>> compare_glued(stored, {"acc": "0.69", "verdict": "'+0.021 [95% CI +0.006, +0.036]'"})
    ["glued value 'acc': stored 0.6720000000000001, recomputed 0.69 (|diff| 0.018 > 0.002)"]
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["GlueTolerance", "compare_glued", "glued_values", "volatile_patterns"]

_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf)\b")


@dataclass(frozen=True)
class GlueTolerance:
    """How far a recomputed glued number may be from the stored one: ``|a - b| <= atol +
    rtol * |b|``. The defaults allow a last-digit change of a rounded number (0.001) and float
    differences between CPUs (bf16 kernels, reduction order), not one more correct example in a
    few hundred (0.0033).

    Example:
        >>> GlueTolerance().close(0.5, 0.5015)
        True
        >>> GlueTolerance().close(0.5, 0.5034)
        False
    """

    atol: float = 0.002
    rtol: float = 1e-6

    def __post_init__(self) -> None:
        if not (self.atol >= 0 and self.rtol >= 0):
            raise ValueError(f"atol and rtol must be >= 0, got atol={self.atol}, rtol={self.rtol}")

    def close(self, a: float, b: float) -> bool:
        """Whether ``a`` and ``b`` agree within the tolerance (NaN equals NaN)."""
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        if math.isinf(a) or math.isinf(b):
            return a == b
        return abs(a - b) <= self.atol + self.rtol * abs(b)


def glued_values(outputs: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """The values glued by one cell's outputs: ``{name: text/plain}`` (``myst_nb.glue`` stores
    each value as a display output whose metadata names it).

    Example:
        >>> out = {"output_type": "display_data", "metadata": {"scrapbook": {"name": "acc",
        ...        "mime_prefix": "application/papermill.record/"}},
        ...        "data": {"application/papermill.record/text/plain": "0.5"}}
        >>> glued_values([out, {"output_type": "stream", "name": "stdout", "text": "hi"}])
        {'acc': '0.5'}
    """
    found: dict[str, str] = {}
    for out in outputs:
        meta = out.get("metadata") or {}
        scrap = meta.get("scrapbook") if isinstance(meta, Mapping) else None
        if not scrap or "name" not in scrap:
            continue
        data = out.get("data") or {}
        text = next((v for k, v in data.items() if k.endswith("text/plain")), None)
        if text is None:  # a glued figure or table without a text form: compare its kind only
            text = "<" + ",".join(sorted(data)) + ">"
        found[scrap["name"]] = "".join(text) if isinstance(text, list) else str(text)
    return found


def volatile_patterns(notebook_metadata: Mapping[str, Any]) -> tuple[str, ...]:
    """The glue names a notebook marks as measurements of the machine
    (``metadata["xtutor"]["volatile_glue"]``, shell-style patterns such as ``"cost_*"``).

    Example:
        >>> volatile_patterns({"xtutor": {"volatile_glue": ["cost_*", "runtime_s"]}})
        ('cost_*', 'runtime_s')
        >>> volatile_patterns({})
        ()
    """
    block = notebook_metadata.get("xtutor") or {}
    pats = block.get("volatile_glue", []) if isinstance(block, Mapping) else []
    if isinstance(pats, str) or not all(isinstance(p, str) for p in pats):
        raise ValueError("notebook metadata xtutor.volatile_glue must be a list of strings, "
                         f"got {pats!r}")
    return tuple(pats)


def _split(text: str) -> tuple[list[str], list[float]]:
    words = _NUMBER.split(text)
    numbers = [float(m) for m in _NUMBER.findall(text)]
    return words, numbers


def compare_glued(stored: Mapping[str, str], recomputed: Mapping[str, str], *,
                  volatile: Iterable[str] = (), tolerance: GlueTolerance | None = None,
                  missing_ok: bool = False) -> list[str]:
    """Differences between the glued values stored in a notebook and those of a new run, one
    message each (empty when they agree).

    Numbers are compared within ``tolerance``, including numbers inside glued text; everything
    else must be equal. Names matching a ``volatile`` pattern are only checked to exist in both.
    A value glued by only one of the two runs is a difference, unless ``missing_ok`` and it is
    absent from the new run (a section that needs data the new run does not have).

    Example:
        >>> compare_glued({"t": "3.2"}, {"t": "9.9"}, volatile=["t"])
        []
        >>> compare_glued({"a": "'yes'"}, {"a": "'no'"})
        ["glued value 'a': stored 'yes', recomputed 'no'"]
    """
    tol = tolerance or GlueTolerance()
    pats = tuple(volatile)
    problems: list[str] = []
    for name in sorted(set(stored) | set(recomputed)):
        if name not in recomputed:
            if not missing_ok:
                problems.append(f"glued value {name!r} is stored but the new run did not glue it")
            continue
        if name not in stored:
            problems.append(f"glued value {name!r} is new (not in the stored notebook): "
                            "re-execute the chapter and commit its outputs")
            continue
        if any(fnmatch.fnmatchcase(name, p) for p in pats):
            continue
        a, b = stored[name], recomputed[name]
        if a == b:
            continue
        wa, na = _split(a)
        wb, nb = _split(b)
        if wa != wb or len(na) != len(nb):
            problems.append(f"glued value {name!r}: stored {a}, recomputed {b}")
            continue
        bad = [(x, y) for x, y in zip(na, nb, strict=True) if not tol.close(y, x)]
        if bad:
            x, y = bad[0]
            problems.append(f"glued value {name!r}: stored {a}, recomputed {b} "
                            f"(|diff| {abs(x - y):.3g} > {tol.atol + tol.rtol * abs(x):.3g})")
    return problems

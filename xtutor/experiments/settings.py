"""Checking the settings of an ``xtutor run`` config, shared by every experiment kind.

Example:
    >>> reject_unknown({"seed": 0}, {"seed", "preset"}, "lab")
    >>> reject_unknown({"sede": 0}, {"seed", "preset"}, "lab")
    Traceback (most recent call last):
    ...
    ValueError: experiment 'lab' does not take setting(s) ['sede']; allowed: ['preset', 'seed']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def reject_unknown(settings: Mapping[str, Any], allowed: Iterable[str], kind: str) -> None:
    """Raise a ValueError naming every setting of ``settings`` that ``kind`` does not take."""
    allowed = set(allowed)
    unknown = set(settings) - allowed
    if unknown:
        raise ValueError(f"experiment {kind!r} does not take setting(s) {sorted(unknown)}; "
                         f"allowed: {sorted(allowed)}")

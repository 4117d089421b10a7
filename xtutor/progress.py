"""Progress bars: one switch for the whole package.

Every long loop of xtutor shows a tqdm bar when its caller asks (``show_progress=True``).
:func:`progress` is that bar, with one more switch: ``TQDM_DISABLE=1`` in the environment
turns every bar off even where a caller asked for one (tqdm's own variable only sets the
default, which an explicit ``disable=False`` overrides). The book's notebooks are executed
for publication with ``TQDM_DISABLE=1``, so no progress bar ends up in a stored output,
while a reader running a chapter still sees them. ``tqdm.auto`` (the notebook widget) is
imported only when a bar is shown, so a disabled run never warns about missing widgets.

Example:
    >>> sum(progress(range(3), desc="demo", show=False))
    3
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from tqdm import tqdm as _plain_tqdm

_OFF = {"1", "true", "yes", "on"}


def progress_enabled(show: bool) -> bool:
    """Whether a bar the caller asked for (``show``) is shown: not when ``TQDM_DISABLE`` is
    set to a true value.

    Example:
        >>> progress_enabled(False)
        False
    """
    return bool(show) and os.environ.get("TQDM_DISABLE", "").strip().lower() not in _OFF


def progress(iterable: Iterable[Any] | None = None, *, show: bool, **kwargs: Any) -> Any:
    """A ``tqdm`` bar over ``iterable`` (or a manual one with ``total=``) that is shown only
    when ``show`` and :func:`progress_enabled`; other keyword arguments go to tqdm."""
    if not progress_enabled(show):
        return _plain_tqdm(iterable, disable=True, **kwargs)
    from tqdm.auto import tqdm

    return tqdm(iterable, **kwargs)


__all__ = ["progress", "progress_enabled"]

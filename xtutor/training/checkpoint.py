"""Training checkpoints: everything needed to resume a run bit for bit.

A checkpoint is one file ``step-0000040.pt`` in ``checkpoint_dir`` holding the weights, the
optimiser and scheduler states, the sampler and every RNG state, the loss history, per-run
regulariser state and a *fingerprint* of the run (config, data, regularisers). Resuming checks
the fingerprint, so a checkpoint is never silently applied to a different run. Files are written
atomically and only the newest is kept.

Example:
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> p = save_checkpoint(d, 3, {"step": 3})
    >>> p.name, latest_checkpoint(d) == p
    ('step-0000003.pt', True)
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import torch

from xtutor.io import atomic_path

_NAME = re.compile(r"^step-(\d+)\.pt$")


def latest_checkpoint(checkpoint_dir: str | os.PathLike[str]) -> Path | None:
    """The newest ``step-*.pt`` in ``checkpoint_dir`` (``None`` if there is none)."""
    d = Path(checkpoint_dir)
    if not d.is_dir():
        return None
    found = [(int(m.group(1)), f) for f in d.iterdir() if (m := _NAME.match(f.name))]
    return max(found)[1] if found else None


def save_checkpoint(checkpoint_dir: str | os.PathLike[str], step: int, state: dict[str, Any],
                    keep_last: int = 1) -> Path:
    """Write ``state`` as ``step-{step:07d}.pt`` atomically; keep only ``keep_last`` files."""
    if keep_last < 1:
        raise ValueError(f"keep_last must be >= 1, got {keep_last}")
    d = Path(checkpoint_dir)
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"step-{step:07d}.pt"
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    old = sorted((int(m.group(1)), f) for f in d.iterdir() if (m := _NAME.match(f.name)))
    for _, f in old[:-keep_last]:
        f.unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | os.PathLike[str], fingerprint: dict[str, Any] | None = None
                    ) -> dict[str, Any]:
    """Read a checkpoint; with ``fingerprint``, refuse one written by a different run."""
    state = torch.load(path, map_location="cpu", weights_only=False)
    if fingerprint is not None:
        saved = state.get("fingerprint")
        if saved != fingerprint:
            diff = sorted(k for k in set(fingerprint) | set(saved or {})
                          if (saved or {}).get(k) != fingerprint.get(k))
            raise ValueError(f"checkpoint {path} belongs to a different run (differs in "
                             f"{diff}); use another checkpoint_dir or delete it")
    return state

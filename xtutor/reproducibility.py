"""Seeding, determinism and provenance (package version, git revision, config hash)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

import xtutor


def set_seed(seed: int, deterministic: bool = True) -> torch.Generator:
    """Seed Python, NumPy and torch, and turn on deterministic torch kernels.

    Returns a fresh ``torch.Generator`` seeded with ``seed`` for code that wants its own stream.

    Example:
        >>> g = set_seed(0)
        >>> int(torch.randint(0, 10, (1,), generator=g))
        4
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def _jsonable(obj: Any) -> Any:
    if is_dataclass(obj) and not isinstance(obj, type):
        return _jsonable(asdict(obj))
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    return obj


def config_hash(config: Any) -> str:
    """A short, stable hash of a config (dataclass or dict), independent of key order.

    Example:
        >>> config_hash({"a": 1, "b": 2}) == config_hash({"b": 2, "a": 1})
        True
    """
    blob = json.dumps(_jsonable(config), sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def git_revision(path: str | Path | None = None) -> str:
    """The git revision of the xtutor source tree (``+dirty`` if modified), or ``"unknown"``.

    Example:
        >>> isinstance(git_revision(), str)
        True
    """
    where = Path(path) if path is not None else Path(xtutor.__file__).resolve().parent
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=where, capture_output=True,
            text=True, timeout=10, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{rev}+dirty" if dirty else rev


def provenance(config: Any) -> dict[str, str]:
    """Fields that tie a result to the code and config that produced it.

    Example:
        >>> sorted(provenance({"x": 1}))
        ['config_hash', 'git_rev', 'xtutor_version']
    """
    return {
        "config_hash": config_hash(config),
        "xtutor_version": xtutor.__version__,
        "git_rev": git_revision(),
    }

"""Seeding, determinism and provenance (package version, git revision, config and code hashes).

- :func:`set_seed` seeds Python, NumPy and torch and changes nothing else;
- :func:`deterministic` is a context manager that turns torch's deterministic algorithms on for
  a block and restores the previous mode afterwards (determinism is opt-in);
- :func:`config_hash`, :func:`code_fingerprint`, :func:`git_revision` and :func:`provenance`
  name what produced a result or a cached artefact.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import json
import os
import random
import subprocess
from collections.abc import Iterator
from dataclasses import asdict, is_dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch

import xtutor


def set_seed(seed: int) -> torch.Generator:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and CUDA).

    Returns a fresh ``torch.Generator`` seeded with ``seed`` for code that wants its own stream.
    Seeding changes no other global state; for deterministic torch kernels (bitwise-repeatable
    GPU runs) wrap the work in :func:`deterministic`.

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
    g = torch.Generator()
    g.manual_seed(seed)
    return g


_CUBLAS_ENV = "CUBLAS_WORKSPACE_CONFIG"


@contextlib.contextmanager
def deterministic(enabled: bool = True, *, warn_only: bool = True) -> Iterator[None]:
    """Run a block with torch's deterministic algorithms on (or off), then restore the state.

    With ``enabled=True`` this calls ``torch.use_deterministic_algorithms(True,
    warn_only=warn_only)`` (an operation without a deterministic implementation then warns
    instead of raising, unless ``warn_only=False``), turns off cuDNN benchmarking and sets
    ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` if it is unset (cuBLAS needs it for repeatable GPU
    matrix products; set it yourself before the first CUDA call to be safe). With
    ``enabled=False`` the block runs with deterministic algorithms off. On exit, normal or by
    an exception, the previous mode, warn-only flag, cuDNN benchmark flag and environment
    variable are restored. The mode is process-wide: do not toggle it from several threads.

    Example:
        >>> before = torch.are_deterministic_algorithms_enabled()
        >>> with deterministic():
        ...     torch.are_deterministic_algorithms_enabled()
        True
        >>> torch.are_deterministic_algorithms_enabled() == before
        True
    """
    prev_enabled = torch.are_deterministic_algorithms_enabled()
    prev_warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    prev_benchmark = torch.backends.cudnn.benchmark
    prev_env = os.environ.get(_CUBLAS_ENV)
    try:
        if enabled:
            os.environ.setdefault(_CUBLAS_ENV, ":4096:8")
            torch.backends.cudnn.benchmark = False
            torch.use_deterministic_algorithms(True, warn_only=warn_only)
        else:
            torch.use_deterministic_algorithms(False)
        yield
    finally:
        torch.use_deterministic_algorithms(prev_enabled, warn_only=prev_warn_only)
        torch.backends.cudnn.benchmark = prev_benchmark
        if prev_env is None:
            os.environ.pop(_CUBLAS_ENV, None)
        else:
            os.environ[_CUBLAS_ENV] = prev_env


def _module_file(module: ModuleType | str) -> Path:
    mod = importlib.import_module(module) if isinstance(module, str) else module
    file = getattr(mod, "__file__", None)
    if not file:
        raise ValueError(f"module {mod.__name__!r} has no source file to fingerprint")
    return Path(file).resolve()


@functools.cache
def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` intra-op torch threads, restoring the previous count after.

    CPU results are bit-exact for one thread count only; artefacts that are cached and shared
    (the toy encoders) are made with a fixed count so that they do not depend on the caller.

    Example:
        >>> import torch
        >>> before = torch.get_num_threads()
        >>> with torch_threads(1):
        ...     torch.get_num_threads()
        1
        >>> torch.get_num_threads() == before
        True
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"torch_threads: n must be a positive int, got {n!r}")
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def code_fingerprint(*modules: ModuleType | str) -> str:
    """A short hash (8 hex digits) of the source files of ``modules`` (objects or dotted names).

    Caches of computed artefacts include it in their key, so that editing the code that
    produced an artefact never serves a stale copy. The order of ``modules`` and repeats do not
    matter. Each file is read once per process (the digest is cached).

    Example:
        >>> fp = code_fingerprint("xtutor.toyworld", "xtutor.models")
        >>> len(fp), fp == code_fingerprint("xtutor.models", "xtutor.toyworld")
        (8, True)
    """
    if not modules:
        raise ValueError("code_fingerprint needs at least one module")
    files = sorted({_module_file(m) for m in modules})
    blob = "\n".join(f"{f.name}:{_file_digest(f)}" for f in files).encode()
    return hashlib.sha256(blob).hexdigest()[:8]


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

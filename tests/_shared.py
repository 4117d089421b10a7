"""Test helpers: the real data slices, or a clear skip when they are absent; the stash key of
the ledger recomputations (``tests/test_ledgers.py``, started by ``tests/conftest.py``)."""

from __future__ import annotations

from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from xtutor.data.paths import DATA_DIR_ENV, shared_data_dir

#: ``config.stash`` key of the running ledger recomputations: (pool, {ledger: future report})
LEDGER_POOL = pytest.StashKey[tuple[ProcessPoolExecutor, dict[str, Future[Any]]]]()


def shared_available(sub: str) -> bool:
    """Whether ``<shared data>/sub`` exists."""
    root = shared_data_dir()
    return root is not None and (root / sub).exists()


def shared_or_skip(sub: str) -> Path:
    """``<shared data>/sub``, skipping the test with the reason when it is not there."""
    root = shared_data_dir()
    if root is None or not shared_available(sub):
        pytest.skip(
            f"real data slice {sub!r} not found (set {DATA_DIR_ENV} or provide ../shared/data)"
        )
    return root / sub

"""Test helper: the real data slices, or a clear skip when they are absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from xtutor.data.paths import DATA_DIR_ENV, shared_data_dir


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

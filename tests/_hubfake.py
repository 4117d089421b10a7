"""Test helper: a data module's Hub loader replaced by in-memory fixtures in the Hub's format."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest


def patch_hub(monkeypatch: pytest.MonkeyPatch, module: ModuleType,
              data: dict[tuple[str, str], dict[str, list[Any]]], features: Any) -> list[tuple]:
    """Replace ``module.load_hub_dataset`` by a loader that serves ``data[(config, split)]`` as
    a ``datasets.Dataset`` with ``features`` (and raises for anything else); returns the list
    the calls ``(name, config, split)`` are appended to."""
    import datasets

    calls: list[tuple] = []

    def fake(name: str, config: str | None = None, split: str | None = None, **kw: object):
        calls.append((name, config, split))
        if (config, split) not in data:
            raise RuntimeError(f"fixture has no {name} {config}/{split}")
        return datasets.Dataset.from_dict(data[(config, split)], features=features)

    monkeypatch.setattr(module, "load_hub_dataset", fake)
    return calls

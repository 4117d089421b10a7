"""Shared fixtures: a small toy world and a tiny encoder."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def small_world():
    from xtutor.toyworld import ToyWorld, WorldConfig

    return ToyWorld(WorldConfig(n_languages=3, n_entities=8, n_attributes=4, n_verbs=4, seed=0))


@pytest.fixture()
def tiny_encoder(small_world):
    from xtutor.models import toy_encoder

    return toy_encoder(small_world, layers=2, hidden=32, heads=2, ffn=64, seed=0)

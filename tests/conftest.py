"""Shared fixtures: a small toy world, a tiny encoder, deterministic torch kernels for the whole
session, and ``hub_online`` / ``hub_offline`` to pin the Hugging Face offline mode in a test."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

#: Where the Hugging Face libraries keep the offline flag they read from the environment at
#: import (``xtutor.data.hub`` reads these too).
_HUB_OFFLINE_FLAGS = (("datasets.config", "HF_HUB_OFFLINE"),
                      ("datasets.config", "HF_DATASETS_OFFLINE"),
                      ("huggingface_hub.constants", "HF_HUB_OFFLINE"))


@pytest.fixture(scope="session", autouse=True)
def _deterministic_torch() -> Iterator[None]:
    """Every test runs with torch's deterministic algorithms on (warn-only), as the library
    used to switch them on for good in ``set_seed``; the mode is restored after the session."""
    from xtutor.reproducibility import deterministic

    with deterministic():
        yield


def _pin_hub_offline(monkeypatch: pytest.MonkeyPatch, offline: bool) -> None:
    from xtutor.data.hub import OFFLINE_ENV_VARS

    for var in OFFLINE_ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    if offline:
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for module, attr in _HUB_OFFLINE_FLAGS:
        mod = sys.modules.get(module)
        if mod is not None and hasattr(mod, attr):
            monkeypatch.setattr(mod, attr, offline)


@pytest.fixture()
def hub_online(monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline mode off for this test, whatever the environment of the test run says: the
    offline variables are unset and the flags ``datasets`` / ``huggingface_hub`` read from them
    at import are set to False (all restored afterwards)."""
    _pin_hub_offline(monkeypatch, False)


@pytest.fixture()
def hub_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline mode on for this test: ``HF_HUB_OFFLINE=1`` and the libraries' flags True."""
    _pin_hub_offline(monkeypatch, True)


@pytest.fixture(scope="session")
def small_world():
    from xtutor.toyworld import ToyWorld, WorldConfig

    return ToyWorld(WorldConfig(n_languages=3, n_entities=8, n_attributes=4, n_verbs=4, seed=0))


@pytest.fixture()
def tiny_encoder(small_world):
    from xtutor.models import toy_encoder

    return toy_encoder(small_world, layers=2, hidden=32, heads=2, ffn=64, seed=0)


@pytest.fixture(scope="module")
def toy_nli_classifier():
    """``(world, classifier, tokenizer)``: a tiny encoder fine-tuned for NLI on L0 (a victim for
    attack and certification tests)."""
    import torch

    from xtutor.models import toy_encoder
    from xtutor.toyworld import ToyWorld, WorldConfig
    from xtutor.training.classify import FinetuneConfig, finetune

    torch.set_num_threads(1)
    w = ToyWorld(WorldConfig(n_languages=3, n_entities=8, n_attributes=4, n_verbs=4, seed=0))
    enc, tok = toy_encoder(w, layers=2, hidden=32, heads=2, ffn=64, seed=0)
    clf, _ = finetune(enc, tok, w.nli(1000, seed=1),
                      FinetuneConfig(epochs=4, batch_size=32, lr=2e-3), show_progress=False)
    return w, clf.eval(), tok

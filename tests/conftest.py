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

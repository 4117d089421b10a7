"""Shared fixtures: a small toy world, a tiny encoder, deterministic torch kernels for the whole
session, and ``hub_online`` / ``hub_offline`` to pin the Hugging Face offline mode in a test;
the order of the ledger re-checks (``tests/test_ledgers.py``) and their background start."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

from tests._shared import LEDGER_POOL

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


LEDGER_TESTS = "test_ledgers.py"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The ledger re-checks run after the other unit tests and doctests, right before the
    chapters: their recomputations (started when collection ends, see below) then use the
    cores the unit tests leave idle, and are done before the chapters run, on an idle machine
    (chapter 3 measures costs)."""
    ledger = [i for i in items if i.path.name == LEDGER_TESTS]
    if not ledger:
        return
    rest = [i for i in items if i.path.name != LEDGER_TESTS]
    book = next((k for k, i in enumerate(rest) if i.path.suffix == ".ipynb"), len(rest))
    items[:] = [*rest[:book], *ledger, *rest[book:]]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the recomputations of the selected ledger re-checks in the background, at a
    lower CPU priority (``test_ledgers.start_verifications``)."""
    selected = [i for i in session.items if i.path.name == LEDGER_TESTS
                and hasattr(i, "callspec") and "name" in i.callspec.params
                and i.originalname == "test_ledger_matches_the_current_code"]
    if selected and not session.config.option.collectonly:
        start = selected[0].module.start_verifications
        session.config.stash[LEDGER_POOL] = start(i.callspec.params["name"] for i in selected)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop the ledger recomputations (an interrupted run does not wait for them)."""
    started = session.config.stash.get(LEDGER_POOL, None)
    if started is not None:
        started[0].shutdown(wait=True, cancel_futures=True)

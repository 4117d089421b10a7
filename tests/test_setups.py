"""Setups: named seed streams, and no XNLI test item in training or in the parallel text."""

from __future__ import annotations

from dataclasses import fields

from tests._shared import shared_or_skip
from xtutor.experiments.setups import SeedStreams, ToySetup, XnliSetup, XnliSizes
from xtutor.lab import LabConfig


def test_streams_of_one_seed_are_distinct_and_differ_between_seeds() -> None:
    for make in (SeedStreams.toy, SeedStreams.xnli):
        for seed in range(3):
            s = make(seed)
            named = [getattr(s, f.name) for f in fields(s) if f.name not in ("seed", "parallel")]
            assert len(set(named)) == len(named), s
        assert make(0).test != make(1).test


def test_toy_test_sets_are_not_training_sets() -> None:
    setup = ToySetup(LabConfig.preset("tiny", seed=0))
    train = {(e.premise, e.hypothesis) for e in setup.train()}
    test = {(e.premise, e.hypothesis) for e in setup.tests()[("L0", "L0")]}
    assert len(train & test) < 0.1 * len(test)  # a small world repeats short sentences by chance


def test_xnli_setup_leaks_no_test_item() -> None:
    root = shared_or_skip("xnli").parent
    setup = XnliSetup(0, sizes=XnliSizes(train=2490), data_dir=root)
    assert setup.leakage() == {"train_ids": 0, "train_sentences": 0, "parallel_sentences": 0}
    # the filter matters: some Urdu dev sentences are also Urdu test sentences
    test = setup.test_sentences()
    ur_dev = {s for e in setup._xnli("ur", "dev") for s in (e.premise, e.hypothesis)}
    assert len(ur_dev & test) > 0
    assert not any(b in test for _, b in setup.parallel(100_000))

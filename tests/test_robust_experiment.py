"""The robust-transfer study: toy runs on the tiny preset, the runner kind, and the e5/XNLI path
(skipped when the real data is absent)."""

from __future__ import annotations

import json

import pytest

from tests._shared import shared_or_skip
from xtutor.experiments.robust import (
    METHODS,
    RobustSettings,
    robust_transfer,
    robust_xnli,
)
from xtutor.results import read_records
from xtutor.runner import load_config, run_config


def test_robust_transfer_tiny_records_the_generalized_matrix_and_costs() -> None:
    res = robust_transfer("tiny", seeds=[0], methods=["plain", "codeswitch"],
                          tasks=["nli", "paws"], settings=RobustSettings(
                              overrides={"mlm.steps": 5, "nli_train": 96, "nli_test": 30}))
    df = res.frame()
    acc = df[df.metric == "accuracy"]
    # 3 languages -> 9 (premise, hypothesis) pairs per method and task
    assert len(acc) == 2 * 2 * 9
    assert set(acc.eval_lang) >= {"L0", "L1", "L2", "L0-L1", "L2-L0"}
    assert acc.value.between(0, 1).all() and (acc.n == 30).all()
    assert set(acc.task) == {"nli", "paws"} and (acc.train_lang == "L0").all()
    assert all(r.config_hash for r in res.records)
    secs = df[df.metric == "train_seconds"]
    assert len(secs) == 4 and (secs.value > 0).all() and (secs.n == 3).all()
    ratio = res.cost_ratio()
    assert ratio.loc["plain", "mean"] == pytest.approx(1.0)
    assert set(ratio.index) == {"plain", "codeswitch"}
    per_run = res.cost_frame("seconds")
    assert len(per_run) == 4 and (per_run[per_run.method == "plain"].ratio == 1.0).all()
    assert per_run.groupby("method").ratio.mean()["codeswitch"] == \
        pytest.approx(res.cost_ratio("seconds").loc["codeswitch", "mean"])
    table = res.accuracy_table()
    assert ("mean", "zero-shot") in table.columns and len(table) == 4
    groups = res.group_frame()
    assert set(groups.group) == {"source", "zero-shot", "mixed"} and len(groups) == 2 * 2 * 3
    zs = acc[(acc.premise_lang == acc.hypothesis_lang) & (acc.eval_lang != "L0")]
    want = zs[(zs.method == "codeswitch") & (zs.task == "nli")].value.mean() - \
        zs[(zs.method == "plain") & (zs.task == "nli")].value.mean()
    g = res.gain_by_group("codeswitch", task="nli")
    assert len(g) == 3 and set(g.task) == {"nli"}
    assert g.set_index("group").value["zero-shot"] == pytest.approx(want)
    assert (res.gain_by_group("plain").value == 0).all()
    with pytest.raises(ValueError, match="no accuracy records"):
        res.gain_by_group("pgd")


def test_run_config_robust_toy(tmp_path) -> None:
    cfg = tmp_path / "robust.yaml"
    cfg.write_text("experiment: robust\nsetup: toy\npreset: tiny\nseeds: [1]\ntasks: [paws]\n"
                   "methods: [plain, free]\n"
                   "overrides: {nli_test: 30, nli_train: 64, mlm.steps: 5}\n", encoding="utf-8")
    records = run_config(cfg, tmp_path / "out", show_progress=False).records
    assert {r.method for r in records} == {"plain", "free"}
    assert {r.n for r in records if r.metric == "train_seconds"} == {2}
    assert {r.seed for r in records} == {1}
    assert len(read_records(tmp_path / "out" / "results.jsonl")) == len(records)
    summary = (tmp_path / "out" / "summary.txt").read_text()
    assert "training cost relative to plain" in summary
    meta = json.loads((tmp_path / "out" / "config.json").read_text())
    assert meta["settings"]["methods"] == ["plain", "free"]


def test_shipped_configs_are_valid() -> None:
    for name, setup in (("configs/robust_toy.yaml", "toy"),
                        ("configs/robust_xnli_e5.yaml", "xnli")):
        _, s = load_config(name)
        assert s.setup == setup and set(s.methods) == set(METHODS)
        if setup == "toy":
            assert len(s.seeds) >= 3


def test_settings_errors_name_the_setting() -> None:
    with pytest.raises(ValueError, match="unknown setting 'method'; valid keys: adv_epsilon"):
        RobustSettings.from_settings({"method": ["plain"]})
    with pytest.raises(ValueError, match="'methods': unknown"):
        RobustSettings.from_settings({"methods": ["plain", "dropout"]})
    with pytest.raises(ValueError, match="setting 'seeds': expected an integer, got 'a'"):
        RobustSettings.from_settings({"seeds": ["a"]})
    assert RobustSettings.from_settings({"seeds": ["0"], "lr": "1e-4"}).lr == 1e-4
    with pytest.raises(ValueError, match="profile"):
        RobustSettings(setup="xnli", profile="huge")
    with pytest.raises(ValueError, match="epsilon"):
        RobustSettings(adv_epsilon=-1)


def test_robust_xnli_e5_smoke() -> None:
    shared_or_skip("xnli")
    shared_or_skip("muse")
    s = RobustSettings(setup="xnli", profile="smoke", languages=("en", "sw"), seeds=(0,),
                       methods=("codeswitch",), codeswitch_languages=("es", "de"))
    res = robust_xnli(s)
    acc = res.frame().query("metric == 'accuracy'")
    assert sorted(acc.eval_lang) == ["en", "en-sw", "sw", "sw-en"]
    assert (acc.n == 8).all() and acc.value.between(0, 1).all()
    assert (acc.model == "e5-small-offline").all() and (acc.task == "xnli").all()
    assert res.timings.steps.tolist() == [1]


def test_robust_transfer_cache_dir_shares_the_preset_encoders(tmp_path) -> None:
    from xtutor.experiments.encoders import pretrained_toy
    from xtutor.lab import LabConfig

    settings = RobustSettings(overrides={"mlm.steps": 5, "nli_train": 64, "nli_test": 20})
    kw = {"seeds": [0], "methods": ["plain"], "tasks": ["nli"], "settings": settings}
    plain = robust_transfer("tiny", **kw)
    cached = robust_transfer("tiny", cache_dir=tmp_path, **kw)
    # the fine-tuning overrides are not part of the cache key; the MLM override is
    saved = sorted(p.name for p in tmp_path.iterdir())
    assert len(saved) == 1 and saved[0].startswith("toy-mlm-")
    key = LabConfig.preset("tiny", 0).override(**{"mlm.steps": 5})
    pretrained_toy(key, cache_dir=tmp_path)  # loads, does not pretrain a second copy
    assert sorted(p.name for p in tmp_path.iterdir()) == saved
    acc = [r.value for r in plain.records if r.metric == "accuracy"]
    assert [r.value for r in cached.records if r.metric == "accuracy"] == acc
    again = robust_transfer("tiny", cache_dir=tmp_path, **kw)  # from the cache
    assert [r.value for r in again.records if r.metric == "accuracy"] == acc

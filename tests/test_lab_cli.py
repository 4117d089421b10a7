"""The lab and the command line, end to end on the tiny preset."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from xtutor.cli import app
from xtutor.lab import LabConfig, run_lab
from xtutor.results import RECORD_FIELDS, load_results


def test_cli_lab_end_to_end(tmp_path) -> None:
    out = tmp_path / "lab"
    res = CliRunner().invoke(app, ["lab", "--preset", "tiny", "--out", str(out), "--quiet",
                                   "--set", "mlm.steps=15"])
    assert res.exit_code == 0, res.output
    assert "NLI accuracy" in res.output and "sentence/codeswitch" in res.output
    df = load_results(out)
    assert list(df.columns) == list(RECORD_FIELDS)
    langs = ["L0", "L1", "L2"]
    clean = df[(df.task == "nli") & (df.metric == "accuracy")]
    # 2 encoders (MLM, aligned) x 2 fine-tunings, each on the full generalized matrix
    assert sorted(set(clean.method)) == ["none/codeswitch", "none/plain", "sentence/codeswitch",
                                         "sentence/plain"]
    assert (clean.groupby("method").size() == 9).all()
    nli = clean[(clean.premise_lang == clean.hypothesis_lang) & (clean.method == "none/plain")]
    assert sorted(nli.eval_lang) == langs
    attacked = df[df.metric == "attacked_accuracy"]
    assert set(attacked.attack) == {"char_noise", "code_switch"}
    assert set(attacked.eval_lang) == set(langs)
    ret = df[df.metric == "retrieval_acc_cosine"]
    assert sorted(set(ret.eval_lang)) == ["L1", "L2"] and set(ret.method) == {"none", "sentence"}
    acc = df[df.metric.str.contains("accuracy|rate|fraction")]
    assert len(acc) > 0 and ((acc.value >= 0) & (acc.value <= 1)).all()
    assert df.config_hash.nunique() == 1 and df.git_rev.notna().all()
    for name in ("retrieval", "zero_shot", "generalized", "mlm_loss", "retrieval_by_layer"):
        assert (out / f"{name}.png").stat().st_size > 5000
    meta = json.loads((out / "config.json").read_text())
    assert meta["settings"]["overrides"] == {"mlm.steps": "15"}
    assert meta["experiment"] == "lab" and meta["git_rev"] and meta["seconds"] > 0
    assert (out / "encoder" / "config.json").exists()


def test_lab_is_deterministic_for_a_seed(tmp_path) -> None:
    cfg = LabConfig.preset("tiny", seed=5)
    a = run_lab(cfg, tmp_path / "a", show_progress=False).records
    b = run_lab(cfg, tmp_path / "b", show_progress=False).records
    def values(recs: list) -> list[float]:
        return [r.value for r in recs if "seconds" not in r.metric]

    assert values(a) == values(b)
    c = run_lab(LabConfig.preset("tiny", seed=6), tmp_path / "c", show_progress=False).records
    assert values(a) != values(c)


def test_run_config_and_bad_configs(tmp_path) -> None:
    cfg = tmp_path / "lab.yaml"
    cfg.write_text("experiment: lab\npreset: tiny\nseed: 1\noverrides: {'mlm.steps': 5}\n")
    runner = CliRunner()
    res = runner.invoke(app, ["run", str(cfg), "--out", str(tmp_path / "o"), "--quiet"])
    assert res.exit_code == 0, res.output
    assert len(load_results(tmp_path / "o")) > 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("experiment: nonsense\n")
    res = runner.invoke(app, ["run", str(bad)])
    assert res.exit_code == 2 and "must be one of" in res.output
    bad.write_text("experiment: lab\ncolour: red\n")
    res = runner.invoke(app, ["run", str(bad)])
    assert res.exit_code == 2 and "unknown setting 'colour'; valid keys: overrides" in res.output


@pytest.mark.parametrize("args, match", [
    (["--preset", "huge"], "unknown lab preset"),
    (["--set", "mlm.nope=3"], "unknown setting 'mlm.nope'; valid keys: batch_size"),
    (["--set", "world.n_languages=1"], "at least 2 languages"),
    (["--set", "world.n_languages=0"], "n_languages must be >= 1"),
    (["--set", "corpus_per_language=0"], "n must be a positive int"),
    (["--set", "garbage"], "KEY=VALUE"),
])
def test_cli_rejects_bad_input_clearly(tmp_path, args, match) -> None:
    res = CliRunner().invoke(app, ["lab", "--preset", "tiny", "--quiet", "--out",
                                   str(tmp_path), *args])
    assert res.exit_code == 2, res.output
    assert match in res.output, res.output
    assert "Traceback" not in res.output


def test_console_script_is_installed() -> None:
    out = subprocess.run([sys.executable, "-m", "xtutor.cli", "--help"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and "lab" in out.stdout

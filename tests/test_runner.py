"""The runner: one settings layer (through the CLI), outputs, ``--shard`` and ``xtutor verify``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from xtutor.cli import app
from xtutor.experiments.grid import GridSettings
from xtutor.lab import LabSettings
from xtutor.results import read_records
from xtutor.runner import load_config, parse_shard, run_experiment, shard_cells, verify_ledger
from xtutor.settings import SettingsError

#: A grid of 4 cells on the tiny preset (two groups: seed 0 and seed 1, alignment none).
GRID = {"preset": "tiny", "seeds": [0, 1], "alignments": ["none"], "finetunes": ["plain"],
        "controls": [], "attacks": ["char_noise"], "n_attack": 4, "n_test": 12,
        "n_eval_pairs": 12, "aer_pairs": 6, "probe_per_language": 12}


def _write(path: Path, cfg: dict) -> Path:
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


# --- one settings layer -----------------------------------------------------------------------


def test_yaml_numbers_and_booleans_are_converted_once(tmp_path: Path) -> None:
    # PyYAML reads 1e-4 (no dot) as a string; "false" is a string too
    cfg = tmp_path / "g.yaml"
    cfg.write_text("experiment: grid\nlr: 1e-4\nrobust: {adv_epsilon: 5e-2}\n"
                   "save_encoders: 'false'\n", encoding="utf-8")
    _, s = load_config(cfg)
    assert s.lr == 1e-4 and isinstance(s.lr, float)
    assert s.robust.adv_epsilon == 0.05 and s.save_encoders is False
    lab = tmp_path / "lab.yaml"
    lab.write_text("experiment: lab\npreset: tiny\noverrides: {generalized: 'false', "
                   "finetune.lr: 1e-4}\n", encoding="utf-8")
    _, ls = load_config(lab)
    assert ls.config().generalized is False and ls.config().finetune.lr == 1e-4
    assert LabSettings(overrides={"generalized": False}).config().generalized is False


@pytest.mark.parametrize("body, expected", [
    ("experiment: grid\nlr: fast\n", "{path}: setting 'lr': expected a number, got 'fast'"),
    ("experiment: grid\nseeds: [0, one]\n",
     "{path}: setting 'seeds': expected an integer, got 'one'"),
    ("experiment: grid\nsave_encoders: maybe\n",
     "{path}: setting 'save_encoders': expected true or false, got 'maybe'"),
    ("experiment: grid\nalign_stepz: 3\n",
     "{path}: unknown setting 'align_stepz'; valid keys: aer_pairs, align_lr, align_pairs"),
    ("experiment: robust\nadv_epsilon: [1]\n",
     "{path}: setting 'adv_epsilon': expected a number, got [1]"),
    ("experiment: lab\noverrides: {mlm.stepz: 3}\n",
     "unknown setting 'mlm.stepz'; valid keys: batch_size"),
    ("experiment: lab\noverrides: {generalized: perhaps}\n",
     "setting 'generalized': expected true or false, got 'perhaps'"),
])
def test_bad_settings_fail_in_one_line_with_status_2(tmp_path: Path, body: str,
                                                     expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(body, encoding="utf-8")
    res = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "o"), "--quiet"])
    assert res.exit_code == 2, res.output
    assert expected.format(path=path) in res.output, res.output
    assert "Traceback" not in res.output
    assert len([ln for ln in res.output.splitlines() if ln.strip()]) == 1
    assert not (tmp_path / "o" / "cells").exists()  # refused before anything ran


def test_cli_set_false_is_false(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["lab", "--preset", "tiny", "--out", str(tmp_path), "--quiet",
                                   "--set", "generalized=false", "--set", "mlm.steps=5",
                                   "--set", "align_steps=2"])
    assert res.exit_code == 0, res.output
    nli = [r for r in read_records(tmp_path / "results.jsonl")
           if r.task == "nli" and r.metric == "accuracy"]
    assert nli and all(r.premise_lang == r.hypothesis_lang for r in nli)  # no mixed pairs


def test_settings_error_is_a_value_error_naming_the_source() -> None:
    with pytest.raises(SettingsError, match=r"^experiment 'grid': setting 'n_attack'"):
        run_experiment("grid", {"n_attack": "many"}, "/tmp/never-written")


# --- outputs, shards, verify -----------------------------------------------------------------


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ledger")
    run_experiment("grid", GRID, out, show_progress=False)
    return out


def test_the_runner_writes_one_layout(ledger: Path) -> None:
    meta = json.loads((ledger / "config.json").read_text())
    assert meta["experiment"] == "grid" and meta["settings"]["seeds"] == [0, 1]
    for key in ("config_hash", "cell_hash", "xtutor_version", "git_rev", "started", "finished",
                "seconds", "threads", "device"):
        assert meta[key] not in (None, ""), key
    records = read_records(ledger / "results.jsonl")
    assert {r.config_hash for r in records} == {meta["config_hash"]}
    assert len(list((ledger / "cells").glob(f"*.{meta['cell_hash']}.jsonl"))) == 4
    assert (ledger / "summary.txt").read_text().startswith("grid (toy)")


def test_shards_fill_one_folder_and_a_final_run_merges(tmp_path: Path, ledger: Path) -> None:
    s = GridSettings.from_settings(GRID)
    from xtutor.experiments.grid import grid_cells

    cells = grid_cells(s)
    a, b = shard_cells(cells, (0, 2)), shard_cells(cells, (1, 2))
    assert {c.seed for c in a} == {0} and {c.seed for c in b} == {1}  # groups stay whole
    assert sorted(c.name for c in a + b) == sorted(c.name for c in cells)
    first = run_experiment("grid", s, tmp_path, shard=(0, 2), show_progress=False)
    assert not first.complete and not (tmp_path / "results.jsonl").exists()
    run_experiment("grid", s, tmp_path, shard=(1, 2), show_progress=False)
    merged = run_experiment("grid", s, tmp_path, show_progress=False)
    assert merged.computed == [] and merged.complete
    key = [(r.method, r.eval_lang, r.attack, r.metric, r.seed, r.value)
           for r in merged.records if "seconds" not in r.metric]
    want = [(r.method, r.eval_lang, r.attack, r.metric, r.seed, r.value)
            for r in read_records(ledger / "results.jsonl") if "seconds" not in r.metric]
    assert key == want
    with pytest.raises(SettingsError, match="0 <= i < n"):
        parse_shard("2/2")


def test_verify_agrees_with_an_untouched_ledger(ledger: Path) -> None:
    rep = verify_ledger(ledger, cells=2, seed=1)
    assert rep.ok, rep.problems
    assert rep.agreed == 2 and rep.max_diff == 0.0
    res = CliRunner().invoke(app, ["verify", str(ledger), "--cells", "1", "--quiet"])
    assert res.exit_code == 0, res.output
    assert "verified 1/1 cells, max |diff| 0" in res.output


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_verify_fails_on_a_tampered_value(ledger: Path, tmp_path: Path) -> None:
    bad = _copy(ledger, tmp_path / "bad")
    cell = sorted((bad / "cells").glob("seed0__none__plain.*.jsonl"))[0]
    lines = cell.read_text().splitlines()
    for i, line in enumerate(lines):
        rec = json.loads(line)
        if rec["metric"] == "accuracy":
            rec["value"] = min(1.0, rec["value"] + 0.1)
            lines[i] = json.dumps(rec)
            break
    cell.write_text("\n".join(lines) + "\n")
    res = CliRunner().invoke(app, ["verify", str(bad), "--quiet"])
    assert res.exit_code == 1, res.output
    assert "mismatch: results.jsonl vs cells" in res.output  # the cell no longer matches
    assert "mismatch: seed0__none__plain: none/plain" in res.output  # nor the recomputation
    assert "verified 3/4 cells" in res.output


def test_verify_fails_on_a_tampered_setting(ledger: Path, tmp_path: Path) -> None:
    bad = _copy(ledger, tmp_path / "bad-setting")
    meta = json.loads((bad / "config.json").read_text())
    meta["settings"]["n_attack"] = 5
    (bad / "config.json").write_text(json.dumps(meta))
    res = CliRunner().invoke(app, ["verify", str(bad), "--quiet"])
    assert res.exit_code == 1, res.output
    assert "a setting was changed after the run" in res.output


def test_verify_refuses_an_unfinished_run(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["verify", str(tmp_path)])
    assert res.exit_code == 2 and "no config.json" in res.output


def test_committed_ledgers_are_complete() -> None:
    """Every ledger under data/ledgers is either a finished run with its config (CI verifies a
    sample of its cells with `xtutor verify`, see tests/test_ledgers.py) or a run in progress
    (no config.json yet: a long run committed cell by cell, resumed across sessions), whose
    cells must belong to the config of the same name in configs/. Records come from clean
    trees."""
    from xtutor.runner import cell_hash

    root = Path(__file__).resolve().parents[1] / "data" / "ledgers"
    for d in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        assert not (d / "encoders").exists(), f"{d}: model weights do not belong in a ledger"
        if (d / "config.json").is_file():
            meta = json.loads((d / "config.json").read_text())
            records = read_records(d / "results.jsonl")
            assert records and meta["cell_hash"]
        else:  # in progress: cells of configs/<name>.yaml only
            kind, settings = load_config(root.parents[1] / "configs" / f"{d.name}.yaml")
            h = cell_hash(kind, settings)
            names = {c.name for c in kind.cells(settings)}
            files = sorted((d / "cells").glob("*.jsonl"))
            assert files, f"{d}: neither config.json nor cells"
            for f in files:
                cell, _, rest = f.name.partition(".")
                assert rest == f"{h}.jsonl" and cell in names, \
                    f"{f}: not a cell of configs/{d.name}.yaml (hash {h})"
            records = [r for f in files for r in read_records(f)]
        revs = {r.git_rev for r in records}
        assert records and not any(r.endswith("+dirty") or r == "unknown" for r in revs), \
            f"{d}: records from a modified or unknown tree: {sorted(revs)}"


def test_verify_a_run_in_progress_against_its_config(tmp_path: Path) -> None:
    """A long run committed cell by cell is checked against its YAML before it finishes."""
    cfg = tmp_path / "grid_tiny.yaml"
    cfg.write_text(yaml.safe_dump({"experiment": "grid", "preset": "tiny", "seeds": [0],
                                   "alignments": ["none"], "finetunes": ["plain"],
                                   "controls": [], "attacks": [], "align_steps": 5,
                                   "align_pairs": 16}))
    kind, settings = load_config(cfg)
    out = tmp_path / "run"
    run_experiment(kind, settings, out, shard=(0, 2), show_progress=False)
    assert not (out / "config.json").exists()
    with pytest.raises(FileNotFoundError, match="pass the run's config"):
        verify_ledger(out)
    done = sorted(p.name.split(".")[0] for p in (out / "cells").glob("*.jsonl"))
    rep = verify_ledger(out, config=cfg, names=done[:1])
    assert rep.ok and rep.checked == done[:1], rep.problems
    cell_file = next((out / "cells").glob(f"{done[0]}.*.jsonl"))
    rows = [json.loads(line) for line in cell_file.read_text().splitlines()]
    rows[0]["value"] += 0.5  # a tampered stored value must be caught
    cell_file.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert not verify_ledger(out, config=cfg, names=done[:1]).ok
    with pytest.raises(ValueError, match="not finished cells"):
        verify_ledger(out, config=cfg, names=["seed9__none__plain"])


def test_check_reproduced_compares_only_what_both_runs_measured() -> None:
    from dataclasses import replace

    from xtutor.results import Record
    from xtutor.runner import check_reproduced

    clean = Record("grid", "m", "none/plain", "nli", "L0", "L1", "accuracy", 0.5, 10, 0)
    attacked = replace(clean, metric="attacked_accuracy", attack="char_noise", value=0.2)
    other_seed = replace(clean, seed=1)
    ledger = [clean, attacked, other_seed]
    assert check_reproduced([clean, replace(attacked, value=0.9)], ledger) == (1, 0.0, [])
    n, worst, problems = check_reproduced([replace(clean, value=0.6)], ledger)
    assert n == 1 and worst == pytest.approx(0.1) and len(problems) == 1
    assert check_reproduced([replace(clean, eval_lang="L2")], ledger)[2]  # one side only


def test_cells_selects_by_pattern_in_pattern_order(tmp_path: Path) -> None:
    from xtutor.experiments.grid import grid_cells
    from xtutor.runner import select_cells

    s = GridSettings.from_settings(GRID)
    cells = grid_cells(s)
    names = [c.name for c in select_cells(cells, ["seed1__*", "seed0__none__plain"])]
    assert names[-1] == "seed0__none__plain" and all(n.startswith("seed1__") for n in names[:-1])
    with pytest.raises(SettingsError, match="matches no cell"):
        select_cells(cells, ["seed7__*"])
    res = CliRunner().invoke(app, ["run", "--help"])
    assert "--cells" in res.output


def test_run_shards_fills_the_folder_in_parallel_processes(tmp_path: Path, ledger: Path) -> None:
    import yaml

    from xtutor.runner import run_config, run_shards

    cfg = tmp_path / "grid.yaml"
    cfg.write_text(yaml.safe_dump({"experiment": "grid", **GRID}))
    run_shards(cfg, tmp_path / "out", 2)
    merged = run_config(cfg, tmp_path / "out", show_progress=False)
    assert merged.computed == [] and merged.complete  # both shards' cells were there
    key = [(r.method, r.eval_lang, r.attack, r.metric, r.seed, r.value)
           for r in merged.records if "seconds" not in r.metric]
    want = [(r.method, r.eval_lang, r.attack, r.metric, r.seed, r.value)
            for r in read_records(ledger / "results.jsonl") if "seconds" not in r.metric]
    assert key == want  # one-thread shards reproduce the one-process run exactly
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"experiment": "grid", **GRID, "seedz": [0]}))
    with pytest.raises(SettingsError, match="seedz"):  # refused once, before any process
        run_shards(bad, tmp_path / "bad", 2)

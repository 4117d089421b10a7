"""Local data folder discovery and the fail-fast Hub helper."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from _shared import shared_or_skip

from xtutor.data.hub import HubUnavailableError, load_hub_dataset, probe_hub
from xtutor.data.paths import (
    DATA_DIR_ENV,
    MalformedRowsWarning,
    RowErrors,
    read_text_lines,
    require_shared_data,
    shared_data_dir,
)
from xtutor.data.tatoeba import load_tatoeba
from xtutor.data.xnli import load_xnli

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: connection refused at once


def test_env_var_wins_and_missing_folder_gives_none(monkeypatch, tmp_path):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    assert shared_data_dir() == tmp_path
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "nope"))
    assert shared_data_dir() is None
    with pytest.raises(FileNotFoundError, match=DATA_DIR_ENV):
        require_shared_data("xnli")


def test_empty_data_dir_skips_and_errors_clearly(monkeypatch, tmp_path):
    """Simulate a machine without ../shared/data: tests skip, loaders say what to pass."""
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    with pytest.raises(pytest.skip.Exception, match="real data slice 'xnli' not found"):
        shared_or_skip("xnli")
    with pytest.raises(FileNotFoundError, match="path="):
        require_shared_data("tatoeba/v1")
    with pytest.raises(FileNotFoundError, match="tatoeba"):
        load_tatoeba("deu")


def test_default_data_dir_is_next_to_repo(monkeypatch):
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    d = shared_data_dir()
    expected = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    assert d is None or d == expected


def test_read_text_lines_splits_on_newline_only(tmp_path):
    f = tmp_path / "x.txt"
    f.write_bytes("\ufeffa\u2028b\r\nc\n".encode())
    assert read_text_lines(f) == ["a\u2028b", "c"]


def test_row_errors_raise_or_skip_with_one_warning():
    with pytest.raises(ValueError, match=r"f\.tsv, line 7: broken"):
        RowErrors("f.tsv").bad(7, "broken")
    errs = RowErrors("f.tsv", "skip")
    errs.bad(2, "x")
    errs.bad(9, "y")
    with pytest.warns(MalformedRowsWarning, match="skipped 2 malformed row"):
        errs.finish()
    with pytest.raises(ValueError, match="errors must be"):
        RowErrors("f.tsv", "ignore")  # type: ignore[arg-type]


def test_probe_reports_unreachable_endpoint_fast():
    t = time.perf_counter()
    why = probe_hub(UNREACHABLE, timeout=2)
    assert why is not None and time.perf_counter() - t < 3


def test_hub_unreachable_fails_fast_and_clearly(monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", UNREACHABLE)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    t = time.perf_counter()
    with pytest.raises(RuntimeError) as exc:
        load_hub_dataset("facebook/xnli", "en", "test", local_hint="pass path= to load_xnli")
    assert time.perf_counter() - t < 5
    msg = str(exc.value)
    assert "'facebook/xnli'" in msg and "'en'" in msg and "unreachable" in msg
    assert "pass path= to load_xnli" in msg and "HF_HUB_OFFLINE=1" in msg
    assert isinstance(exc.value, HubUnavailableError)


def test_hub_offline_mode_fails_fast_and_restores_flags(monkeypatch):
    import datasets.config

    before = datasets.config.HF_HUB_OFFLINE
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t = time.perf_counter()
    with pytest.raises(RuntimeError, match="offline mode is on.*xtutor-tests/no-such-dataset|"
                                           "xtutor-tests/no-such-dataset.*offline mode is on"):
        load_hub_dataset("xtutor-tests/no-such-dataset", "cfg", "validation")
    assert time.perf_counter() - t < 10
    assert before == datasets.config.HF_HUB_OFFLINE


def test_hub_default_endpoint_fails_fast_here():
    """Real endpoint, unknown dataset: offline here (DNS fails) or 'not found' online."""
    t = time.perf_counter()
    with pytest.raises(RuntimeError, match="xtutor-tests/no-such-dataset"):
        load_hub_dataset("xtutor-tests/no-such-dataset", None, "test")
    assert time.perf_counter() - t < 30


def test_loader_without_path_names_the_argument(monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", UNREACHABLE)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    t = time.perf_counter()
    pattern = r"facebook/xnli.*'sw'.*path= to xtutor\.data\.load_xnli"
    with pytest.raises(RuntimeError, match=pattern):
        load_xnli("sw", "test")
    assert time.perf_counter() - t < 5

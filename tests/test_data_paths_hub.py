"""Local data folder discovery and the fail-fast Hub helper."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from _shared import shared_or_skip

from xtutor.data.hub import (
    OFFLINE_ENV_VARS,
    HubUnavailableError,
    hub_offline_reason,
    load_hub_dataset,
    probe_hub,
)
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


def test_hub_unreachable_fails_fast_and_clearly(monkeypatch, hub_online):
    monkeypatch.setenv("HF_ENDPOINT", UNREACHABLE)
    t = time.perf_counter()
    with pytest.raises(RuntimeError) as exc:
        load_hub_dataset("facebook/xnli", "en", "test", local_hint="pass path= to load_xnli")
    assert time.perf_counter() - t < 5
    msg = str(exc.value)
    assert "'facebook/xnli'" in msg and "'en'" in msg and "unreachable" in msg
    assert "pass path= to load_xnli" in msg and "HF_HUB_OFFLINE=1" in msg
    assert "offline mode is on" not in msg
    assert isinstance(exc.value, HubUnavailableError)


@pytest.mark.parametrize("var", OFFLINE_ENV_VARS)
def test_hub_offline_mode_fails_fast_and_restores_flags(monkeypatch, hub_online, var):
    import datasets.config

    before = datasets.config.HF_HUB_OFFLINE
    monkeypatch.setenv("HF_ENDPOINT", UNREACHABLE)  # offline: the Hub is never asked
    monkeypatch.setenv(var, "1")
    t = time.perf_counter()
    with pytest.raises(HubUnavailableError) as exc:
        load_hub_dataset("xtutor-tests/no-such-dataset", "cfg", "validation",
                         local_hint="pass path= to load_it")
    assert time.perf_counter() - t < 10
    msg = str(exc.value)
    assert "'xtutor-tests/no-such-dataset'" in msg and "'cfg'" in msg and "'validation'" in msg
    assert f"offline mode is on ({var}=1)" in msg and "pass path= to load_it" in msg
    assert "unreachable" not in msg
    assert before == datasets.config.HF_HUB_OFFLINE


def test_hub_offline_flag_from_import_time_counts_as_offline(monkeypatch, hub_online):
    """``datasets`` read ``HF_HUB_OFFLINE=1`` at import and the variable was unset later: the
    libraries stay offline, so the message must say offline mode, not 'unreachable'."""
    import datasets.config

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_ENDPOINT", UNREACHABLE)
    assert "datasets.config.HF_HUB_OFFLINE" in (hub_offline_reason() or "")
    with pytest.raises(HubUnavailableError) as exc:
        load_hub_dataset("xtutor-tests/no-such-dataset", None, "test",
                         local_hint="pass path= to load_it")
    msg = str(exc.value)
    assert "'xtutor-tests/no-such-dataset'" in msg and "offline mode is on" in msg
    assert "pass path= to load_it" in msg and "unreachable" not in msg


def test_hub_online_and_offline_fixtures_pin_the_mode(hub_online, monkeypatch):
    assert hub_offline_reason() is None
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    assert hub_offline_reason() == "TRANSFORMERS_OFFLINE=1"


def test_hub_offline_fixture(hub_offline):
    assert hub_offline_reason() == "HF_HUB_OFFLINE=1"


def test_hub_default_endpoint_fails_fast_here():
    """Real endpoint, unknown dataset: offline here (DNS fails) or 'not found' online."""
    t = time.perf_counter()
    with pytest.raises(RuntimeError, match="xtutor-tests/no-such-dataset"):
        load_hub_dataset("xtutor-tests/no-such-dataset", None, "test")
    assert time.perf_counter() - t < 30


def test_loader_without_path_names_the_argument(monkeypatch, hub_online):
    monkeypatch.setenv("HF_ENDPOINT", UNREACHABLE)
    t = time.perf_counter()
    pattern = r"facebook/xnli.*'sw'.*path= to xtutor\.data\.load_xnli"
    with pytest.raises(RuntimeError, match=pattern):
        load_xnli("sw", "test")
    assert time.perf_counter() - t < 5

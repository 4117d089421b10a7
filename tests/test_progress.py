"""One switch for every progress bar: TQDM_DISABLE wins over a caller's show_progress."""

from __future__ import annotations

import pytest

from xtutor.progress import progress, progress_enabled


def test_tqdm_disable_turns_off_bars_a_caller_asked_for(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    assert progress_enabled(True) and not progress_enabled(False)
    assert progress(range(2), show=False).disable
    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert not progress_enabled(True)
    bar = progress(range(2), show=True)
    assert bar.disable and list(bar) == [0, 1]
    monkeypatch.setenv("TQDM_DISABLE", "0")
    assert progress_enabled(True)

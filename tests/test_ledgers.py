"""The committed ledgers under ``data/ledgers`` are re-checked against the current code: a
sample of each ledger's cells is recomputed and every value compared (``xtutor verify``), so a
code change that alters results cannot leave a stale ledger behind.

``VERIFY`` sets, per ledger, how many cells CI recomputes and the tolerance (0: exact; toy
runs on CPU are bit-exact for the ledger's thread count, which verify reuses).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from xtutor.runner import verify_ledger

ROOT = Path(__file__).resolve().parents[1] / "data" / "ledgers"
#: ledger -> (cells recomputed in CI, tolerance)
VERIFY: dict[str, tuple[int, float]] = {"grid_toy": (2, 0.0)}
LEDGERS = sorted(p.name for p in ROOT.iterdir() if (p / "config.json").is_file()) \
    if ROOT.is_dir() else []


def test_every_ledger_has_a_verification_budget() -> None:
    assert sorted(VERIFY) == LEDGERS, "add each committed ledger to VERIFY (cells, tolerance)"


@pytest.mark.slow
@pytest.mark.parametrize("name", LEDGERS)
def test_ledger_matches_the_current_code(name: str) -> None:
    cells, tolerance = VERIFY[name]
    rep = verify_ledger(ROOT / name, cells=cells, seed=0, tolerance=tolerance)
    assert rep.ok, "\n".join([rep.summary(), *rep.problems[:20]])
    assert rep.agreed == cells

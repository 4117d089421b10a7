"""Rendered = tested: every chapter CI executes (nbval, lax mode) must glue the values stored in
the committed notebook, the values the rendered book shows (``xtutor.bookcheck``).

(At the root, not in ``book/``: two ``conftest.py`` in sibling folders without ``__init__.py``
collide under pytest's default import mode.)

A cell fails when a value it glues now differs from the stored one beyond the tolerance of
``xtutor.bookcheck.GlueTolerance``; values that measure the machine are named in the notebook's
metadata (``xtutor.volatile_glue``). Values of sections that need ``../shared/data`` may be
missing when the data is absent (the section skips); with the data present they must be there.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    result = yield
    cell = getattr(item, "cell", None)
    outputs = getattr(item, "test_outputs", None)
    if cell is None or outputs is None or not hasattr(item.parent, "nb"):
        return result
    from xtutor.bookcheck import compare_glued, glued_values, volatile_patterns
    from xtutor.data import shared_data_dir

    problems = compare_glued(glued_values(cell.get("outputs", [])), glued_values(outputs),
                             volatile=volatile_patterns(item.parent.nb.metadata),
                             missing_ok=shared_data_dir() is None)
    if problems:
        raise AssertionError(
            f"{item.parent.name} cell {item.cell_num}: the rendered book would show other "
            "numbers than this run computed (re-execute the chapter from a clean tree and commit "
            "its outputs):\n  " + "\n  ".join(problems))
    return result

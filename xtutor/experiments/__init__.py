"""Experiment kinds for ``xtutor run`` beyond the embedded lab.

Each module holds one kind: a function ``(settings, out_dir, show_progress) -> list[Record]``
that :mod:`xtutor.runner` registers in ``EXPERIMENTS``.

- :mod:`xtutor.experiments.tatoeba`: translation retrieval on the Tatoeba test sets with a
  real multilingual encoder (``experiment: tatoeba``).
"""

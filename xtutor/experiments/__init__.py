"""Experiment kinds for ``xtutor run`` beyond the embedded lab.

Each module holds one kind: a function ``(settings, out_dir, show_progress) -> list[Record]``
that :mod:`xtutor.runner` registers in ``EXPERIMENTS``.

- :mod:`xtutor.experiments.tatoeba`: translation retrieval on the Tatoeba test sets with a
  real multilingual encoder (``experiment: tatoeba``).
- :mod:`xtutor.experiments.robust`: noise-robust fine-tuning and zero-shot / generalized
  transfer (``experiment: robust``; chapter 3).
- :mod:`xtutor.experiments.adversarial`: attacks per language on a fine-tuned toy classifier
  (``experiment: adversarial``; chapter 4).
- :mod:`xtutor.experiments.grid`: the resumable factorial of alignment x noise-robust
  fine-tuning x seeds, clean and under attack, with negative controls (``experiment: grid``;
  chapter 5).
- :mod:`xtutor.experiments.udpos`: zero-shot UD part-of-speech tagging on Parallel UD with
  each noise-robust method that applies to token classification, clean and under attack
  (``experiment: udpos``; XTREME-R's structured-prediction task).

The chapters' studies that are called from notebooks rather than configs live here too:
:mod:`xtutor.experiments.encoders` (chapter 1), :mod:`xtutor.experiments.contrastive`
(chapter 2) and :mod:`xtutor.experiments.ood` (GLUE-X-style out-of-domain sets, chapter 4).
"""

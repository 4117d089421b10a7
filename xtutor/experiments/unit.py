"""One unit of every experiment: (setup, alignment, fine-tuning method, seed) -> records.

:func:`run_unit` is the single fine-tune-and-evaluate loop of the package: the robust study
(chapter 3), the adversarial studies (chapter 4), the grid (chapter 5) and ``xtutor lab`` all
call it. It takes the encoder of a :class:`~xtutor.experiments.setups.Setup` (aligned with a
contrastive method if asked), fine-tunes it on the source language with the regularisers of
one method (:func:`xtutor.regularizers.make_regularizers`), times the fine-tuning, evaluates
the premise x hypothesis matrix and attacks every language, and returns unstamped records
(:func:`xtutor.results.stamp` adds provenance) together with the classifier.

Records: ``accuracy`` per language pair; ``train_seconds`` (wall) and ``train_cpu_seconds``
(process CPU time) with ``n`` = optimiser steps; the attack metrics of
:mod:`xtutor.attacks.results` per attacked language. Timing metrics are the only ones that
differ between two runs of the same unit (``xtutor verify`` skips them).

Example:
    >>> from xtutor.lab import LabConfig
    >>> from xtutor.experiments.setups import AlignmentSettings, ToySetup
    >>> setup = ToySetup(LabConfig.preset("tiny", seed=0),
    ...                  alignment=AlignmentSettings(steps=5, pairs=16))
    >>> res = run_unit(setup, "plain")
    >>> sorted({r.metric for r in res.records})
    ['accuracy', 'train_cpu_seconds', 'train_seconds']
    >>> aligned = run_unit(setup, "plain", alignment="sentence", method="sentence/plain")
    >>> {r.method for r in aligned.records}
    {'sentence/plain'}
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from xtutor.attacks.study import AttackConfig, adversarial_study
from xtutor.evaluation import evaluate_matrix
from xtutor.experiments.setups import Setup, blank_premises, shuffled_labels
from xtutor.regularizers.factory import (
    NEEDS_DICTIONARIES,
    NEEDS_PARALLEL,
    RegularizerSettings,
    make_regularizers,
)
from xtutor.results import Record
from xtutor.training import finetune as finetune_classifier

#: Metrics that measure time, not results: they differ between runs of the same unit.
TIMING_METRICS: frozenset[str] = frozenset({"train_seconds", "train_cpu_seconds"})


@dataclass
class UnitResult:
    """What :func:`run_unit` returns: unstamped records, the fine-tuned classifier, the
    fine-tuning losses and timings, and adversarial examples (dicts) for a chapter to show."""

    records: list[Record]
    classifier: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    losses: list[float]
    seconds: float
    cpu_seconds: float
    examples: list[dict[str, Any]] = field(default_factory=list)


def run_unit(setup: Setup, finetune: str, *, alignment: str = "none",
             encoder: PreTrainedModel | None = None, task: str | None = None,
             regularizers: RegularizerSettings | None = None,
             shuffle_labels: bool = False, hypothesis_only: bool = False,
             evaluate: bool = True,
             attack: AttackConfig | None = None, n_attack: int = 0,
             attack_stream: str = "attack", experiment: str = "unit",
             method: str | None = None, show_progress: bool = False) -> UnitResult:
    """Fine-tune ``setup``'s encoder with method ``finetune`` and measure it.

    Args:
        setup: a :class:`~xtutor.experiments.setups.Setup` (toy family, XNLI...).
        finetune: a fine-tuning method of :data:`xtutor.regularizers.METHODS`.
        alignment: align a copy of the setup's encoder with this contrastive method first
            (:meth:`Setup.align`; ``none``: as pretrained). Ignored when ``encoder`` is given.
        encoder: the encoder to fine-tune (an already aligned or random-init copy, to share
            one alignment between several units); default the setup's encoder.
        task: the setup's task (toy: ``nli`` or ``paws``; default: the setup's ``task``
            attribute where it has one, e.g. ``pawsx`` for the PAWS-X setup, else ``nli``).
        regularizers: the methods' hyperparameters (default :class:`RegularizerSettings`).
        shuffle_labels: train on balanced shuffled labels (the negative control).
        hypothesis_only: blank every premise, in training and in the clean evaluation (the
            hypothesis-only control: how much of the task the hypothesis alone gives away).
        evaluate: evaluate the setup's premise x hypothesis test matrix.
        attack, n_attack, attack_stream: attack ``n_attack`` pairs per language drawn from
            the setup's stream ``attack_stream`` with each attack of ``attack``
            (code-switching only in languages that have a dictionary; the setup's
            :meth:`attack_protection` adds per-language constraints); ``None``: no attacks.
        experiment, method: the records' ``experiment`` and ``method`` (default
            ``finetune``).
        show_progress: a progress bar while fine-tuning.
    """
    hp = regularizers or RegularizerSettings()
    if task is None:
        task = getattr(setup, "task", "nli")
    model, tok = setup.encoder()
    if encoder is not None:
        model = encoder
    elif alignment != "none":
        model = setup.align(alignment)
    label = method or finetune
    train = setup.train(task)
    if shuffle_labels:
        train = shuffled_labels(train, setup.streams.shuffle)
    if hypothesis_only:
        train = blank_premises(train)
    tables = setup.dictionaries() if finetune in NEEDS_DICTIONARIES else {}
    parallel = setup.parallel(hp.contrastive_pairs) if finetune in NEEDS_PARALLEL else []
    regs = make_regularizers(finetune, hp, tables, parallel)
    t0, c0 = time.perf_counter(), time.process_time()
    clf, losses = finetune_classifier(model, tok, train, setup.finetune_config,
                                      show_progress=show_progress, regularizers=regs)
    clf.eval()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    common = {"experiment": experiment, "model": setup.model_name, "method": label,
              "task": train.task, "train_lang": setup.src, "seed": setup.seed}
    records: list[Record] = []
    if evaluate:
        tests = setup.tests(task)
        if hypothesis_only:
            tests = {k: blank_premises(v) for k, v in tests.items()}
        records += evaluate_matrix(clf, tok, tests, experiment=experiment,
                                   model_name=setup.model_name, method=label,
                                   train_lang=setup.src, seed=setup.seed,
                                   max_length=setup.max_length,
                                   precision=setup.precision)
    records += [Record(**common, eval_lang=setup.src, metric="train_seconds", value=seconds,
                       n=len(losses)),
                Record(**common, eval_lang=setup.src, metric="train_cpu_seconds", value=cpu,
                       n=len(losses))]
    examples: list[dict[str, Any]] = []
    if attack is not None and n_attack > 0:
        sets = setup.attack_sets(n_attack, attack_stream)
        tables_, dicts = setup.attack_resources(clf, tok, sets)
        for lang, data in sets.items():  # code_switch only where the language has a dictionary
            names = tuple(a for a in attack.attacks if a != "code_switch" or dicts.get(lang))
            if not names:
                continue
            cfg = replace(attack, attacks=names, **setup.attack_protection(lang))
            st = adversarial_study(clf, tok, {lang: data}, neighbour_tables=tables_,
                                   dictionaries=dicts, config=cfg,
                                   model_name=setup.model_name, train_lang=setup.src,
                                   method=label, experiment=experiment, seed=setup.seed)
            records += st.records
            examples += st.examples
    return UnitResult(records, clf, tok, list(losses), seconds, cpu, examples)


__all__ = ["TIMING_METRICS", "UnitResult", "run_unit"]

"""GLUE-X-style out-of-distribution evaluation of NLI classifiers.

GLUE-X pairs each GLUE task with test sets from other domains; for MNLI (the English NLI
training data behind XNLI) those are MNLI-mismatched, SNLI and SICK
(:data:`xtutor.data.gluex.GLUEX_TASKS`). :func:`ood_accuracy` evaluates one classifier on the
in-domain validation set and on each OOD set and records the accuracies and the OOD gap
(in-domain minus OOD accuracy); :func:`gluex_ood_study` fine-tunes one classifier per robust
method (:mod:`xtutor.experiments.robust`) on an English NLI training set and evaluates each, so
a chapter can ask whether noise-robust fine-tuning also helps under a domain shift.

Records: ``experiment="ood"``, ``task="<task>:<set>"`` (``mnli:validation``, ``mnli:snli``,
...), ``eval_lang="en"``, ``metric`` ``accuracy`` or ``ood_gap``.

Sets are read from local files in the Hub export format (``path``: a folder with
``[<task>/]<set>.{csv,tsv,jsonl}``) or from the Hugging Face Hub (``path=None``; Colab).
Offline and without files, loading fails at once with a message naming the dataset.

Example:
    >>> from xtutor.experiments.ood import ood_sets
    >>> ood_sets("mnli")
    ('mnli_mm', 'snli', 'sick')
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from xtutor.data.gluex import GLUEX_TASKS, load_gluex
from xtutor.data.types import PairDataset, check_label_order
from xtutor.evaluation import accuracy, predict_pairs
from xtutor.results import Record

KIND = "ood"


def ood_sets(task: str = "mnli") -> tuple[str, ...]:
    """The OOD set names GLUE-X lists for a pair-classification ``task``."""
    if task not in GLUEX_TASKS:
        raise ValueError(f"unknown GLUE-X task {task!r}; expected one of {list(GLUEX_TASKS)}")
    spec = GLUEX_TASKS[task]
    if spec.kind != "pair":
        raise ValueError(f"GLUE-X task {task!r} is a {spec.kind} task; OOD evaluation here "
                         f"needs a pair-classification task (mnli, qnli, rte, mrpc, qqp)")
    return tuple(spec.ood)


def load_ood_sets(task: str = "mnli", sets: Sequence[str] | None = None,
                  path: str | Path | None = None, n: int | None = None, seed: int = 0
                  ) -> dict[str, PairDataset]:
    """``{set name: dataset}`` for ``task``'s in-domain ``validation`` and OOD sets (all of
    them by default), each subsampled to ``n`` pairs (``None``: all)."""
    names = list(sets) if sets is not None else ["validation", *ood_sets(task)]
    if not names:
        raise ValueError("sets is empty: name at least one set, e.g. ['validation', 'snli']")
    out = {}
    for name in names:
        data = load_gluex(task, name, path)
        if not isinstance(data, PairDataset):
            raise ValueError(f"GLUE-X {task}:{name} is not a pair-classification set")
        out[name] = data.subset(n, seed=seed) if n is not None else data
    return out


def ood_accuracy(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                 sets: dict[str, PairDataset], *, task: str = "mnli", model_name: str = "model",
                 method: str = "plain", seed: int = 0, train_lang: str = "en",
                 max_length: int = 128, batch_size: int = 128) -> list[Record]:
    """Accuracy on every set (``validation`` is the in-domain reference) and, when
    ``validation`` is among them, the OOD gap of every other set.

    The classifier's label order must match the sets' (checked, as in
    :func:`xtutor.evaluation.predict_pairs`). Records are unstamped.
    """
    if not sets:
        raise ValueError("sets is empty: pass {name: PairDataset}")
    out = []
    acc = {}
    for name, data in sets.items():
        check_label_order(getattr(model.config, "id2label", None), data.label_names)
        acc[name] = accuracy(predict_pairs(model, tokenizer, data, batch_size=batch_size,
                                           max_length=max_length), data.labels)
        out.append(Record(experiment=KIND, model=model_name, method=method,
                          task=f"{task}:{name}", train_lang=train_lang, eval_lang="en",
                          metric="accuracy", value=acc[name], n=len(data), seed=seed))
    if "validation" in acc:
        out += [Record(experiment=KIND, model=model_name, method=method, task=f"{task}:{name}",
                       train_lang=train_lang, eval_lang="en", metric="ood_gap",
                       value=acc["validation"] - a, n=len(sets[name]), seed=seed)
                for name, a in acc.items() if name != "validation"]
    return out


def gluex_ood_study(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                    train: PairDataset, sets: dict[str, PairDataset], *,
                    methods: Sequence[str] = ("plain", "free", "smoothing"),
                    seeds: Sequence[int] = (0,), task: str = "mnli",
                    model_name: str = "model", finetune_config: object | None = None,
                    robust: dict | None = None, tables: dict | None = None) -> list[Record]:
    """Fine-tune ``model`` on ``train`` once per (seed, method) and evaluate each classifier
    with :func:`ood_accuracy`; also records ``train_seconds``.

    ``methods``: :data:`xtutor.regularizers.METHODS` names; ``smoothing``,
    ``codeswitch`` and ``consistency`` need dictionaries (``tables``: target language ->
    dictionary) and ``contrastive`` is not supported here (no parallel data in GLUE-X).
    ``robust``: their hyperparameters (:class:`~xtutor.regularizers.RegularizerSettings`
    fields). Records are unstamped.

    Example (``tests/test_ood.py`` runs it on fixtures with a tiny BERT):
        >>> gluex_ood_study(enc, tok, train, {"snli": snli}, methods=["plain"])  # doctest: +SKIP
    """
    from dataclasses import replace

    from xtutor.regularizers.factory import METHODS, RegularizerSettings, make_regularizers
    from xtutor.training import FinetuneConfig, finetune

    bad = [m for m in methods if m not in METHODS or m == "contrastive"]
    if bad or not methods:
        raise ValueError(f"methods {bad or list(methods)} not supported; choose from "
                         f"{[m for m in METHODS if m != 'contrastive']}")
    needs = {"smoothing", "codeswitch", "consistency"} & set(methods)
    if needs and not tables:
        raise ValueError(f"methods {sorted(needs)} need dictionaries: pass tables="
                         f"{{language: dictionary}} (e.g. MUSE en-xx)")
    ft = finetune_config if isinstance(finetune_config, FinetuneConfig) else FinetuneConfig()
    settings = RegularizerSettings(**(robust or {}))
    records: list[Record] = []
    for seed in seeds:
        for method in methods:
            regs = make_regularizers(method, settings, tables or {}, [])
            t0 = time.perf_counter()
            clf, losses = finetune(model, tokenizer, train, replace(ft, seed=seed),
                                   show_progress=False, regularizers=regs)
            seconds = time.perf_counter() - t0
            records += ood_accuracy(clf.eval(), tokenizer, sets, task=task, seed=seed,
                                    model_name=model_name, method=method,
                                    max_length=ft.max_length)
            records.append(Record(experiment=KIND, model=model_name, method=method,
                                  task=f"{task}:train", train_lang="en", eval_lang="en",
                                  metric="train_seconds", value=seconds, n=len(losses),
                                  seed=seed))
    return records


def run_gluex_ood(model_name: str, *, path: str | Path | None = None, task: str = "mnli",
                  n_train: int = 20_000, n_eval: int | None = 2_000,
                  methods: Sequence[str] = ("plain", "free"), seeds: Sequence[int] = (0,),
                  finetune_config: object | None = None, robust: dict | None = None
                  ) -> list[Record]:
    """The chapter's GLUE-X cell in one call: load ``model_name`` (:func:`load_encoder`),
    ``n_train`` pairs of ``task``'s training set and ``n_eval`` pairs of its validation and OOD
    sets (``path``: local files in the Hub export format; ``None``: the Hub), then
    :func:`gluex_ood_study`. Records are unstamped.

    Example (Colab, GPU):
        >>> recs = run_gluex_ood("xlm-roberta-base", seeds=[0, 1, 2])  # doctest: +SKIP
    """
    from xtutor.models import load_encoder

    train = load_gluex(task, "train", path)
    if not isinstance(train, PairDataset):
        raise ValueError(f"GLUE-X {task} is not a pair-classification task")
    train = train.subset(n_train, seed=0) if n_train else train
    sets = load_ood_sets(task, path=path, n=n_eval)
    model, tok = load_encoder(model_name)
    return gluex_ood_study(model, tok, train, sets, methods=methods, seeds=seeds, task=task,
                           model_name=Path(str(model_name)).name,
                           finetune_config=finetune_config, robust=robust)

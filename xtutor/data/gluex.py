"""GLUE-X: the eight GLUE tasks with out-of-distribution (OOD) test sets.

:data:`GLUEX_TASKS` describes, for each task, the in-domain Hub dataset (``nyu-mll/glue`` and its
config) and each OOD set: its Hub id (None where the set has no canonical Hub copy and must be
passed as a local file), the columns that hold the text(s) and label, and how its labels map onto
the in-domain label order.

OOD sets whose labels need remapping (``GlueXSource.remap`` is True):

* RTE <- MRPC, QQP: paraphrase labels are (not_equivalent, equivalent), i.e. *reversed* with
  respect to RTE's (entailment, not_entailment): equivalent/duplicate -> entailment.
* MRPC, QQP <- RTE, HANS: the reverse flip (entailment -> equivalent / duplicate).
* RTE <- SciTail: string labels ``entails``/``neutral`` -> entailment/not_entailment.
* HANS is 2-way (entailment, non-entailment): same index order as RTE (no flip), but it cannot
  serve a 3-way MNLI model without merging neutral and contradiction.
* SNLI has the MNLI order but marks pairs without a gold label with -1: those are dropped (and
  counted in a warning).
* SICK (for MNLI): the Hub copy uses MNLI's integer order; the original release uses upper-case
  words (ENTAILMENT, NEUTRAL, CONTRADICTION), which are mapped by name.
* STS-B <- SICK relatedness: a 1-5 score against STS-B's 0-5; kept unscaled (Pearson and
  Spearman correlations are unaffected by the linear rescaling).

Local files (``path=``) are CSV, TSV or JSONL in the Hub export format, i.e. what
``Dataset.to_csv(f)``, ``Dataset.to_csv(f, sep="\\t")`` or ``Dataset.to_json(f)`` write: a header
(or JSON keys) with the Hub column names, integer labels in the source dataset's own Hub order (or
label words). CSV/TSV fields follow the standard CSV quoting rules.
"""

from __future__ import annotations

import csv
import json
import math
import os
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from xtutor.data.corpora import SentenceDataset, SentenceExample
from xtutor.data.hub import hub_label_names, load_hub_dataset
from xtutor.data.paths import Errors, RowErrors, first_existing
from xtutor.data.types import NLI_LABELS, PairDataset, PairExample, check_label_order

TaskKind = Literal["single", "pair", "regression"]


@dataclass(frozen=True)
class GlueXSource:
    """One GLUE-X evaluation source (the in-domain GLUE split or an OOD test set).

    ``columns`` maps roles (``text``, ``text_b`` for pairs, ``label``) to the source's column
    names. ``label_map`` maps the source's raw labels (its integer indices as strings, and label
    words, lower-case) to in-domain label names; None for regression. ``source_labels`` is the
    source's own label order on the Hub (checked against the Hub's ClassLabel names when loading),
    None when the Hub column is not a ClassLabel. ``drop_labels``: raw labels that mark unlabelled
    rows (dropped with a warning).
    """

    name: str
    hub_id: str | None
    hub_config: str | None
    hub_split: str | None
    columns: Mapping[str, str]
    label_map: Mapping[str, str] | None
    source_labels: tuple[str, ...] | None = None
    drop_labels: tuple[str, ...] = ()
    remap: bool = False
    note: str = ""


@dataclass(frozen=True)
class GlueXTask:
    """A GLUE task with its in-domain Hub config and its OOD sources."""

    name: str
    kind: TaskKind
    glue_config: str
    label_names: tuple[str, ...] | None
    columns: Mapping[str, str]
    splits: Mapping[str, str]
    ood: Mapping[str, GlueXSource] = field(default_factory=dict)

    @property
    def in_domain_hub(self) -> tuple[str, str]:
        """``("nyu-mll/glue", config)``."""
        return GLUE_HUB_ID, self.glue_config

    def source(self, split_or_ood: str) -> GlueXSource:
        """The in-domain split (``train``/``validation``) or OOD set named ``split_or_ood``."""
        key = str(split_or_ood).strip().lower()
        if key in self.splits:
            return GlueXSource(
                name=key, hub_id=GLUE_HUB_ID, hub_config=self.glue_config,
                hub_split=self.splits[key], columns=self.columns,
                label_map=None if self.label_names is None else _identity(self.label_names),
                source_labels=self.label_names, drop_labels=("-1",),
            )
        if key == "test":
            raise ValueError(
                f"GLUE test labels are hidden (-1); evaluate GLUE-X {self.name} on 'validation' "
                f"or an OOD set: {', '.join(self.ood)}"
            )
        if key in self.ood:
            return self.ood[key]
        raise ValueError(
            f"unknown split_or_ood {split_or_ood!r} for GLUE-X task {self.name!r}; expected one "
            f"of {', '.join(list(self.splits) + list(self.ood))}"
        )


GLUE_HUB_ID = "nyu-mll/glue"


def _identity(names: tuple[str, ...]) -> dict[str, str]:
    m = {str(i): n for i, n in enumerate(names)}
    m.update({n.lower(): n for n in names})
    return m


def _map(pairs: Mapping[str, str]) -> dict[str, str]:
    return {str(k).lower(): v for k, v in pairs.items()}


_SST2 = ("negative", "positive")
_QNLI = ("entailment", "not_entailment")
_RTE = ("entailment", "not_entailment")
_MRPC = ("not_equivalent", "equivalent")
_QQP = ("not_duplicate", "duplicate")
_COLA = ("unacceptable", "acceptable")
_ENT2 = ("entailment", "non-entailment")  # HANS

_SENT = {"text": "sentence", "label": "label"}
_S12 = {"text": "sentence1", "text_b": "sentence2", "label": "label"}
_Q12 = {"text": "question1", "text_b": "question2", "label": "label"}
_PH = {"text": "premise", "text_b": "hypothesis", "label": "label"}
_SICK = {"text": "sentence_A", "text_b": "sentence_B", "label": "label"}


def _glue_ood(name: str, config: str, cols: Mapping[str, str], src: tuple[str, ...],
              target: tuple[str, ...], flip: bool, note: str = "") -> GlueXSource:
    """A GLUE validation split used as another task's OOD set (2-way labels, maybe flipped)."""
    dst = tuple(reversed(target)) if flip else target
    lm = {str(i): dst[i] for i in range(2)}
    lm.update({src[i]: dst[i] for i in range(2)})
    return GlueXSource(name, GLUE_HUB_ID, config, "validation", cols, _map(lm), src, ("-1",),
                       remap=flip, note=note or f"GLUE {config} validation (test labels hidden)")


def _hans(target: tuple[str, ...], flip: bool) -> GlueXSource:
    dst = tuple(reversed(target)) if flip else target
    lm = {"0": dst[0], "1": dst[1], _ENT2[0]: dst[0], _ENT2[1]: dst[1], "not_entailment": dst[1]}
    return GlueXSource(
        "hans", "jhu-cogsci/hans", None, "validation", _PH, _map(lm), _ENT2, remap=flip,
        note="HANS is 2-way (entailment, non-entailment)"
        + ("; flipped onto the paraphrase order" if flip else ""),
    )


def _local_only(name: str, cols: Mapping[str, str], names: tuple[str, ...], note: str
                ) -> GlueXSource:
    return GlueXSource(name, None, None, None, cols, _identity(names), None, remap=False,
                       note=note + "; no canonical Hub copy: pass path=")


def _twitter(names: tuple[str, ...]) -> GlueXSource:
    return _local_only(
        "twitter", _S12, names,
        "Twitter paraphrase corpus (PIT-2015 / Twitter-URL), labels 0/1 in the in-domain order",
    )


_NLI_MAP = _identity(NLI_LABELS)

#: The eight GLUE-X tasks, keyed by GLUE config name.
GLUEX_TASKS: dict[str, GlueXTask] = {
    "sst2": GlueXTask("sst2", "single", "sst2", _SST2, _SENT,
                      {"train": "train", "validation": "validation"}, {
        "imdb": GlueXSource("imdb", "stanfordnlp/imdb", None, "test",
                            {"text": "text", "label": "label"},
                            _map({"0": "negative", "1": "positive", "neg": "negative",
                                  "pos": "positive", "negative": "negative",
                                  "positive": "positive"}), ("neg", "pos")),
        "yelp": GlueXSource("yelp", "fancyzhx/yelp_polarity", None, "test",
                            {"text": "text", "label": "label"},
                            _map({"0": "negative", "1": "positive", "negative": "negative",
                                  "positive": "positive"}), ("1", "2"),
                            note="Hub ClassLabel names are '1' (negative) and '2' (positive); "
                                 "local files use the Hub's integers 0/1, not the names"),
        "amazon": GlueXSource("amazon", "fancyzhx/amazon_polarity", None, "test",
                              {"text": "content", "label": "label"},
                              _map({"0": "negative", "1": "positive", "negative": "negative",
                                    "positive": "positive"}), ("negative", "positive"),
                              note="text is the review body (content); the title is not used"),
        "flipkart": _local_only("flipkart", {"text": "text", "label": "label"}, _SST2,
                                "Flipkart product reviews, neutral reviews removed"),
    }),
    "mnli": GlueXTask("mnli", "pair", "mnli", NLI_LABELS, _PH,
                      {"train": "train", "validation": "validation_matched",
                       "validation_matched": "validation_matched"}, {
        "mnli_mm": GlueXSource("mnli_mm", GLUE_HUB_ID, "mnli", "validation_mismatched", _PH,
                               _NLI_MAP, NLI_LABELS, ("-1",),
                               note="MNLI mismatched genres"),
        "snli": GlueXSource("snli", "stanfordnlp/snli", None, "test", _PH, _NLI_MAP, NLI_LABELS,
                            ("-1",), note="pairs without a gold label (-1) are dropped"),
        "sick": GlueXSource("sick", "RobZamp/sick", None, "test", _SICK, _NLI_MAP, NLI_LABELS,
                            remap=False,
                            note="integer labels in MNLI order; upper-case words of the original "
                                 "release (ENTAILMENT...) are mapped by name"),
    }),
    "qnli": GlueXTask("qnli", "pair", "qnli", _QNLI,
                      {"text": "question", "text_b": "sentence", "label": "label"},
                      {"train": "train", "validation": "validation"}, {
        "newsqa": _local_only("newsqa", {"text": "question", "text_b": "sentence",
                                         "label": "label"}, _QNLI,
                              "NewsQA recast as QNLI (question, sentence, label)"),
    }),
    "rte": GlueXTask("rte", "pair", "rte", _RTE, _S12,
                     {"train": "train", "validation": "validation"}, {
        "mrpc": _glue_ood("mrpc", "mrpc", _S12, _MRPC, _RTE, flip=True),
        "qqp": _glue_ood("qqp", "qqp", _Q12, _QQP, _RTE, flip=True),
        "hans": _hans(_RTE, flip=False),
        "scitail": GlueXSource("scitail", "allenai/scitail", "tsv_format", "test", _PH,
                               _map({"entails": "entailment", "neutral": "not_entailment",
                                     "entailment": "entailment",
                                     "not_entailment": "not_entailment"}), None, remap=True,
                               note="string labels entails/neutral"),
    }),
    "mrpc": GlueXTask("mrpc", "pair", "mrpc", _MRPC, _S12,
                      {"train": "train", "validation": "validation"}, {
        "qqp": _glue_ood("qqp", "qqp", _Q12, _QQP, _MRPC, flip=False),
        "rte": _glue_ood("rte", "rte", _S12, _RTE, _MRPC, flip=True),
        "hans": _hans(_MRPC, flip=True),
        "twitter": _twitter(_MRPC),
    }),
    "qqp": GlueXTask("qqp", "pair", "qqp", _QQP, _Q12,
                     {"train": "train", "validation": "validation"}, {
        "mrpc": _glue_ood("mrpc", "mrpc", _S12, _MRPC, _QQP, flip=False),
        "rte": _glue_ood("rte", "rte", _S12, _RTE, _QQP, flip=True),
        "hans": _hans(_QQP, flip=True),
        "twitter": _twitter(_QQP),
    }),
    "cola": GlueXTask("cola", "single", "cola", _COLA, _SENT,
                      {"train": "train", "validation": "validation"}, {
        "grammar_test": _local_only("grammar_test", _SENT, _COLA,
                                    "grammaticality test sentences (sentence, label 0/1)"),
    }),
    "stsb": GlueXTask("stsb", "regression", "stsb", None, _S12,
                      {"train": "train", "validation": "validation"}, {
        "sick": GlueXSource("sick", "RobZamp/sick", None, "test",
                            {"text": "sentence_A", "text_b": "sentence_B",
                             "label": "relatedness_score"}, None,
                            note="relatedness 1-5 vs STS-B 0-5, not rescaled"),
    }),
}


# ---------------------------------------------------------------------------------------------
# reading rows


_ID_COLUMNS = ("idx", "id", "pairID", "pair_ID", "pair_id", "guid")


def _iter_local_rows(file: Path, errs: RowErrors) -> tuple[list[str], Iterator[tuple[int, Any]]]:
    """``(columns, iterator of (line, row dict or None when malformed))`` for CSV/TSV/JSONL."""
    suffix = file.suffix.lower()
    if suffix in (".csv", ".tsv"):
        fh = file.open(encoding="utf-8-sig", newline="")
        reader = csv.reader(fh, delimiter="\t" if suffix == ".tsv" else ",", strict=True)
        try:
            header = next(reader)
        except StopIteration:
            fh.close()
            raise ValueError(f"{file} is empty: expected a header row") from None
        except csv.Error as e:
            fh.close()
            raise ValueError(f"{file}, line 1: unreadable header ({e})") from e
        header = [h.strip() for h in header]

        def rows() -> Iterator[tuple[int, Any]]:
            with fh:
                line = reader.line_num + 1
                while True:
                    try:
                        rec = next(reader)
                    except StopIteration:
                        return
                    except csv.Error as e:
                        errs.bad(line, f"unreadable CSV row ({e})")
                        line = reader.line_num + 1
                        continue
                    here, line = line, reader.line_num + 1
                    if not rec or all(not x.strip() for x in rec):
                        continue
                    if len(rec) != len(header):
                        errs.bad(here, f"expected {len(header)} fields {header}, got {len(rec)}")
                        yield here, None
                        continue
                    yield here, dict(zip(header, rec, strict=True))

        return header, rows()
    if suffix in (".jsonl", ".json"):
        lines = file.read_text(encoding="utf-8-sig").split("\n")
        parsed: list[tuple[int, Any]] = []
        cols: dict[str, None] = {}
        for i, ln in enumerate(lines, start=1):
            if not ln.strip():
                continue
            try:
                obj = json.loads(ln)
            except json.JSONDecodeError as e:
                errs.bad(i, f"invalid JSON ({e.msg})")
                parsed.append((i, None))
                continue
            if not isinstance(obj, dict):
                errs.bad(i, f"expected a JSON object, got {type(obj).__name__}")
                parsed.append((i, None))
                continue
            for k in obj:
                cols.setdefault(k, None)
            parsed.append((i, obj))
        return list(cols), iter(parsed)
    raise ValueError(f"{file}: unsupported file type {suffix!r}; expected .csv, .tsv or .jsonl")


def _raw_label(value: Any) -> str | None:
    """A label value as a lower-case string key ("1", "entailment"); None when missing."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return str(int(value)) if value.is_integer() else str(value)
    s = str(value).strip().lower()
    if not s:
        return None
    try:
        f = float(s)
    except ValueError:
        return s
    return str(int(f)) if f.is_integer() else s


def _convert(
    task: GlueXTask,
    src: GlueXSource,
    rows: Iterator[tuple[int, Any]],
    where: str,
    errs: RowErrors,
    file_label_names: tuple[str, ...] | None,
) -> PairDataset | SentenceDataset:
    cols = src.columns
    names = task.label_names
    pair_examples: list[PairExample] = []
    sent_examples: list[SentenceExample] = []
    dropped = 0
    for k, (line, row) in enumerate(rows):
        if row is None:
            continue
        text = row.get(cols["text"])
        text_b = row.get(cols["text_b"]) if "text_b" in cols else None
        text = text.strip() if isinstance(text, str) else text
        text_b = text_b.strip() if isinstance(text_b, str) else text_b
        if not isinstance(text, str) or not text or ("text_b" in cols and (
                not isinstance(text_b, str) or not text_b)):
            errs.bad(line, f"empty or missing text in column(s) "
                           f"{[cols[r] for r in ('text', 'text_b') if r in cols]}")
            continue
        ex_id = next((str(row[c]) for c in _ID_COLUMNS if row.get(c) not in (None, "")),
                     f"row{k}")
        ex_id = f"{task.name}-{src.name}-{ex_id}"
        raw = row.get(cols["label"])
        if names is None:  # regression
            try:
                score = float(raw)
            except (TypeError, ValueError):
                score = math.nan
            if not math.isfinite(score) or isinstance(raw, bool):
                errs.bad(line, f"label {raw!r} in column {cols['label']!r} is not a finite number")
                continue
            sent_examples.append(SentenceExample(text, score, "en", ex_id, text_b))
            continue
        key = _raw_label(raw)
        if key is not None and key in src.drop_labels:
            dropped += 1
            continue
        if key is not None and file_label_names is not None and key.isdigit():
            i = int(key)
            key = file_label_names[i].lower() if i < len(file_label_names) else key
        name = None if key is None or src.label_map is None else src.label_map.get(key)
        if name is None:
            known = sorted(src.label_map or {})
            errs.bad(line, f"unknown label {raw!r} in column {cols['label']!r}; expected one of "
                           f"{known}")
            continue
        label = names.index(name)
        if task.kind == "pair":
            pair_examples.append(PairExample(text, text_b or "", label, "en", "en", ex_id))
        else:
            sent_examples.append(SentenceExample(text, label, "en", ex_id))
    errs.finish(stacklevel=4)
    if dropped:
        warnings.warn(
            f"{where}: dropped {dropped} unlabelled row(s) (label in {list(src.drop_labels)})",
            UserWarning, stacklevel=3,
        )
    n = len(pair_examples) + len(sent_examples)
    if n == 0:
        raise ValueError(f"{where}: no labelled examples")
    tname = f"gluex-{task.name}"
    if task.kind == "pair":
        assert names is not None
        return PairDataset(tname, names, pair_examples)
    return SentenceDataset(tname, names, sent_examples)


def find_gluex_file(folder: Path, task: str, split_or_ood: str) -> Path:
    """``<folder>/[<task>/]<split_or_ood>.{csv,tsv,jsonl,json}``, else FileNotFoundError."""
    tried = [
        base / f"{split_or_ood}.{ext}"
        for base in (folder / task, folder)
        for ext in ("csv", "tsv", "jsonl", "json")
    ]
    found = first_existing(tried)
    if found is None:
        raise FileNotFoundError(
            f"no GLUE-X file for {task}/{split_or_ood} under {folder}; looked for: "
            + ", ".join(str(p.relative_to(folder)) for p in tried)
        )
    return found


def load_gluex(
    task: str,
    split_or_ood: str,
    path: str | os.PathLike[str] | None = None,
    *,
    file_label_names: tuple[str, ...] | None = None,
    errors: Errors = "raise",
) -> PairDataset | SentenceDataset:
    """A GLUE-X evaluation set, labels mapped onto the in-domain task's label order.

    ``task``: a key of :data:`GLUEX_TASKS` (``sst2 mnli qnli rte mrpc qqp cola stsb``).
    ``split_or_ood``: ``"train"``, ``"validation"`` (in-domain GLUE) or an OOD set name
    (``GLUEX_TASKS[task].ood``). Returns a :class:`PairDataset` for pair classification, a
    :class:`SentenceDataset` for single-sentence tasks and STS-B (regression, ``text_b`` set).

    ``path``: a local CSV/TSV/JSONL file in the Hub export format, or a folder holding
    ``[<task>/]<split_or_ood>.<ext>``; with ``path=None`` the Hub is used (a RuntimeError at
    once when offline). ``file_label_names`` declares the order of a local file's integer labels
    when it is not the source's Hub order (e.g. ``("contradiction", "neutral", "entailment")``);
    they are then mapped by name. Malformed rows (missing text, unknown label, wrong field count)
    raise a ValueError naming file and line, or are skipped with one warning under
    ``errors="skip"``.

    Example:
        >>> ds = load_gluex("rte", "mrpc", path="gluex/rte/mrpc.csv")  # doctest: +SKIP
        >>> ds.label_names  # doctest: +SKIP
        ('entailment', 'not_entailment')
        >>> ds.labels[:2]  # MRPC 'equivalent' (1) became RTE 'entailment' (0)  # doctest: +SKIP
        [0, 1]
    """
    key = str(task).strip().lower().replace("-", "")
    if key not in GLUEX_TASKS:
        raise ValueError(f"unknown GLUE-X task {task!r}; expected one of {', '.join(GLUEX_TASKS)}")
    spec = GLUEX_TASKS[key]
    src = spec.source(split_or_ood)
    if file_label_names is not None:
        if spec.label_names is None:
            raise ValueError(f"file_label_names makes no sense for the regression task {key!r}")
        file_label_names = tuple(str(n) for n in file_label_names)
        known = sorted(k for k in (src.label_map or {}) if not k.isdigit())
        unknown = [n for n in file_label_names if n.lower() not in known]
        if unknown:
            raise ValueError(
                f"file_label_names {file_label_names} has names {unknown} unknown to "
                f"{key}/{src.name}; known: {known}"
            )
    if path is None:
        return _load_from_hub(spec, src)
    p = Path(path).expanduser()
    if p.is_dir():
        p = find_gluex_file(p, key, src.name)
    elif not p.is_file():
        raise FileNotFoundError(f"path={str(path)!r} for load_gluex is neither a file nor a folder")
    errs = RowErrors(p, errors)
    header, rows = _iter_local_rows(p, errs)
    missing = [c for c in src.columns.values() if c not in header]
    if missing:
        raise ValueError(
            f"{p}: missing column(s) {missing} for GLUE-X {key}/{src.name}; the file has "
            f"{header}, expected {dict(src.columns)}"
        )
    return _convert(spec, src, rows, str(p), errs, file_label_names)


def _load_from_hub(spec: GlueXTask, src: GlueXSource) -> PairDataset | SentenceDataset:
    hint = (
        f"pass path= to xtutor.data.load_gluex('{spec.name}', '{src.name}', path=...): a CSV, TSV "
        f"or JSONL file with columns {sorted(set(src.columns.values()))}"
    )
    if src.hub_id is None:
        raise ValueError(f"GLUE-X {spec.name}/{src.name} has no Hub copy ({src.note}); {hint}")
    ds = load_hub_dataset(src.hub_id, src.hub_config, src.hub_split, local_hint=hint)
    cols = list(getattr(ds, "column_names", []) or [])
    missing = [c for c in src.columns.values() if c not in cols]
    if missing:
        raise ValueError(
            f"{src.hub_id} ({src.hub_config}, {src.hub_split}) lacks column(s) {missing}; it has "
            f"{cols}, expected {dict(src.columns)}"
        )
    names = hub_label_names(ds, src.columns["label"])
    if names is not None and src.source_labels is not None:
        check_label_order(names, src.source_labels)
    where = f"{src.hub_id} ({src.hub_config}, {src.hub_split})"
    errs = RowErrors(where, "raise")
    return _convert(spec, src, ((k, row) for k, row in enumerate(ds)), where, errs, None)

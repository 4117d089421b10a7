"""``experiment: xnli_ood``: XNLI genre shift, a GLUE-X-style out-of-distribution test on real
text in every local language.

XNLI's dev and test pairs come from ten genres (:data:`xtutor.data.xnli.XNLI_GENRES`), five of
them MultiNLI's training genres (:data:`~xtutor.data.xnli.MNLI_GENRES`: fiction, government,
slate, telephone, travel) and five that MultiNLI never trained on (face-to-face, letters, 9/11,
OUP, verbatim). A classifier is fine-tuned on English *dev* pairs of the ``in_domain`` genres
only (no XNLI training data offline), once per (seed, method) with the regularisers of
:mod:`xtutor.regularizers` through :func:`xtutor.experiments.unit.run_unit`, and evaluated on
*test* pairs of every genre in every language: does a method that resists adversarial
perturbation (chapter 4) also resist a shift of domain, and does the answer change with the
language?

The genre of every pair is read from the ``genre`` column of ``<xx>.genre.<split>.tsv``
(English from the English columns of ``my.genre.*``) by
:func:`xtutor.data.xnli.load_xnli_by_genre`. Languages: ``en sw ur my``. The Spanish test set
(``xnli-es-original.tsv``) has no genre column, so ``es`` is refused with a message saying so
(a data folder with the XNLI 1.0 release, which has one, would serve every XNLI language).

Records (``experiment="xnli_ood"``, ``train_lang="en"``, ``premise_lang = hypothesis_lang =
eval_lang``):

- ``task="xnli_ood"``: ``acc_in_domain`` (test pairs of the in-domain genres, pooled),
  ``acc_out_of_domain`` (the other genres, pooled) and ``ood_gap`` (in minus out; ``n`` = the
  out-of-domain pairs, as in :mod:`xtutor.experiments.ood`), per ``eval_lang``;
- ``task="xnli_ood:<genre>"`` (genre in ``task``, as :mod:`~xtutor.experiments.ood` puts the
  set there; :class:`~xtutor.results.Record` has no genre field): ``accuracy`` per genre and
  language;
- timing: ``train_seconds`` / ``train_cpu_seconds`` (``task="xnli_ood"``, ``eval_lang="en"``,
  ``n`` = optimiser steps) and ``seconds`` of evaluation per language
  (``task="xnli_ood:evaluate"``, ``n`` = predictions); ``xtutor verify`` skips all three.

Test items never reach training: training is English dev, every training pair holding a test
sentence of any language is dropped (none in practice), and the parallel text of the
``contrastive`` method is dev translations of the in-domain genres
(:meth:`XnliGenreSetup.leakage` counts: all 0). Test pairs are the same items in every language
(XNLI is parallel; checked), ``n_test`` per genre drawn with the seed's ``test`` stream.

Example:
    >>> s = XnliOodSettings.from_settings({"seeds": [0], "methods": ["plain"], "n_test": 5})
    >>> s.in_domain, s.out_of_domain
    (('fiction', 'government', 'slate', 'telephone', 'travel'), ('facetoface', 'letters', 'nineeleven', 'oup', 'verbatim'))
    >>> [c.name for c in xnli_ood_cells(s)]
    ['seed0__plain']
    >>> XnliOodSettings.from_settings({"in_domain": ["fiction", "sports"]})
    Traceback (most recent call last):
    ...
    xtutor.settings.SettingsError: experiment 'xnli_ood': xnli_ood setting 'in_domain': unknown genre(s) ['sports']; XNLI's genres: facetoface, fiction, government, letters, nineeleven, oup, slate, telephone, travel, verbatim
"""  # noqa: E501

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from xtutor.data.types import PairDataset
from xtutor.data.xnli import MNLI_GENRES, XNLI_GENRES
from xtutor.evaluation import predict_pairs
from xtutor.experiments.streams import Encoder
from xtutor.experiments.unit import run_unit
from xtutor.experiments.xnli_setup import XnliSetup, XnliSizes
from xtutor.regularizers.factory import METHODS, NEEDS_DICTIONARIES, RegularizerSettings
from xtutor.results import Record
from xtutor.runner import SeedMethodCell

KIND = "xnli_ood"
#: Languages whose local XNLI files carry genres (English from ``my.genre.*``).
GENRE_LANGUAGES: tuple[str, ...] = ("en", "sw", "ur", "my")
#: The ``task`` of the aggregate records; per-genre records use ``f"{TASK}:<genre>"``.
TASK = KIND


def _tuple(name: str, values: Sequence[Any], empty: bool = False) -> tuple:
    vals = tuple(values)
    if not vals and not empty:
        raise ValueError(f"xnli_ood setting {name!r} must be a non-empty list")
    if len(set(vals)) != len(vals):
        raise ValueError(f"xnli_ood setting {name!r} has duplicates: {list(vals)}")
    return vals


@dataclass(frozen=True)
class XnliOodSettings:
    """Settings of an ``xnli_ood`` run (module docstring); unknown keys are refused
    (:func:`xtutor.settings.check_settings`).

    Attributes:
        model: a :func:`xtutor.models.load_encoder` name or model directory.
        seeds, methods: the cells (methods of :data:`xtutor.regularizers.METHODS`).
        in_domain: the training genres (default MultiNLI's five); every other XNLI genre is
            out of domain.
        languages: evaluation languages, ``en`` included (default :data:`GENRE_LANGUAGES`).
        n_train: cap on English in-domain dev pairs (``None``: all, 5 x 249).
        n_test: test pairs per genre per language (``None``: all 501).
        epochs, lr, batch_size, max_length: fine-tuning (max_length also for evaluation).
        precision: of the evaluation forward passes (:mod:`xtutor.precision`);
            finetune_precision, freeze_embeddings: fine-tuning speed settings
            (:class:`xtutor.training.FinetuneConfig`).
        codeswitch_languages: MUSE ``en-xx`` dictionaries of the dictionary methods.
        robust: the methods' hyperparameters (:class:`~xtutor.regularizers.RegularizerSettings`).
        data_dir: the data folder holding ``xnli/`` (and ``muse/``); ``None``:
            ``$XTUTOR_DATA_DIR`` or ``../shared/data``.
    """

    model: str = "e5-small-offline"
    seeds: tuple[int, ...] = (0, 1, 2)
    methods: tuple[str, ...] = ("plain", "free", "smoothing", "codeswitch")
    in_domain: tuple[str, ...] = MNLI_GENRES
    languages: tuple[str, ...] = GENRE_LANGUAGES
    n_train: int | None = None
    n_test: int | None = 200
    epochs: float = 3.0
    lr: float = 1e-4
    batch_size: int = 16
    max_length: int = 96
    precision: str = "fp32"
    finetune_precision: str = "fp32"
    freeze_embeddings: bool = False
    codeswitch_languages: tuple[str, ...] = ("es", "de", "fr", "ru", "hi", "ar")
    robust: RegularizerSettings = field(default_factory=RegularizerSettings)
    data_dir: str | None = None

    def __post_init__(self) -> None:
        from xtutor.data.xnli import XNLI_LANGUAGES, XNLI_LOCAL_ONLY_LANGUAGES
        from xtutor.precision import check_precision_settings

        if isinstance(self.robust, Mapping):  # a plain mapping in Python code
            object.__setattr__(self, "robust", RegularizerSettings(**self.robust))
        if not str(self.model).strip():
            raise ValueError("xnli_ood setting 'model' must be a model name or directory")
        for name in ("seeds", "methods", "in_domain", "languages", "codeswitch_languages"):
            object.__setattr__(self, name, _tuple(name, getattr(self, name)))
        if any(s < 0 for s in self.seeds):
            raise ValueError(f"xnli_ood setting 'seeds' must be >= 0, got {list(self.seeds)}")
        bad = [m for m in self.methods if m not in METHODS]
        if bad:
            raise ValueError(f"xnli_ood setting 'methods': unknown {bad}; choose from "
                             f"{list(METHODS)}")
        bad = [g for g in self.in_domain if g not in XNLI_GENRES]
        if bad:
            raise ValueError(f"xnli_ood setting 'in_domain': unknown genre(s) {bad}; XNLI's "
                             f"genres: {', '.join(XNLI_GENRES)}")
        if not self.out_of_domain:
            raise ValueError("xnli_ood setting 'in_domain' names all ten genres; leave at "
                             "least one out to evaluate out of domain")
        known = XNLI_LANGUAGES + XNLI_LOCAL_ONLY_LANGUAGES
        bad = [x for x in self.languages if x not in known]
        if bad:
            raise ValueError(f"xnli_ood setting 'languages': unknown {bad}; XNLI languages: "
                             f"{', '.join(known)}")
        if "en" not in self.languages:
            raise ValueError(f"xnli_ood setting 'languages' must include 'en' (the training "
                             f"language, the in-language reference), got {list(self.languages)}")
        for name in ("n_train", "n_test"):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise ValueError(f"xnli_ood setting {name!r} must be >= 1 or null (all), "
                                 f"got {v}")
        if self.epochs <= 0 or self.lr <= 0:
            raise ValueError(f"xnli_ood settings 'epochs' and 'lr' must be > 0, got "
                             f"{self.epochs}, {self.lr}")
        if self.batch_size < 1 or self.max_length < 8:
            raise ValueError(f"xnli_ood settings 'batch_size' (>= 1) and 'max_length' (>= 8): "
                             f"got {self.batch_size}, {self.max_length}")
        check_precision_settings("xnli_ood", self.precision, self.finetune_precision)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> XnliOodSettings:
        """Check a config's settings (types converted, unknown keys refused, errors name the
        setting)."""
        from xtutor.settings import check_settings

        return check_settings(cls, settings, source=f"experiment {KIND!r}")

    @property
    def out_of_domain(self) -> tuple[str, ...]:
        """The XNLI genres not in ``in_domain`` (sorted)."""
        return tuple(g for g in XNLI_GENRES if g not in self.in_domain)


@dataclass(frozen=True)
class XnliOodCell(SeedMethodCell):
    """One (seed, method) run: fine-tune, then evaluate every genre in every language. Each
    cell is its own shard group: cells share only the encoder as shipped (loaded in seconds),
    so ``--shard`` balances cells, not seeds."""

    shared_seed: bool = False


def xnli_ood_cells(s: XnliOodSettings) -> list[XnliOodCell]:
    """Every (seed, method) of ``s`` in run order."""
    return [XnliOodCell(seed, m) for seed in s.seeds for m in s.methods]


class XnliGenreSetup(XnliSetup):
    """The XNLI setup (:class:`~xtutor.experiments.xnli_setup.XnliSetup`) with a genre split:
    fine-tuning on English dev pairs of the ``in_domain`` genres, evaluation on test pairs of
    every genre (:meth:`genre_tests`), per language.

    Everything else is :class:`XnliSetup`'s (the encoder, MUSE dictionaries, seed streams,
    :class:`~xtutor.training.FinetuneConfig`), except that the parallel text of the
    ``contrastive`` method is restricted to in-domain dev translations. The constructor reads
    the genre of every test pair of every language and fails before any model loads when a
    language has none (the Spanish test file) or the languages are not parallel.

    Args:
        seed: the seed. in_domain: the training genres. languages: evaluation languages
            (``en`` included). n_train: cap on training pairs (``None``: all).
        n_test: test pairs per genre per language (``None``: all).
        model, epochs, batch_size, max_length, lr, data_dir, freeze_embeddings,
            train_precision, precision, codeswitch_languages: as in :class:`XnliSetup`.
        encoder: an already loaded ``(model, tokenizer)`` of ``model`` (shared across seeds).

    Example:
        >>> s = XnliGenreSetup(0, n_train=100, n_test=20)  # doctest: +SKIP
        >>> len(s.train()), len(s.genre_tests()[("sw", "oup")])  # doctest: +SKIP
        (100, 20)
    """

    def __init__(self, seed: int, *, in_domain: Sequence[str] = MNLI_GENRES,
                 languages: Sequence[str] = GENRE_LANGUAGES, n_train: int | None = None,
                 n_test: int | None = 200, model: str = "e5-small-offline",
                 epochs: float = 3.0, batch_size: int = 16, max_length: int = 96,
                 lr: float = 1e-4, data_dir: str | Path | None = None,
                 freeze_embeddings: bool = False, train_precision: str = "fp32",
                 precision: str = "fp32",
                 codeswitch_languages: Sequence[str] = ("es", "de", "fr", "ru", "hi", "ar"),
                 encoder: Encoder | None = None) -> None:
        bad = [g for g in in_domain if g not in XNLI_GENRES]
        if bad or not in_domain or set(in_domain) >= set(XNLI_GENRES):
            raise ValueError(f"xnli genre setup: in_domain must be some, not all, of "
                             f"{list(XNLI_GENRES)}; got {list(in_domain)}")
        sizes = XnliSizes(train=n_train or 1, test=n_test or 1, epochs=epochs,
                          batch_size=batch_size, max_length=max_length)
        super().__init__(seed, model=model, sizes=sizes, languages=languages,
                         codeswitch_languages=codeswitch_languages, lr=lr, data_dir=data_dir,
                         freeze_embeddings=freeze_embeddings, train_precision=train_precision,
                         precision=precision, attack_languages=(), source="local")
        self.in_domain = tuple(in_domain)
        self.out_of_domain = tuple(g for g in XNLI_GENRES if g not in self.in_domain)
        self.n_train, self.n_test = n_train, n_test
        self._encoder = encoder
        self._by_genre: dict[tuple[str, str], dict[str, PairDataset]] = {}
        en = self.by_genre("en", "test")
        for lang in self.languages:  # every language readable by genre, and parallel
            self._check_parallel(lang, "test", en)

    def by_genre(self, lang: str, split: str) -> dict[str, PairDataset]:
        """``{genre: dataset}`` of one language and split (read once; a clear error for a
        language without genres)."""
        from xtutor.data.xnli import load_xnli_by_genre

        key = (lang, split)
        if key not in self._by_genre:
            folder = self.data_root("XNLI") / "xnli"
            try:
                self._by_genre[key] = load_xnli_by_genre(lang, split, folder)
            except ValueError as e:
                if "no genre column" not in str(e):
                    raise
                raise ValueError(
                    f"xnli_ood: language {lang!r} cannot be split by genre: {e}. The local "
                    f"genre files cover {', '.join(GENRE_LANGUAGES)}; remove {lang!r} from "
                    f"'languages'") from None
            got = sorted(self._by_genre[key])
            if got != sorted(XNLI_GENRES):
                raise ValueError(f"xnli_ood: {lang} {split} in {folder} has genres {got}, "
                                 f"expected XNLI's ten {list(XNLI_GENRES)}")
        return self._by_genre[key]

    def _check_parallel(self, lang: str, split: str,
                        ref: Mapping[str, PairDataset]) -> None:
        mine = self.by_genre(lang, split)
        for g, data in ref.items():
            if [(e.id, e.label) for e in mine[g]] != [(e.id, e.label) for e in data]:
                raise ValueError(f"xnli_ood: {lang} {split} genre {g!r} is not parallel with "
                                 f"English (ids or labels differ); the genre files must hold "
                                 f"the same examples in the same order")

    def train(self, task: str = "nli") -> PairDataset:
        """English dev pairs of the in-domain genres (file order within a genre, genres in
        ``in_domain`` order), without any pair holding a test sentence of any language, cut to
        ``n_train`` (stream ``train``); task name ``xnli_ood``."""
        if task != "nli":
            raise ValueError(f"xnli genre setup: task must be 'nli', got {task!r}")
        dev = self.by_genre("en", "dev")
        test = self.test_sentences()
        pool = [e for g in self.in_domain for e in dev[g]
                if e.premise not in test and e.hypothesis not in test]
        data = PairDataset(TASK, dev[self.in_domain[0]].label_names, pool)
        return data.subset(self.n_train, seed=self.streams.train)

    def genre_tests(self) -> dict[tuple[str, str], PairDataset]:
        """``{(language, genre): test pairs}`` for every language and all ten genres,
        ``n_test`` per genre (stream ``test``: the same items in every language)."""
        return {(lang, g): data.subset(self.n_test, seed=self.streams.test)
                for lang in self.languages
                for g, data in self.by_genre(lang, "test").items()}

    def tests(self, task: str = "nli") -> dict[tuple[str, str], PairDataset]:
        """Same-language test sets pooled over all genres (the :class:`Setup` interface; the
        experiment evaluates :meth:`genre_tests` genre by genre)."""
        if task != "nli":
            raise ValueError(f"xnli genre setup: task must be 'nli', got {task!r}")
        out: dict[tuple[str, str], PairDataset] = {}
        for (lang, _), data in self.genre_tests().items():
            prev = out.get((lang, lang))
            examples = (prev.examples if prev is not None else []) + data.examples
            out[(lang, lang)] = PairDataset(TASK, data.label_names, examples)
        return out

    def _dev_translations(self) -> list[tuple[str, str]]:
        """(English, other) dev premises and hypotheses of the in-domain genres, without test
        sentences (the ``contrastive`` method's parallel text)."""
        en = self.by_genre("en", "dev")
        test = self.test_sentences()
        pairs: list[tuple[str, str]] = []
        for lang in self.languages:
            if lang == "en":
                continue
            other = self.by_genre(lang, "dev")
            self._check_parallel(lang, "dev", en)
            for g in self.in_domain:
                for x, y in zip(en[g], other[g], strict=True):
                    pairs += [(a, b) for a, b in ((x.premise, y.premise),
                                                  (x.hypothesis, y.hypothesis))
                              if a not in test and b not in test]
        if not pairs:
            raise ValueError(f"xnli_ood: no dev translations besides English among "
                             f"{list(self.languages)}; the contrastive method needs some")
        return pairs

    def leakage(self) -> dict[str, int]:
        """What would leak, all 0 by construction: :meth:`XnliSetup.leakage` (test ids and
        test sentences of any language among the training pairs and the parallel text) and
        training pairs of an out-of-domain genre (``train_out_of_domain``).

        Example:
            >>> XnliGenreSetup(0).leakage()  # doctest: +SKIP
            {'train_ids': 0, 'train_sentences': 0, 'parallel_sentences': 0, 'train_out_of_domain': 0}
        """  # noqa: E501
        genre = {e.id: g for g, d in self.by_genre("en", "dev").items() for e in d}
        out = super().leakage()
        out["train_out_of_domain"] = sum(genre[e.id] not in self.in_domain
                                         for e in self.train())
        return out


def genre_records(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                  tests: Mapping[str, PairDataset], in_domain: Sequence[str], *, lang: str,
                  model_name: str, method: str, seed: int, train_lang: str = "en",
                  max_length: int = 128, precision: str = "fp32", batch_size: int = 128
                  ) -> list[Record]:
    """Per-genre accuracy and the in-domain / out-of-domain summary of one language.

    ``tests`` maps genre -> test pairs of language ``lang``; they are predicted in one batched
    pass. Records (unstamped, ``experiment="xnli_ood"``): ``accuracy`` per genre
    (``task="xnli_ood:<genre>"``); ``acc_in_domain`` and ``acc_out_of_domain`` (pooled over
    the pairs of the genres in / not in ``in_domain``) and ``ood_gap`` = in - out
    (``task="xnli_ood"``). Both sides must be present.

    Example:
        >>> from xtutor.models import toy_encoder
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> from xtutor.training import classifier_from_encoder
        >>> w = ToyWorld(WorldConfig(n_languages=1))
        >>> m, t = toy_encoder(w, layers=1, hidden=16)
        >>> sets = {"fiction": w.nli(6, "L0", seed=0), "oup": w.nli(4, "L0", seed=1)}
        >>> clf = classifier_from_encoder(m, sets["oup"].label_names)
        >>> recs = genre_records(clf, t, sets, ["fiction"], lang="L0", model_name="toy",
        ...                      method="plain", seed=0, train_lang="L0")
        >>> [(r.task, r.metric, r.n) for r in recs]  # doctest: +NORMALIZE_WHITESPACE
        [('xnli_ood:fiction', 'accuracy', 6), ('xnli_ood:oup', 'accuracy', 4),
         ('xnli_ood', 'acc_in_domain', 6), ('xnli_ood', 'acc_out_of_domain', 4),
         ('xnli_ood', 'ood_gap', 4)]
    """
    if not tests:
        raise ValueError("genre_records: tests is empty; pass {genre: PairDataset}")
    unknown = [g for g in in_domain if g not in tests]
    if unknown:
        raise ValueError(f"genre_records: in-domain genre(s) {unknown} have no test set; "
                         f"genres given: {sorted(tests)}")
    if not set(tests) - set(in_domain):
        raise ValueError("genre_records: every genre is in domain; nothing is out of domain")
    genres = list(tests)
    first = tests[genres[0]]
    pooled = PairDataset(first.task, first.label_names,
                         [e for g in genres for e in tests[g].examples])
    pred = predict_pairs(model, tokenizer, pooled, batch_size=batch_size,
                         max_length=max_length, precision=precision)
    common = {"experiment": KIND, "model": model_name, "method": method,
              "train_lang": train_lang, "eval_lang": lang, "premise_lang": lang,
              "hypothesis_lang": lang, "seed": seed}
    out: list[Record] = []
    hits = {True: [0, 0], False: [0, 0]}  # in_domain -> [correct, total]
    start = 0
    for g in genres:
        data = tests[g]
        ok = int((pred[start:start + len(data)] == data.labels).sum())
        start += len(data)
        out.append(Record(**common, task=f"{TASK}:{g}", metric="accuracy",
                          value=ok / len(data), n=len(data)))
        side = hits[g in in_domain]
        side[0] += ok
        side[1] += len(data)
    acc_in, acc_out = (hits[k][0] / hits[k][1] for k in (True, False))
    out += [Record(**common, task=TASK, metric="acc_in_domain", value=acc_in, n=hits[True][1]),
            Record(**common, task=TASK, metric="acc_out_of_domain", value=acc_out,
                   n=hits[False][1]),
            Record(**common, task=TASK, metric="ood_gap", value=acc_in - acc_out,
                   n=hits[False][1])]
    return out


def setup_for(s: XnliOodSettings, seed: int, encoder: Encoder | None = None
              ) -> XnliGenreSetup:
    """The :class:`XnliGenreSetup` of one seed of ``s`` (reads the data, not the model)."""
    return XnliGenreSetup(seed, in_domain=s.in_domain, languages=s.languages,
                          n_train=s.n_train, n_test=s.n_test, model=s.model, epochs=s.epochs,
                          batch_size=s.batch_size, max_length=s.max_length, lr=s.lr,
                          data_dir=s.data_dir, freeze_embeddings=s.freeze_embeddings,
                          train_precision=s.finetune_precision, precision=s.precision,
                          codeswitch_languages=s.codeswitch_languages, encoder=encoder)


def run_cell(s: XnliOodSettings, cell: XnliOodCell, ctx: Any) -> list[Record]:
    """Fine-tune with ``cell.method`` (:func:`~xtutor.experiments.unit.run_unit`, no
    matrix evaluation) and evaluate every genre in every language (unstamped records).
    ``ctx.state`` keeps the loaded encoder across seeds and the seed's setup across methods
    (``state["encoder"]`` may be pre-filled with a loaded ``(model, tokenizer)``)."""
    state = ctx.state
    if state.get("seed") != cell.seed:
        setup = setup_for(s, cell.seed, state.get("encoder"))
        state.update(seed=cell.seed, setup=setup)
    setup = state["setup"]
    state["encoder"] = setup.encoder()
    res = run_unit(setup, cell.method, regularizers=s.robust, evaluate=False,
                   experiment=KIND, show_progress=ctx.show_progress)
    records = list(res.records)
    tests = setup.genre_tests()
    for lang in s.languages:
        t0 = time.perf_counter()
        sets = {g: tests[(lang, g)] for g in XNLI_GENRES}
        records += genre_records(res.classifier, res.tokenizer, sets, s.in_domain, lang=lang,
                                 model_name=s.model, method=cell.method, seed=cell.seed,
                                 max_length=s.max_length, precision=s.precision)
        records.append(Record(experiment=KIND, model=s.model, method=cell.method,
                              task=f"{TASK}:evaluate", train_lang="en", eval_lang=lang,
                              metric="seconds", value=time.perf_counter() - t0,
                              n=sum(len(d) for d in sets.values()), seed=cell.seed))
    return records


def run_xnli_ood(settings: Mapping[str, Any] | XnliOodSettings | None, out_dir: str | Path,
                 show_progress: bool = True, *, encoder: Encoder | None = None) -> list[Record]:
    """Run (or resume) the experiment through the runner (:mod:`xtutor.runner`) into
    ``out_dir`` (cells, ``results.jsonl``, ``summary.txt``, ``config.json``); the data are
    checked before the model loads. ``encoder``: an already loaded ``(model, tokenizer)`` of
    ``settings.model``.

    Example:
        >>> recs = run_xnli_ood({"seeds": [0], "methods": ["plain"], "n_train": 32,
        ...                      "n_test": 4, "epochs": 1}, "/tmp/xnli_ood")  # doctest: +SKIP
    """
    from xtutor.runner import run_experiment

    s = settings if isinstance(settings, XnliOodSettings) else \
        XnliOodSettings.from_settings(settings)
    setup = setup_for(s, s.seeds[0], encoder)  # the data and its genres, before the model
    if NEEDS_DICTIONARIES & set(s.methods):
        setup.dictionaries()
    state: dict[str, Any] = {"seed": s.seeds[0], "setup": setup}
    if encoder is not None:
        state["encoder"] = encoder
    res = run_experiment(KIND_SPEC, s, out_dir, show_progress=show_progress, state=state)
    return res.records


def ood_frame(records: Sequence[Record]) -> pd.DataFrame:
    """The summary records as a table: one row per (method, seed, language) with columns
    ``acc_in_domain``, ``acc_out_of_domain``, ``ood_gap``."""
    rows = [r.to_dict() for r in records if r.task == TASK and r.metric in
            ("acc_in_domain", "acc_out_of_domain", "ood_gap")]
    if not rows:
        raise ValueError("ood_frame: no xnli_ood summary records (acc_in_domain, ...)")
    df = pd.DataFrame(rows)
    return df.pivot_table(index=["method", "seed", "eval_lang"], columns="metric",
                          values="value", sort=False).reset_index()


def ood_effects(frame: pd.DataFrame, languages: Sequence[str] | None = None,
                control: str = "plain") -> pd.DataFrame:
    """The genre shift's comparisons as one Holm family, seeds as the units.

    ``frame`` is :func:`ood_frame`'s table; ``languages`` the ones averaged (by default every
    language but English: the zero-shot ones). Three kinds of comparison, each paired by seed
    over the mean of the seed's languages (``pool="clusters"``):

    - ``"<method>: out - in"``: out-of-domain minus in-domain accuracy of each method (does
      the shift of genre cost accuracy?);
    - ``"<method> vs <control>: out of domain"``: out-of-domain accuracy against ``control``;
    - ``"<method> vs <control>: gap"``: the gap (in - out) against ``control``'s (< 0: the
      method loses less to the shift).

    Returns :func:`~xtutor.experiments.grid_analysis.effects_frame` with ``adjust="holm"``,
    indexed by label.

    Example:
        >>> f = pd.DataFrame({"method": ["plain", "free"] * 6, "seed": [0, 0, 1, 1, 2, 2] * 2,
        ...                   "eval_lang": ["sw"] * 6 + ["ur"] * 6,
        ...                   "acc_in_domain": [.6, .5, .62, .5, .58, .49] * 2,
        ...                   "acc_out_of_domain": [.5, .5, .53, .49, .49, .5] * 2})
        >>> fx = ood_effects(f.assign(ood_gap=f.acc_in_domain - f.acc_out_of_domain))
        >>> fx.index.tolist()
        ['plain: out - in', 'free: out - in', 'free vs plain: out of domain', 'free vs plain: gap']
        >>> round(float(fx.loc["plain: out - in", "mean"]), 3)
        -0.093
    """
    from xtutor.experiments.grid_analysis import effects_frame
    from xtutor.stats import paired_difference

    need = {"method", "seed", "eval_lang", "acc_in_domain", "acc_out_of_domain", "ood_gap"}
    if need - set(frame.columns):
        raise ValueError(f"ood_effects: frame lacks columns {sorted(need - set(frame.columns))}"
                         f" (pass ood_frame(records))")
    langs = [x for x in frame.eval_lang.unique() if x != "en"] if languages is None \
        else list(languages)
    f = frame[frame.eval_lang.isin(langs)]
    if f.empty:
        raise ValueError(f"ood_effects: no rows for languages {langs}; present: "
                         f"{sorted(frame.eval_lang.unique())}")
    methods = list(dict.fromkeys(f.method))
    if control not in methods:
        raise ValueError(f"ood_effects: no rows of the control {control!r}; methods: {methods}")
    on = ("seed", "eval_lang")
    long = f.melt(id_vars=["method", *on], value_vars=["acc_in_domain", "acc_out_of_domain"],
                  var_name="domain")
    fam = {f"{m}: out - in": paired_difference(long[long.method == m], "domain",
                                               "acc_out_of_domain", "acc_in_domain", on=on,
                                               pool="clusters")
           for m in methods}
    for m in methods:
        if m == control:
            continue
        for col, name in (("acc_out_of_domain", "out of domain"), ("ood_gap", "gap")):
            fam[f"{m} vs {control}: {name}"] = paired_difference(
                f, "method", m, control, on=on, value=col, pool="clusters")
    return effects_frame(fam, adjust="holm").set_index("label")


def summarize(s: XnliOodSettings, records: list[Record], out: Path) -> str:
    """``summary.txt``: per method and language, in-domain and out-of-domain accuracy and the
    gap (mean over seeds, with the std of the gap), the gap's change against ``plain`` and
    each method's training time relative to ``plain``."""
    df = ood_frame(records)
    langs = [x for x in s.languages if x in set(df.eval_lang)]
    g = df.groupby(["method", "eval_lang"], sort=False)
    table = g[["acc_in_domain", "acc_out_of_domain", "ood_gap"]].mean()
    table["gap_std"] = g.ood_gap.std()
    table = table.reindex(pd.MultiIndex.from_product([list(s.methods), langs]))
    lines = [f"xnli_ood: {s.model} fine-tuned on English XNLI dev of {', '.join(s.in_domain)}; "
             f"out of domain: {', '.join(s.out_of_domain)}; seeds {list(s.seeds)}",
             "", "accuracy (mean over seeds; gap = in - out):",
             table.round(3).to_string(), ""]
    if "plain" in s.methods and len(s.methods) > 1:
        gap = df.set_index(["method", "seed", "eval_lang"]).ood_gap
        plain = gap.xs("plain", level="method")
        diff = {m: (gap.xs(m, level="method") - plain).groupby("eval_lang").mean()
                for m in s.methods if m != "plain"}
        lines += ["gap minus plain's gap (mean over seeds; < 0: more robust to the shift):",
                  pd.DataFrame(diff).T.reindex(columns=langs).round(3).to_string(), ""]
        t = pd.DataFrame([r.to_dict() for r in records if r.metric == "train_cpu_seconds"])
        if not t.empty:
            per = t.groupby("method", sort=False).value.mean()
            lines += ["training CPU time relative to plain: " + ", ".join(
                f"{m} {per[m] / per['plain']:.2f}" for m in s.methods if m in per)]
    return "\n".join(lines) + "\n"


def _kind() -> Any:
    from xtutor.runner import Kind

    return Kind(KIND, XnliOodSettings, xnli_ood_cells, run_cell, axes=("seeds", "methods"),
                summarize=summarize)


KIND_SPEC = _kind()

__all__ = ["GENRE_LANGUAGES", "KIND", "KIND_SPEC", "TASK", "XnliGenreSetup", "XnliOodCell",
           "XnliOodSettings", "genre_records", "ood_effects", "ood_frame", "run_cell",
           "run_xnli_ood", "setup_for", "summarize", "xnli_ood_cells"]

"""Adversarial evaluation of a fine-tuned pair classifier, language by language.

:func:`adversarial_study` runs every requested attack (:mod:`xtutor.attacks`) on a
:class:`~xtutor.data.types.PairDataset` per language and returns tidy
:class:`~xtutor.results.Record` s (metrics of :data:`xtutor.attacks.results.SUMMARY_METRICS`,
``attack`` set, ``eval_lang`` the language) and a few adversarial examples per language and
attack, for a chapter to show. Resources per language:

- ``neighbour_tables[lang]``: word -> neighbours, for ``word_substitution``
  (:func:`xtutor.attacks.embedding_neighbour_table`);
- ``dictionaries[lang]``: target language -> dictionary from ``lang``, for ``code_switch``.

:func:`toy_resources` builds both for the toy family (:meth:`ToyWorld.dictionary`, neighbours
over each language's vocabulary); :func:`real_resources` for real text from MUSE and NLTK
Swadesh lists (``../shared/data`` or ``$XTUTOR_DATA_DIR``) and neighbours over the words of
the datasets. :func:`experiment` is the ``experiment: adversarial`` kind for ``xtutor run``
(toy family: pretrain, fine-tune on ``L0``, attack every language).

Chapter 4: :func:`toy_robustness_study` fine-tunes the cached toy encoder with the robust
methods of :mod:`xtutor.experiments.robust`, attacks every language and certifies with
randomized smoothing (Gaussian on embeddings; substitution over :func:`translation_classes`);
:func:`xnli_adversarial_study` fine-tunes e5 briefly on English XNLI dev and attacks XNLI test
pairs.

Example:
    >>> cfg = AdversarialConfig(attacks=("char_noise",), max_word_fraction=0.1)
    >>> cfg.attacks, cfg.sides
    (('char_noise',), 'both')
    >>> AdversarialConfig(attacks=("typo",))
    Traceback (most recent call last):
    ...
    ValueError: unknown attack(s) ['typo']; choose from ('char_noise', 'word_substitution', 'code_switch', 'embedding_pgd')
"""  # noqa: E501

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from xtutor.attacks import (
    AttackReport,
    PGDConfig,
    Victim,
    char_noise,
    code_switch,
    embedding_neighbour_table,
    embedding_pgd,
    invert,
    read_swadesh,
    toy_dictionaries,
    word_substitution,
)
from xtutor.attacks.constraints import SIDES, Side
from xtutor.attacks.transformations import DictionaryLike, swadesh_languages
from xtutor.attacks.words import core
from xtutor.data.types import PairDataset
from xtutor.experiments.settings import reject_unknown
from xtutor.results import Record, stamp, write_records

KIND = "adversarial"
ATTACKS: tuple[str, ...] = ("char_noise", "word_substitution", "code_switch", "embedding_pgd")


@dataclass(frozen=True)
class AdversarialConfig:
    """What :func:`adversarial_study` runs.

    Attributes:
        attacks: names from :data:`ATTACKS`.
        max_word_fraction, max_words, sides, protected_words: the constraints of the text
            attacks (:class:`xtutor.attacks.Constraints`).
        max_candidates: replacement candidates per word; beam_width and
            max_candidates_per_round: the code-switching beam search.
        pgd_epsilon, pgd_steps: the embedding PGD attack (:class:`xtutor.attacks.PGDConfig`).
        batch_size, max_length: victim batching.
        n_examples: adversarial examples kept per language and attack.
    """

    attacks: tuple[str, ...] = ATTACKS
    max_word_fraction: float = 0.2
    max_words: int | None = None
    sides: Side = "both"
    protected_words: tuple[str, ...] = ()
    max_candidates: int = 16
    beam_width: int = 4
    max_candidates_per_round: int = 2000
    pgd_epsilon: float = 0.2
    pgd_steps: int = 10
    batch_size: int = 256
    max_length: int = 128
    n_examples: int = 3

    def __post_init__(self) -> None:
        object.__setattr__(self, "attacks", tuple(self.attacks))
        object.__setattr__(self, "protected_words", tuple(self.protected_words))
        bad = [a for a in self.attacks if a not in ATTACKS]
        if bad or not self.attacks:
            raise ValueError(f"unknown attack(s) {bad}; choose from {ATTACKS}")
        if self.sides not in SIDES:
            raise ValueError(f"sides must be one of {SIDES}, got {self.sides!r}")
        if self.n_examples < 0:
            raise ValueError(f"n_examples must be >= 0, got {self.n_examples}")


@dataclass
class AdversarialStudy:
    """Records, adversarial examples (dicts) and the full reports by ``(language, attack)``."""

    records: list[Record]
    examples: list[dict[str, Any]]
    reports: dict[tuple[str, str], AttackReport] = field(default_factory=dict)

    def frame(self) -> pd.DataFrame:
        """The records as a DataFrame."""
        return pd.DataFrame([r.to_dict() for r in self.records])

    def table(self, metric: str = "attacked_accuracy") -> pd.DataFrame:
        """``metric`` with languages as rows and attacks as columns.

        Example:
            >>> AdversarialStudy([], []).table().empty
            True
        """
        df = self.frame()
        if df.empty:
            return df
        df = df[df.metric == metric]
        return df.pivot_table(index="eval_lang", columns="attack", values="value")


def _example_rows(report: AttackReport, lang: str, attack: str, labels: Sequence[str], k: int
                  ) -> list[dict[str, Any]]:
    rows = []
    for r in report.successes(k):
        rows.append({
            "language": lang, "attack": attack, "label": labels[r.original.label],
            "prediction_after": labels[r.perturbed_prediction],
            "premise": r.original.premise, "hypothesis": r.original.hypothesis,
            "adversarial_premise": r.perturbed.premise,
            "adversarial_hypothesis": r.perturbed.hypothesis,
            "words_changed": r.words_changed, "queries": r.queries,
        })
    return rows


def adversarial_study(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                      datasets: Mapping[str, PairDataset], *,
                      neighbour_tables: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
                      dictionaries: Mapping[str, Mapping[str, DictionaryLike]] | None = None,
                      config: AdversarialConfig | None = None, model_name: str = "model",
                      train_lang: str = "", method: str = "none",
                      experiment: str = KIND, seed: int = 0) -> AdversarialStudy:
    """Attack ``model`` on each language's dataset with each attack of ``config``.

    Missing resources are refused up front (which language, which attack, which argument).
    Records are unstamped (see :func:`xtutor.results.stamp`); ``premise_lang`` and
    ``hypothesis_lang`` come from the data's first example.
    """
    cfg = config or AdversarialConfig()
    if not datasets:
        raise ValueError("datasets is empty: pass {language: PairDataset}")
    tables, dicts = dict(neighbour_tables or {}), dict(dictionaries or {})
    missing = [f"word_substitution needs neighbour_tables[{lang!r}]" for lang in datasets
               if "word_substitution" in cfg.attacks and lang not in tables]
    missing += [f"code_switch needs dictionaries[{lang!r}]" for lang in datasets
                if "code_switch" in cfg.attacks and not dicts.get(lang)]
    if missing:
        raise ValueError("missing attack resources: " + "; ".join(missing))
    common = {"max_word_fraction": cfg.max_word_fraction, "sides": cfg.sides,
              "protected_words": cfg.protected_words, "max_words": cfg.max_words}
    records: list[Record] = []
    examples: list[dict[str, Any]] = []
    reports: dict[tuple[str, str], AttackReport] = {}
    for lang, data in datasets.items():
        if len(data) == 0:
            raise ValueError(f"datasets[{lang!r}] is empty")
        victim = Victim.from_model(model, tokenizer, data.label_names,
                                   batch_size=cfg.batch_size, max_length=cfg.max_length)
        for name in cfg.attacks:
            if name == "embedding_pgd":
                report = embedding_pgd(model, tokenizer, data, PGDConfig(
                    epsilon=cfg.pgd_epsilon, steps=cfg.pgd_steps, sides=cfg.sides,
                    max_length=cfg.max_length))
            else:
                if name == "char_noise":
                    attack = char_noise(**common, max_candidates=cfg.max_candidates, seed=seed)
                elif name == "word_substitution":
                    attack = word_substitution(tables[lang], **common,
                                               max_candidates=cfg.max_candidates)
                else:
                    attack = code_switch(dicts[lang], **common,
                                         max_candidates=cfg.max_candidates,
                                         beam_width=cfg.beam_width,
                                         max_candidates_per_round=cfg.max_candidates_per_round)
                report = attack.run(victim, data)
            reports[(lang, name)] = report
            first = data[0]
            records += report.records(experiment=experiment, model=model_name, task=data.task,
                                      train_lang=train_lang, eval_lang=lang, seed=seed,
                                      method=method, premise_lang=first.premise_lang,
                                      hypothesis_lang=first.hypothesis_lang, attack=name)
            if name != "embedding_pgd":
                examples += _example_rows(report, lang, name, data.label_names, cfg.n_examples)
    return AdversarialStudy(records, examples, reports)


def toy_resources(world: Any, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                  languages: Sequence[str] | None = None, k: int = 8
                  ) -> tuple[dict[str, dict[str, list[str]]], dict[str, dict[str, Any]]]:
    """``(neighbour_tables, dictionaries)`` for toy languages: embedding neighbours over each
    language's own vocabulary, and dictionaries into every other language of ``world``.

    Example:
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> from xtutor.models import toy_encoder
        >>> w = ToyWorld(WorldConfig(n_languages=2))
        >>> m, t = toy_encoder(w, layers=1, hidden=16)
        >>> tables, dicts = toy_resources(w, m, t)
        >>> sorted(tables), sorted(dicts["L1"])
        (['L0', 'L1'], ['L0'])
    """
    langs = list(languages or world.languages)
    tables = {lang: embedding_neighbour_table(model, tokenizer, world.vocabulary([lang]), k=k)
              for lang in langs}
    dicts = {lang: dict(toy_dictionaries(world, lang)) for lang in langs}
    return tables, dicts


def dataset_vocabulary(data: PairDataset, min_length: int = 2) -> list[str]:
    """Distinct lower-cased word cores of a dataset's premises and hypotheses, sorted.

    Example:
        >>> from xtutor.data.types import PairDataset, PairExample
        >>> ds = PairDataset("nli", ("a", "b"), [PairExample("The dog, a dog.", "I", 0, "", "")])
        >>> dataset_vocabulary(ds)
        ['dog', 'the']
    """
    out = {core(t).lower() for e in data for t in (e.premise + " " + e.hypothesis).split()}
    return sorted(w for w in out if len(w) >= min_length)


def real_resources(datasets: Mapping[str, PairDataset], model: PreTrainedModel,
                   tokenizer: PreTrainedTokenizerBase, targets: Sequence[str] = ("de", "fr"),
                   data_dir: str | Path | None = None, k: int = 8
                   ) -> tuple[dict[str, dict[str, list[str]]], dict[str, dict[str, Any]]]:
    """``(neighbour_tables, dictionaries)`` for real languages.

    Dictionaries: English text switches into each of ``targets`` with MUSE ``en-xx``; text in
    another language switches into English with MUSE ``en-<lang>`` read backwards, and into
    ``targets`` with the NLTK Swadesh lists when both languages have one. Languages with no
    dictionary at all get none (leave ``code_switch`` out for them). Neighbour tables: the
    ``k`` nearest words by input embedding among the words of that language's dataset.
    ``data_dir``: the shared data folder (default ``$XTUTOR_DATA_DIR`` or ``../shared/data``).
    """
    from xtutor.data.muse import load_muse, muse_pairs
    from xtutor.data.paths import require_shared_data

    root = Path(data_dir) if data_dir is not None else require_shared_data()
    muse = root / "muse"
    have = set(muse_pairs(muse)) if muse.is_dir() else set()
    swadesh = root / "nltk" / "swadesh.zip"
    sw_langs = set(swadesh_languages(swadesh)) if swadesh.is_file() else set()
    tables, dicts = {}, {}
    for lang, data in datasets.items():
        d: dict[str, Any] = {}
        for t in targets:
            if t == lang:
                continue
            if lang == "en" and ("en", t) in have:
                d[t] = load_muse("en", t, muse)
            elif lang in sw_langs and t in sw_langs:
                d[t] = read_swadesh(lang, t, swadesh)
        if lang != "en" and ("en", lang) in have:
            d["en"] = invert(load_muse("en", lang, muse))
        if d:
            dicts[lang] = d
        tables[lang] = embedding_neighbour_table(model, tokenizer, dataset_vocabulary(data), k=k)
    return tables, dicts


@dataclass(frozen=True)
class AdversarialSettings:
    """Settings of ``experiment: adversarial`` (toy family; all optional, unknown refused).

    ``preset``: a lab preset (``tiny``, ``ci``, ``default``) for the world, encoder and
    fine-tuning; ``n_test``: attacked pairs per language; the rest as in
    :class:`AdversarialConfig`.

    Example:
        >>> AdversarialSettings.from_settings({"preset": "tiny", "n_test": 20}).n_test
        20
        >>> AdversarialSettings.from_settings({"n": 3})
        Traceback (most recent call last):
        ...
        ValueError: experiment 'adversarial' does not take setting(s) ['n']; allowed: ['attacks', 'max_word_fraction', 'n_test', 'preset', 'seed', 'sides']
    """  # noqa: E501

    preset: str = "ci"
    seed: int = 0
    n_test: int = 200
    attacks: tuple[str, ...] = ATTACKS
    max_word_fraction: float = 0.2
    sides: str = "both"

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> AdversarialSettings:
        """Validate a settings mapping (from a YAML config)."""
        settings = dict(settings or {})
        reject_unknown(settings, (f.name for f in fields(cls)), KIND)
        if "attacks" in settings:
            settings["attacks"] = tuple(settings["attacks"])
        out = cls(**settings)
        if out.n_test < 1:
            raise ValueError(f"adversarial setting 'n_test' must be >= 1, got {out.n_test}")
        AdversarialConfig(attacks=out.attacks, max_word_fraction=out.max_word_fraction,
                          sides=out.sides)  # type: ignore[arg-type]
        return out


def run_adversarial(settings: Mapping[str, Any] | None, out_dir: str | Path,
                    show_progress: bool = False) -> AdversarialStudy:
    """Pretrain a toy encoder, fine-tune NLI on ``L0``, attack every language; writes
    ``results.jsonl``, ``examples.json`` and ``config.json`` to ``out_dir``."""
    from xtutor.lab import LabConfig, pretrain_toy_encoder
    from xtutor.toyworld import ToyWorld
    from xtutor.training.classify import finetune

    s = AdversarialSettings.from_settings(settings)
    lab = LabConfig.preset(s.preset, s.seed)
    t0 = time.time()
    world = ToyWorld(lab.world)
    enc, tok, _ = pretrain_toy_encoder(lab, world, show_progress=show_progress)
    src = world.languages[0]
    clf, _ = finetune(enc, tok, world.nli(lab.nli_train, src, seed=1_000 + s.seed),
                      lab.finetune, show_progress=show_progress)
    test_seed = 2_000 + s.seed
    datasets = {lang: world.nli(s.n_test, lang, seed=test_seed) for lang in world.languages}
    tables, dicts = toy_resources(world, clf, tok)
    cfg = AdversarialConfig(attacks=s.attacks, max_word_fraction=s.max_word_fraction,
                            sides=s.sides)  # type: ignore[arg-type]
    study = adversarial_study(clf, tok, datasets, neighbour_tables=tables, dictionaries=dicts,
                              config=cfg, model_name=f"toy-mlm-{s.preset}", train_lang=src,
                              seed=s.seed)
    study.records = stamp(study.records, {"experiment": KIND, **asdict(s)})
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_records(out / "results.jsonl", study.records)
    (out / "examples.json").write_text(json.dumps(study.examples, ensure_ascii=False, indent=2),
                                       encoding="utf-8")
    (out / "config.json").write_text(json.dumps({"experiment": KIND, **asdict(s),
                                                 "seconds": round(time.time() - t0, 1)},
                                                indent=2), encoding="utf-8")
    return study


def experiment(settings: dict[str, Any], out: Path, show_progress: bool) -> list[Record]:
    """The ``xtutor run`` entry point (``experiment: adversarial``)."""
    return run_adversarial(settings, out, show_progress).records


def translation_classes(world: Any) -> dict[str, list[str]]:
    """A substitution table for the toy family: every word maps to the other members of its
    translation class (the word and its translations into every language of ``world``, by
    :meth:`ToyWorld.dictionary` from the source language, merged when they share a form).

    The classes partition the words, so for substitution smoothing
    (:func:`xtutor.certify.certify_substitution`) every overlap ratio is 1: a smoothed
    classifier that randomises each word over its class is certified against code-switching
    any number of them.

    Example:
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> w = ToyWorld(WorldConfig(n_languages=3))
        >>> t = translation_classes(w)
        >>> a, b = w.dictionary("L0", "L1")[0]
        >>> b in t[a] and a in t[b]
        True
    """
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    src = world.languages[0]
    for lang in world.languages[1:]:
        for a, b in world.dictionary(src, lang):
            parent[find(a)] = find(b)
    classes: dict[str, list[str]] = {}
    for w in parent:
        classes.setdefault(find(w), []).append(w)
    return {w: [v for v in members if v != w]
            for members in classes.values() for w in members}


@dataclass(frozen=True)
class RobustnessConfig:
    """Sizes of :func:`toy_robustness_study`.

    Attributes:
        lab_preset: the lab preset whose (cached) MLM encoder is fine-tuned.
        seeds, methods: seeds, and methods of :mod:`xtutor.experiments.robust` (``plain``,
            ``pgd``, ``freelb``, ``free``, ``smoothing``, ``codeswitch``, ...).
        nli_train, epochs, lr: fine-tuning size and learning rate (``None``: the preset's).
        n_attack: attacked pairs per language; attack: the attacks' settings.
        certify_langs, n_certify: languages and pairs per language to certify.
        sigma, gaussian_radii: Gaussian smoothing on word embeddings and the L2 radii reported.
        substitution_radii: numbers of substituted words reported (translation-class
            substitution smoothing, :func:`translation_classes`).
        certify_n0, certify_n, alpha, certify_batch: the smoothing's sampling.
        robust: the methods' hyperparameters (:class:`~xtutor.experiments.robust.RobustSettings`
            fields, e.g. ``{"adv_steps": 2}``).
    """

    lab_preset: str = "ci"
    seeds: tuple[int, ...] = (0, 1, 2)
    methods: tuple[str, ...] = ("plain", "free", "codeswitch")
    nli_train: int | None = None
    epochs: float | None = None
    lr: float | None = None
    n_attack: int = 60
    attack: AdversarialConfig = field(default_factory=AdversarialConfig)
    certify_langs: tuple[str, ...] = ("L0", "L1")
    n_certify: int = 40
    sigma: float = 0.25
    gaussian_radii: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0)
    substitution_radii: tuple[float, ...] = (0, 1, 2, 4, 8)
    certify_n0: int = 32
    certify_n: int = 256
    alpha: float = 0.01
    certify_batch: int = 256
    robust: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        from xtutor.experiments.robust import METHODS

        for name in ("seeds", "methods", "certify_langs", "gaussian_radii",
                     "substitution_radii"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if isinstance(self.robust, Mapping):
            object.__setattr__(self, "robust", tuple(sorted(self.robust.items())))
        bad = [m for m in self.methods if m not in METHODS]
        if bad or not self.methods:
            raise ValueError(f"unknown method(s) {bad}; choose from {METHODS}")
        if not self.seeds or self.n_attack < 1 or self.n_certify < 0:
            raise ValueError("RobustnessConfig needs seeds, n_attack >= 1 and n_certify >= 0")


def toy_robustness_study(config: RobustnessConfig | None = None,
                         cache_dir: str | Path | None = None,
                         on_run: Any = None) -> AdversarialStudy:
    """Fine-tune the lab preset's MLM encoder on ``L0`` NLI with each method of ``config``
    (one encoder per seed, shared by the methods, cached in ``cache_dir`` as in
    :func:`xtutor.experiments.encoders.pretrained_toy`), attack every language
    (:func:`adversarial_study`; ``method`` set in the records) and certify ``certify_langs``
    with Gaussian smoothing on word embeddings (``attack = smoothing_gaussian``, radius in L2
    embedding units) and translation-class substitution smoothing (``attack =
    smoothing_substitution``, radius in words). Also records ``train_seconds`` per run.
    ``on_run(dict)`` is called after each (seed, method). Records are unstamped.

    Example:
        >>> cfg = RobustnessConfig("tiny", seeds=(0,), methods=("plain",), n_attack=4,
        ...                        attack=AdversarialConfig(attacks=("char_noise",)),
        ...                        n_certify=2, certify_n=16, certify_n0=8)
        >>> st = toy_robustness_study(cfg)
        >>> sorted(set(st.frame().attack))
        ['char_noise', 'none', 'smoothing_gaussian', 'smoothing_substitution']
    """
    from dataclasses import replace

    from xtutor.certify import (
        GaussianSmoothing,
        SubstitutionSmoothing,
        certified_records,
        certify_pairs_gaussian,
        certify_substitution,
    )
    from xtutor.experiments.encoders import pretrained_toy
    from xtutor.experiments.robust import RobustSettings, _regularizers
    from xtutor.lab import LabConfig
    from xtutor.toyworld import ToyWorld
    from xtutor.training.classify import finetune

    cfg = config or RobustnessConfig()
    settings = RobustSettings(**dict(cfg.robust))
    records: list[Record] = []
    examples: list[dict[str, Any]] = []
    reports: dict[tuple[str, str], AttackReport] = {}
    for seed in cfg.seeds:
        lab = LabConfig.preset(cfg.lab_preset, seed)
        world = ToyWorld(lab.world)
        enc, tok = pretrained_toy(lab, world, cache_dir=cache_dir)
        src, others = world.languages[0], world.languages[1:]
        ft = replace(lab.finetune, epochs=cfg.epochs or lab.finetune.epochs,
                     lr=cfg.lr or lab.finetune.lr)
        train = world.nli(cfg.nli_train or lab.nli_train, src, seed=1_000 + seed)
        tables = {lang: world.dictionary(src, lang) for lang in others}
        parallel = []  # for the contrastive auxiliary loss, as in robust_transfer
        if "contrastive" in cfg.methods:
            per_lang = max(2, settings.contrastive_pairs // len(others))
            parallel = [p for i, lang in enumerate(others)
                        for p in world.parallel(src, lang, per_lang,
                                                seed=20_000 + 10 * seed + i)]
        datasets = {lang: world.nli(cfg.n_attack, lang, seed=2_000 + seed)
                    for lang in world.languages}
        classes = translation_classes(world)
        name = f"toy-mlm-{cfg.lab_preset}"
        for method in cfg.methods:
            t0 = time.perf_counter()
            clf, losses = finetune(enc, tok, train, ft, show_progress=False,
                                   regularizers=_regularizers(method, settings, tables,
                                                              parallel))
            clf.eval()
            seconds = time.perf_counter() - t0
            records.append(Record(experiment=KIND, model=name, method=method, task="nli",
                                  train_lang=src, eval_lang=src, metric="train_seconds",
                                  value=seconds, n=len(losses), seed=seed))
            nt, dicts = toy_resources(world, clf, tok)
            st = adversarial_study(clf, tok, datasets, neighbour_tables=nt, dictionaries=dicts,
                                   config=cfg.attack, model_name=name, train_lang=src,
                                   method=method, seed=seed)
            records += st.records
            examples += [{**e, "method": method, "seed": seed} for e in st.examples]
            reports.update({(f"{lang}/{method}/{seed}", a): r
                            for (lang, a), r in st.reports.items()})
            victim = Victim.from_model(clf, tok, train.label_names,
                                       batch_size=cfg.attack.batch_size)
            for lang in cfg.certify_langs if cfg.n_certify else ():
                data = world.nli(cfg.n_certify, lang, seed=3_000 + seed)
                common = {"experiment": KIND, "model": name, "task": "nli", "train_lang": src,
                          "eval_lang": lang, "seed": seed, "method": method,
                          "alpha": cfg.alpha}
                g = certify_pairs_gaussian(clf, tok, data, GaussianSmoothing(
                    sigma=cfg.sigma, n0=cfg.certify_n0, n=cfg.certify_n, alpha=cfg.alpha,
                    batch_size=cfg.certify_batch, seed=seed))
                records += certified_records(g, cfg.gaussian_radii,
                                             certificate="smoothing_gaussian", **common)
                s = certify_substitution(victim, data, classes, SubstitutionSmoothing(
                    n0=cfg.certify_n0, n=cfg.certify_n, alpha=cfg.alpha,
                    batch_size=cfg.certify_batch, seed=seed))
                records += certified_records(s, cfg.substitution_radii,
                                             certificate="smoothing_substitution", **common)
            if on_run is not None:
                on_run({"seed": seed, "method": method, "train_seconds": round(seconds, 1)})
    return AdversarialStudy(records, examples, reports)


def xnli_adversarial_study(model_name: str = "e5-small-offline", *, n_train: int = 200,
                           epochs: float = 1.0, n_attack: int = 24,
                           languages: Sequence[str] = ("en", "es"),
                           targets: Sequence[str] = ("es", "de", "fr"), seed: int = 0,
                           config: AdversarialConfig | None = None, max_length: int = 64,
                           lr: float = 3e-5, data_dir: str | Path | None = None
                           ) -> AdversarialStudy:
    """``model_name`` fine-tuned briefly on ``n_train`` pairs of English XNLI *dev* (no XNLI
    training data offline), then ``n_attack`` test pairs of each of ``languages`` attacked
    (:func:`adversarial_study`; code-switching with the MUSE / Swadesh dictionaries of
    :func:`real_resources`, into ``targets``). ``data_dir``: the shared data folder. Records
    carry ``train_seconds`` too; ``method`` is ``plain``.

    Example:
        >>> xnli_adversarial_study(n_train=16, n_attack=4)  # doctest: +SKIP
    """
    from xtutor.data.paths import require_shared_data
    from xtutor.data.xnli import load_xnli
    from xtutor.models import load_encoder
    from xtutor.training.classify import FinetuneConfig, finetune

    cfg = config or AdversarialConfig(attacks=("char_noise", "code_switch"))
    root = Path(data_dir) if data_dir is not None else require_shared_data()
    enc, tok = load_encoder(model_name)
    train = load_xnli("en", "dev", root / "xnli").subset(n_train, seed=seed)
    t0 = time.perf_counter()
    clf, losses = finetune(enc, tok, train, FinetuneConfig(
        epochs=epochs, batch_size=16, lr=lr, max_length=max_length, warmup_ratio=0.1,
        seed=seed), show_progress=False)
    clf.eval()
    seconds = time.perf_counter() - t0
    datasets = {lang: load_xnli(lang, "test", root / "xnli").subset(n_attack, seed=1_000 + seed)
                for lang in languages}
    tables, dicts = real_resources(datasets, clf, tok, targets=targets, data_dir=root)
    cfg = replace_config(cfg, max_length=max_length)
    st = adversarial_study(clf, tok, datasets, neighbour_tables=tables, dictionaries=dicts,
                           config=cfg, model_name=model_name, train_lang="en",
                           method="plain", seed=seed)
    st.records.append(Record(experiment=KIND, model=model_name, method="plain", task="nli",
                             train_lang="en", eval_lang="en", metric="train_seconds",
                             value=seconds, n=len(losses), seed=seed))
    return st


def replace_config(config: AdversarialConfig, **changes: Any) -> AdversarialConfig:
    """``config`` with ``changes`` (a frozen dataclass helper).

    Example:
        >>> replace_config(AdversarialConfig(), pgd_steps=3).pgd_steps
        3
    """
    from dataclasses import replace

    return replace(config, **changes)

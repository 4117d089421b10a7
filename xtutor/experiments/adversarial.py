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
        names = sorted(f.name for f in fields(cls))
        unknown = sorted(set(settings) - set(names))
        if unknown:
            raise ValueError(f"experiment {KIND!r} does not take setting(s) {unknown}; "
                             f"allowed: {names}")
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

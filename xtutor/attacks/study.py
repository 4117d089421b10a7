"""An adversarial study: every attack on every language's pairs, as tidy records.

:func:`adversarial_study` runs the attacks of an :class:`AttackConfig` (:data:`ATTACKS`) on a
:class:`~xtutor.data.types.PairDataset` per language and returns
:class:`~xtutor.results.Record` s (metrics of :data:`xtutor.attacks.results.SUMMARY_METRICS`,
``attack`` set, ``eval_lang`` the language) and a few adversarial examples per language and
attack, for a chapter to show. Resources per language (:mod:`xtutor.attacks.resources`):

- ``neighbour_tables[lang]``: word -> neighbours, for ``word_substitution``;
- ``dictionaries[lang]``: target language -> dictionary from ``lang``, for ``code_switch``.

Example:
    >>> cfg = AttackConfig(attacks=("char_noise",), max_word_fraction=0.1)
    >>> cfg.attacks, cfg.sides
    (('char_noise',), 'both')
    >>> AttackConfig(attacks=("typo",))
    Traceback (most recent call last):
    ...
    ValueError: unknown attack(s) ['typo']; choose from ('char_noise', 'word_substitution', 'code_switch', 'embedding_pgd')
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from xtutor.attacks.constraints import SIDES, Side, TokenPair
from xtutor.attacks.recipes import (
    AttackReport,
    PGDConfig,
    char_noise,
    code_switch,
    embedding_pgd,
    word_substitution,
)
from xtutor.attacks.transformations import DictionaryLike
from xtutor.attacks.victim import Victim
from xtutor.attacks.words import join
from xtutor.data.types import PairDataset, PairExample
from xtutor.results import Record

#: The attacks an :class:`AttackConfig` may name.
ATTACKS: tuple[str, ...] = ("char_noise", "word_substitution", "code_switch", "embedding_pgd")


@dataclass(frozen=True)
class AttackConfig:
    """What :func:`adversarial_study` runs.

    Attributes:
        attacks: names from :data:`ATTACKS`.
        max_word_fraction, max_words, sides, protected_words, protected_substrings,
            protect_numbers, protect_names: the constraints of the text attacks
            (:class:`xtutor.attacks.Constraints`; :func:`xtutor.attacks.protect.label_protection`
            gives label-preserving ones per language).
        query_budget: victim queries per example and attack (TextAttack's ``query_budget``;
            None: no cap). cache_queries: score each distinct candidate once per language
            (:class:`~xtutor.attacks.victim.Victim`).
        max_candidates: replacement candidates per word; beam_width and
            max_candidates_per_round: the code-switching beam search.
        pgd_epsilon, pgd_steps: the embedding PGD attack (:class:`xtutor.attacks.PGDConfig`).
        batch_size, max_length, precision: victim batching and its forward passes' precision
            (:mod:`xtutor.precision`).
        n_examples: adversarial examples kept per language and attack.
        label_check: ``(clean, perturbed) -> bool`` on :class:`~xtutor.data.types.PairExample`
            s, whether a perturbation keeps the gold label, where that can be decided exactly
            (the toy family: :func:`xtutor.toyreading.label_preserved`). The word-level
            attacks then never query a candidate that changes the label, and each study adds
            the records ``label_preserved_rate`` (the check re-run on every successful
            adversarial example; ``n`` successes) and ``label_rejected_fraction`` (candidates
            rejected / candidates considered). None: no check, no such records.
    """

    attacks: tuple[str, ...] = ATTACKS
    max_word_fraction: float = 0.2
    max_words: int | None = None
    sides: Side = "both"
    protected_words: tuple[str, ...] = ()
    protected_substrings: tuple[str, ...] = ()
    protect_numbers: bool = False
    protect_names: bool = False
    query_budget: int | None = None
    cache_queries: bool = True
    max_candidates: int = 16
    beam_width: int = 4
    max_candidates_per_round: int = 2000
    pgd_epsilon: float = 0.2
    pgd_steps: int = 10
    batch_size: int = 256
    max_length: int = 128
    precision: str = "fp32"
    n_examples: int = 3
    label_check: Callable[[PairExample, PairExample], bool] | None = field(default=None,
                                                                          compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "attacks", tuple(self.attacks))
        object.__setattr__(self, "protected_words", tuple(self.protected_words))
        object.__setattr__(self, "protected_substrings", tuple(self.protected_substrings))
        if self.query_budget is not None and self.query_budget < 1:
            raise ValueError(f"query_budget must be >= 1 or None, got {self.query_budget}")
        bad = [a for a in self.attacks if a not in ATTACKS]
        if bad or not self.attacks:
            raise ValueError(f"unknown attack(s) {bad}; choose from {ATTACKS}")
        if self.sides not in SIDES:
            raise ValueError(f"sides must be one of {SIDES}, got {self.sides!r}")
        if self.n_examples < 0:
            raise ValueError(f"n_examples must be >= 0, got {self.n_examples}")
        if self.label_check is not None and not callable(self.label_check):
            raise TypeError("label_check must be a callable (clean, perturbed) -> bool or None, "
                            f"got {type(self.label_check).__name__}")


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


def _pair_check(check: Callable[[PairExample, PairExample], bool], premise_lang: str,
                hypothesis_lang: str) -> Callable[[TokenPair, TokenPair, int], bool]:
    """``check`` on examples as the search's check on token pairs of these languages."""
    def keeps(original: TokenPair, candidate: TokenPair, gold: int) -> bool:
        clean = PairExample(join(original[0]), join(original[1]), gold, premise_lang,
                            hypothesis_lang)
        return check(clean, replace(clean, premise=join(candidate[0]),
                                    hypothesis=join(candidate[1])))
    return keeps


def _label_records(report: AttackReport, check: Callable[[PairExample, PairExample], bool],
                   fields: Mapping[str, Any]) -> list[Record]:
    """``label_preserved_rate`` over the successes, ``label_rejected_fraction`` over the
    candidates the search considered."""
    won = report.successes()
    considered = report.label_rejected + sum(r.queries for r in report.results
                                             if r.status != "skipped")
    out = []
    if won:  # a rate over no success is not written
        kept = sum(bool(check(r.original, r.perturbed)) for r in won)
        out.append(Record(metric="label_preserved_rate", value=kept / len(won), n=len(won),
                          **fields))  # type: ignore[arg-type]
    if considered:
        out.append(Record(metric="label_rejected_fraction",
                          value=report.label_rejected / considered, n=considered,
                          **fields))  # type: ignore[arg-type]
    return out


def adversarial_study(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                      datasets: Mapping[str, PairDataset], *,
                      neighbour_tables: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
                      dictionaries: Mapping[str, Mapping[str, DictionaryLike]] | None = None,
                      config: AttackConfig | None = None, model_name: str = "model",
                      train_lang: str = "", method: str = "none",
                      experiment: str = "adversarial", seed: int = 0) -> AdversarialStudy:
    """Attack ``model`` on each language's dataset with each attack of ``config``.

    Missing resources are refused up front (which language, which attack, which argument).
    Records are unstamped (see :func:`xtutor.results.stamp`); ``premise_lang`` and
    ``hypothesis_lang`` come from the data's first example.
    """
    cfg = config or AttackConfig()
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
              "protected_words": cfg.protected_words, "max_words": cfg.max_words,
              "protected_substrings": cfg.protected_substrings,
              "protect_numbers": cfg.protect_numbers, "protect_names": cfg.protect_names,
              "query_budget": cfg.query_budget}
    records: list[Record] = []
    examples: list[dict[str, Any]] = []
    reports: dict[tuple[str, str], AttackReport] = {}
    for lang, data in datasets.items():
        if len(data) == 0:
            raise ValueError(f"datasets[{lang!r}] is empty")
        victim = Victim.from_model(model, tokenizer, data.label_names,
                                   batch_size=cfg.batch_size, max_length=cfg.max_length,
                                   precision=cfg.precision, cache=cfg.cache_queries)
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
                if cfg.label_check is not None:
                    langs = {(e.premise_lang, e.hypothesis_lang) for e in data}
                    if len(langs) != 1:
                        raise ValueError(f"datasets[{lang!r}]: label_check needs one premise "
                                         f"and one hypothesis language per dataset, got "
                                         f"{sorted(langs)}")
                    check = _pair_check(cfg.label_check, *next(iter(langs)))
                    attack = replace(attack, constraints=replace(attack.constraints,
                                                                 label_check=check))
                report = attack.run(victim, data)
            reports[(lang, name)] = report
            first = data[0]
            fields = {"experiment": experiment, "model": model_name, "task": data.task,
                      "train_lang": train_lang, "eval_lang": lang, "seed": seed,
                      "method": method, "premise_lang": first.premise_lang,
                      "hypothesis_lang": first.hypothesis_lang, "attack": name}
            records += report.records(**fields)
            if cfg.label_check is not None and name != "embedding_pgd":
                records += _label_records(report, cfg.label_check, fields)
            if name != "embedding_pgd":
                examples += _example_rows(report, lang, name, data.label_names, cfg.n_examples)
    return AdversarialStudy(records, examples, reports)



__all__ = ["ATTACKS", "AdversarialStudy", "AttackConfig", "adversarial_study"]

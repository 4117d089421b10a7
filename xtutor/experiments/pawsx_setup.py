"""The PAWS-X setup: a real encoder fine-tuned on English PAWS-X paraphrase pairs and evaluated
on the human-translated test sets of every PAWS-X language and their mixed pairs
(:class:`PawsxSetup`, ``setup: pawsx`` in the grid, :mod:`xtutor.experiments.grid`).

It is the XNLI setup (:class:`~xtutor.experiments.xnli_setup.XnliSetup`) with other data: the
encoder, alignment, retrieval, attacks, dictionaries and seed streams are XNLI's; what
changes is where the pairs come from and how languages are paired.

- Training: ``sizes.train`` pairs of the English PAWS-X *train* split (stream ``train``),
  without any pair that has a test sentence of any language on either side.
- Evaluation: the *test* split of every language in ``languages`` (de en es fr ja ko zh),
  restricted to the items every one of them has (a few items lack a translation; blank rows
  are dropped, :attr:`PawsxSetup.dropped`) in English order, so every same-language and mixed
  pair evaluates the same items. Mixed pairs put ``sentence1`` of one language with
  ``sentence2`` of another, paired by ``id`` (:func:`xtutor.data.pawsx.join_pawsx_pairs`);
  ids that do not line up (different id sets or labels) raise a ValueError.
- Alignment and the contrastive loss: *dev* translations English-xx of ``sentence1`` and
  ``sentence2``, paired by id, without any pair that has a test sentence on a side, each
  distinct pair once.
- Two labels (``not_paraphrase``, ``paraphrase``): the classifier head is built over the
  training set's ``label_names``, so it has 2 outputs; records carry ``task="pawsx"``.

PAWS-X numbers the items of each split separately (train, dev and test ids all start at 1),
so the setup prefixes every id with its split (``pawsx-test-17``): an id then names one item,
and :meth:`PawsxSetup.leakage` checks ids (train and dev against test) and sentences.

Label protection for the attacks (``protect_labels``) is the XNLI setup's
(:func:`xtutor.attacks.protect.label_protection`): negation words, numbers and names are
never edited. For paraphrase pairs this is what keeps a label: PAWS pairs differ by swapped
names, dates and roles, and a pair that says "not" on one side only is no paraphrase. The word
attacks edit whitespace words, so Japanese and Chinese sentences (written without spaces)
offer next to nothing to edit; attack the other languages (``attack_languages``).

Example:
    >>> s = PawsxSetup(0, data_dir="/tmp", languages=("en", "de"))
    >>> s.task, s.source, s.src, s.streams.train
    ('pawsx', 'hub', 'en', 0)
    >>> PawsxSetup(0, data_dir="/tmp", languages=("en", "sw"))
    Traceback (most recent call last):
    ...
    ValueError: pawsx setup: languages ['sw'] are not PAWS-X languages; ...
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from xtutor.data.pawsx import (
    PAWSX_HUB_ID,
    PAWSX_LANGUAGES,
    check_pawsx_parallel,
    join_pawsx_pairs,
)
from xtutor.data.types import PairDataset
from xtutor.experiments.xnli_setup import XnliSetup, XnliSizes

#: Where :class:`PawsxSetup` reads PAWS-X: the ``hub`` (``google-research-datasets/paws-x``)
#: or ``local`` files of the published release in ``<data folder>/pawsx`` (``x-final/`` or
#: the ``<lang>/`` folders, :func:`xtutor.data.pawsx.find_pawsx_file`).
PAWSX_SOURCES: tuple[str, ...] = ("hub", "local")

#: The setup's splits and the loader's names for them.
_SPLITS = {"train": "train", "dev": "validation", "test": "test"}


class PawsxSetup(XnliSetup):
    """A real encoder on PAWS-X for one seed (module docstring): fine-tuned on English train
    pairs, evaluated on the test sets of ``languages`` and their mixed pairs, aligned on dev
    translations.

    Args:
        seed: the seed. model: a :func:`xtutor.models.load_encoder` name.
        sizes: :class:`~xtutor.experiments.xnli_setup.XnliSizes` (``train``: English train
            pairs; ``test``: test items per pair, at most the 2000 of a PAWS-X test set;
            ``pairs``: dev translation pairs for alignment). Default: XNLI's with
            ``max_length=128`` (PAWS-X sentences are long Wikipedia sentences).
        languages: evaluation languages among :data:`~xtutor.data.pawsx.PAWSX_LANGUAGES`
            (must include ``en``).
        codeswitch_languages: MUSE ``en-xx`` dictionaries of the regularisers.
        source: ``"hub"`` or ``"local"`` (:data:`PAWSX_SOURCES`). The MUSE and Swadesh
            dictionaries come from the data folder either way (:meth:`data_root`). Local
            files are read with ``errors="skip"``: a malformed or blank row is dropped with a
            :class:`~xtutor.data.paths.MalformedRowsWarning` naming its line.
        attack_targets, lr, data_dir, align_lr, freeze_embeddings, train_precision,
            precision, protect_labels, attack_languages: as in
            :class:`~xtutor.experiments.xnli_setup.XnliSetup`.
    """

    setup_name = "pawsx"
    task = "pawsx"

    def __init__(self, seed: int, *, model: str = "e5-small-offline",
                 sizes: XnliSizes | None = None,
                 languages: Sequence[str] = PAWSX_LANGUAGES,
                 codeswitch_languages: Sequence[str] = ("de", "es", "fr", "ja", "ko", "zh"),
                 attack_targets: Sequence[str] = ("es", "de", "fr"), lr: float = 1e-4,
                 data_dir: str | Path | None = None, align_lr: float = 2e-5,
                 freeze_embeddings: bool = False, train_precision: str = "fp32",
                 precision: str = "fp32", protect_labels: bool = False,
                 attack_languages: Sequence[str] | None = None, source: str = "hub") -> None:
        super().__init__(seed, model=model, sizes=sizes or XnliSizes(max_length=128),
                         languages=languages, codeswitch_languages=codeswitch_languages,
                         attack_targets=attack_targets, lr=lr, data_dir=data_dir,
                         align_lr=align_lr, freeze_embeddings=freeze_embeddings,
                         train_precision=train_precision, precision=precision,
                         protect_labels=protect_labels, attack_languages=attack_languages,
                         source=source)
        #: Rows dropped per ``(language, split)`` read so far for a blank sentence.
        self.dropped: dict[tuple[str, str], int] = {}
        self._common: list[str] | None = None
        self._tests: dict[str, PairDataset] = {}
        self._dev: list[tuple[str, str, str]] | None = None

    def _check_data(self, languages: tuple[str, ...], source: str) -> None:
        if source not in PAWSX_SOURCES:
            raise ValueError(f"pawsx setup: source must be one of {list(PAWSX_SOURCES)}, got "
                             f"{source!r}")
        bad = [x for x in languages if x not in PAWSX_LANGUAGES]
        if bad:
            raise ValueError(f"pawsx setup: languages {bad} are not PAWS-X languages; PAWS-X "
                             f"has {list(PAWSX_LANGUAGES)}")

    def _xnli(self, lang: str, split: str) -> PairDataset:
        """PAWS-X ``split`` (``train``, ``dev`` or ``test``) of ``lang``, read once: blank rows
        dropped (counted in :attr:`dropped`; local files: skipped by the reader, with a
        warning), ids prefixed with the split."""
        from xtutor.data.pawsx import load_pawsx

        if split not in _SPLITS:
            raise ValueError(f"pawsx setup: split must be one of {list(_SPLITS)}, got "
                             f"{split!r}")
        if (lang, split) not in self._hub:
            if self.source == "hub":
                data = load_pawsx(lang, _SPLITS[split])
            else:
                data = load_pawsx(lang, _SPLITS[split],
                                  self.data_root("PAWS-X files") / "pawsx", errors="skip")
            kept = [replace(e, id=f"pawsx-{split}-{e.id}") for e in data
                    if (e.premise or "").strip() and (e.hypothesis or "").strip()]
            self.dropped[(lang, split)] = len(data) - len(kept)
            self._hub[(lang, split)] = PairDataset(data.task, data.label_names, kept)
        return self._hub[(lang, split)]

    def common_test_ids(self) -> list[str]:
        """Ids of the test items that every language of ``languages`` has, in English order,
        once each language's test set is checked to line up with English
        (:func:`~xtutor.data.pawsx.check_pawsx_parallel`: a ValueError otherwise)."""
        if self._common is None:
            en = self._xnli("en", "test")
            keep = {e.id for e in en}
            for lang in self.languages:
                if lang != "en":
                    keep &= check_pawsx_parallel(en, self._xnli(lang, "test"), "en", lang,
                                                 "test")
            self._common = [e.id for e in en if e.id in keep]
        return self._common

    def _test(self, lang: str) -> PairDataset:
        """The test items of ``lang`` among :meth:`common_test_ids`, in that order."""
        if lang not in self._tests:
            data = self._xnli(lang, "test")
            by_id = {e.id: e for e in data}
            self._tests[lang] = PairDataset(data.task, data.label_names,
                                            [by_id[i] for i in self.common_test_ids()])
        return self._tests[lang]

    def _xnli_pairs(self, premise_lang: str, hypothesis_lang: str) -> PairDataset:
        """``sentence1`` of one language with ``sentence2`` of another, paired by id."""
        return join_pawsx_pairs(self._test(premise_lang), self._test(hypothesis_lang),
                                premise_lang, hypothesis_lang, "test")

    def _retrieval_set(self) -> PairDataset:
        """English test items with distinct ``sentence1`` (PAWS pairs reuse a sentence; a
        repeated one would make retrieval ambiguous), ``sizes.n_retrieval`` of them."""
        en = self._test("en")
        seen: set[str] = set()
        first = []
        for e in en:
            if e.premise not in seen:
                seen.add(e.premise)
                first.append(e)
        return PairDataset(en.task, en.label_names, first).subset(
            self.sizes.n_retrieval, seed=self.streams.retrieval)

    def dev_items(self) -> list[tuple[str, str, str]]:
        """``(dev id, English, other)`` for ``sentence1`` and ``sentence2`` of every dev item
        of every other language, paired by id (the dev sets checked to line up with English),
        leaving out every pair with a side that is a test sentence in any language; each
        distinct pair once. Languages without a local dev file are skipped."""
        if self._dev is None:
            en = self._xnli("en", "dev")
            test = self.test_sentences()
            out: list[tuple[str, str, str]] = []
            seen: set[tuple[str, str]] = set()
            for lang in self.languages:
                if lang == "en":
                    continue
                try:
                    other = self._xnli(lang, "dev")
                except FileNotFoundError:
                    continue
                shared = check_pawsx_parallel(en, other, "en", lang, "dev")
                by_id = {e.id: e for e in other}
                for x in en:
                    if x.id not in shared:
                        continue
                    y = by_id[x.id]
                    for a, b in ((x.premise, y.premise), (x.hypothesis, y.hypothesis)):
                        if a not in test and b not in test and (a, b) not in seen:
                            seen.add((a, b))
                            out.append((x.id, a, b))
            if not out:
                where = f"on the Hub ({PAWSX_HUB_ID})" if self.source == "hub" else \
                    f"in {self.data_root('PAWS-X files') / 'pawsx'}"
                raise ValueError(f"pawsx setup: no PAWS-X dev set of {list(self.languages)} "
                                 f"besides English {where}; alignment needs en-xx dev "
                                 f"translations")
            self._dev = out
        return self._dev

    def _dev_translations(self) -> list[tuple[str, str]]:
        """(English, other) dev sentences of :meth:`dev_items`."""
        return [(a, b) for _, a, b in self.dev_items()]

    def train(self, task: str = "pawsx") -> PairDataset:
        """``sizes.train`` English train pairs (stream ``train``) drawn from those without a
        test sentence of any language on either side."""
        self._check_task(task)
        test = self.test_sentences()
        en = self._xnli("en", "train")
        clean = [e for e in en if e.premise not in test and e.hypothesis not in test]
        return PairDataset(en.task, en.label_names, clean).subset(self.sizes.train,
                                                                  seed=self.streams.train)

    def tests(self, task: str = "pawsx") -> dict[tuple[str, str], PairDataset]:
        """``sizes.test`` test items for every same-language pair and ``sizes.n_test_mixed``
        for every mixed pair, the same items in every pair (:meth:`common_test_ids`)."""
        return super().tests(task)

    def leakage(self) -> dict[str, int]:
        """What of the test sets reaches training: the XNLI setup's counts (test ids and
        test sentences of any language among the training pairs, test sentences in the
        parallel text) and ``parallel_ids``, dev items of the parallel text whose id is a
        test id. Every count is 0 by construction.

        Example:
            >>> PawsxSetup(0, sizes=XnliSizes(train=50)).leakage()  # doctest: +SKIP
            {'train_ids': 0, 'train_sentences': 0, 'parallel_sentences': 0, 'parallel_ids': 0}
        """
        out = super().leakage()
        test_ids = {e.id for lang in self.languages for e in self._xnli(lang, "test")}
        out["parallel_ids"] = sum(i in test_ids for i, _, _ in self.dev_items())
        return out


__all__ = ["PAWSX_SOURCES", "PawsxSetup"]

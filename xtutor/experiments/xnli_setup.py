"""The XNLI setup: a real encoder on the XNLI slices (:class:`XnliSetup`), its sizes, and the
parallel text it aligns with (:class:`TextPair`, :func:`silver_links`). Re-exported by
:mod:`xtutor.experiments.setups`, which defines the interface it implements.

Example:
    >>> XnliSizes(train=100).train, XnliSizes().max_length
    (100, 96)
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from transformers import AutoModel, PreTrainedModel, PreTrainedTokenizerBase

from xtutor.data.types import PairDataset
from xtutor.experiments.streams import Encoder, SeedStreams
from xtutor.results import Record
from xtutor.training import FinetuneConfig

#: Where :class:`XnliSetup` reads XNLI: ``local`` files in ``<data folder>/xnli``, or the
#: ``hub`` (``facebook/xnli``, one config per language; its 15 languages only).
XNLI_SOURCES: tuple[str, ...] = ("local", "hub")


@dataclass(frozen=True)
class XnliSizes:
    """Sizes of the XNLI setup: English dev pairs to train on, test pairs per same-language
    pair (``test``) and per mixed pair (``test_mixed``, default ``test``), attacked pairs per
    language, parallel pairs for alignment, alignment steps, epochs, batch size, max length,
    and test premises per language for retrieval (``retrieval``, default ``test``)."""

    train: int = 600
    test: int = 200
    attack: int = 40
    pairs: int = 2000
    align_steps: int = 200
    epochs: float = 3
    batch_size: int = 16
    max_length: int = 96
    test_mixed: int | None = None
    retrieval: int | None = None

    @property
    def n_test_mixed(self) -> int:
        """Test items per mixed-language pair (``test_mixed``, default ``test``)."""
        return self.test if self.test_mixed is None else self.test_mixed

    @property
    def n_retrieval(self) -> int:
        """Test premises per language for retrieval (``retrieval``, default ``test``)."""
        return self.test if self.retrieval is None else self.retrieval


@dataclass(frozen=True)
class _Words:
    tokens: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


@dataclass(frozen=True)
class TextPair:
    """A parallel sentence pair of real text in the shape :func:`xtutor.training.align`
    expects (``.src``/``.tgt`` with ``.tokens`` and ``.text``, word links ``.alignment``)."""

    src: _Words
    tgt: _Words
    alignment: tuple[tuple[int, int], ...] = ()

    @classmethod
    def from_text(cls, src: str, tgt: str) -> TextPair:
        """Whitespace words of two sentences, no links yet.

        Example:
            >>> TextPair.from_text("a b", "c d e").tgt.tokens
            ('c', 'd', 'e')
        """
        return cls(_Words(tuple(src.split())), _Words(tuple(tgt.split())))


def silver_links(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                 pairs: Sequence[TextPair], method: str = "itermax") -> list[TextPair]:
    """``pairs`` with word links predicted by ``model`` itself (SimAlign-style, batched): the
    word-level objective on real text, where no gold links exist.

    Example:
        >>> from xtutor.toyworld import ToyWorld, WorldConfig
        >>> from xtutor.models import toy_encoder
        >>> w = ToyWorld(WorldConfig(n_languages=2))
        >>> m, t = toy_encoder(w, layers=1, hidden=16)
        >>> p = w.parallel("L0", "L1", 2, seed=0)
        >>> out = silver_links(m, t, [TextPair.from_text(x.src.text, x.tgt.text) for x in p])
        >>> all(len(q.alignment) > 0 for q in out)
        True
    """
    from xtutor.word_alignment import align_many, word_embeddings

    src = word_embeddings(model, tokenizer, [list(p.src.tokens) for p in pairs])
    tgt = word_embeddings(model, tokenizer, [list(p.tgt.tokens) for p in pairs])
    links = align_many(src, tgt, method)  # type: ignore[arg-type]
    return [replace(p, alignment=tuple(sorted(ln))) for p, ln in zip(pairs, links, strict=True)]


class XnliSetup:
    """A real encoder on the XNLI slices for one seed: fine-tuned on English dev pairs,
    evaluated on test subsets of ``languages`` and their mixed pairs.

    Test items never enter training: training uses the dev split only, and the parallel text
    of alignment and of the contrastive loss comes from dev translations, without the few dev
    sentences that also occur in a test set (:meth:`leakage` counts what would leak: 0).

    XNLI comes from local files (``source="local"``: ``<data_dir>/xnli``) or from the Hugging
    Face Hub (``source="hub"``: ``facebook/xnli``, validation split for training and
    alignment, test split for evaluation; the 15 Hub languages only, each split read once per
    setup). Either way XNLI is parallel, so rows of the same index are translations. MUSE and
    Swadesh dictionaries always come from the data folder: with the Hub it may be absent
    until the attacks or a dictionary regulariser need it (:meth:`data_root`).

    Args:
        seed: the seed. model: a :func:`xtutor.models.load_encoder` name.
        sizes: :class:`XnliSizes`. languages: evaluation languages (must include ``en``).
        codeswitch_languages: MUSE ``en-xx`` dictionaries of the regularisers.
        attack_targets: languages the code-switching attack switches into.
        lr: fine-tuning learning rate. data_dir: the shared data folder (``None``:
            ``$XTUTOR_DATA_DIR`` or ``../shared/data``).
        align_lr: learning rate of contrastive alignment.
        freeze_embeddings, train_precision: fine-tuning speed settings
            (:class:`xtutor.training.FinetuneConfig`).
        precision: of evaluation, attack and retrieval forward passes (:mod:`xtutor.precision`).
        protect_labels: attacks leave negation words, numbers and names alone
            (:func:`xtutor.attacks.protect.label_protection`).
        attack_languages: languages whose pairs are attacked (``None``: all ``languages``).
        source: where XNLI is read, ``"local"`` or ``"hub"`` (:data:`XNLI_SOURCES`).

    A sibling task reuses everything but the data by overriding the hooks: ``setup_name`` and
    ``task`` (class attributes), :meth:`_check_data`, :meth:`_xnli` (one split of one
    language), :meth:`_test` (a language's test items), :meth:`_xnli_pairs` (mixed pairs),
    :meth:`_retrieval_set` and :meth:`_dev_translations`
    (:class:`xtutor.experiments.pawsx_setup.PawsxSetup`).
    """

    #: The name in messages, and the task :meth:`train` and :meth:`tests` accept.
    setup_name: str = "xnli"
    task: str = "nli"

    def __init__(self, seed: int, *, model: str = "e5-small-offline",
                 sizes: XnliSizes | None = None,
                 languages: Sequence[str] = ("en", "es", "sw", "ur", "my"),
                 codeswitch_languages: Sequence[str] = ("es", "de", "fr", "ru", "hi", "ar"),
                 attack_targets: Sequence[str] = ("es", "de", "fr"), lr: float = 1e-4,
                 data_dir: str | Path | None = None, align_lr: float = 2e-5,
                 freeze_embeddings: bool = False, train_precision: str = "fp32",
                 precision: str = "fp32", protect_labels: bool = False,
                 attack_languages: Sequence[str] | None = None, source: str = "local"
                 ) -> None:
        from xtutor.data.paths import require_shared_data, shared_data_dir

        if "en" not in languages:
            raise ValueError(f"{self.setup_name} setup: languages must include 'en' (the "
                             f"training language), got {list(languages)}")
        self._check_data(tuple(languages), source)
        self.seed = seed
        self.streams = SeedStreams.xnli(seed)
        self.sizes = sizes or XnliSizes()
        self.source = source
        self.root: Path | None = Path(data_dir) if data_dir else \
            require_shared_data() if source == "local" else shared_data_dir()
        self._hub: dict[tuple[str, str], PairDataset] = {}
        self.languages = tuple(languages)
        self.codeswitch_languages = tuple(codeswitch_languages)
        self.attack_targets = tuple(attack_targets)
        self.src = "en"
        self.model_name = model
        self.max_length = self.sizes.max_length
        self.align_lr = align_lr
        self.finetune_config = FinetuneConfig(
            epochs=float(self.sizes.epochs), batch_size=self.sizes.batch_size, lr=lr,
            max_length=self.max_length, warmup_ratio=0.1, seed=seed,
            freeze_embeddings=freeze_embeddings, precision=train_precision)
        self.precision = precision
        self.protect_labels = protect_labels
        self.attack_languages = tuple(attack_languages) if attack_languages is not None \
            else self.languages
        bad = [x for x in self.attack_languages if x not in self.languages]
        if bad:
            raise ValueError(f"{self.setup_name} setup: attack_languages {bad} are not among "
                             f"languages {list(self.languages)}")
        self._encoder: Encoder | None = None
        self._tables: dict[str, Any] | None = None
        self._test_sentences: frozenset[str] | None = None

    def _check_data(self, languages: tuple[str, ...], source: str) -> None:
        """Refuse a ``source`` or ``languages`` the data cannot provide (ValueError)."""
        from xtutor.data.xnli import XNLI_HUB_ID, XNLI_LANGUAGES

        if source not in XNLI_SOURCES:
            raise ValueError(f"xnli setup: source must be one of {list(XNLI_SOURCES)}, got "
                             f"{source!r}")
        off_hub = [x for x in languages if x not in XNLI_LANGUAGES]
        if source == "hub" and off_hub:
            raise ValueError(f"xnli setup: languages {off_hub} are not on the Hub "
                             f"({XNLI_HUB_ID}), whose languages are {list(XNLI_LANGUAGES)}; "
                             f"leave them out or read local files (source='local')")

    def _check_task(self, task: str) -> None:
        if task != self.task:
            raise ValueError(f"{self.setup_name} setup: task must be {self.task!r}, got "
                             f"{task!r}")

    def _test(self, lang: str) -> PairDataset:
        """The test items of ``lang`` that evaluation, attacks and retrieval draw from."""
        return self._xnli(lang, "test")

    def _retrieval_set(self) -> PairDataset:
        """The English test items whose premises retrieval encodes (stream ``retrieval``)."""
        return self._test("en").subset(self.sizes.n_retrieval, seed=self.streams.retrieval)

    def _xnli(self, lang: str, split: str) -> PairDataset:
        from xtutor.data.xnli import load_xnli

        if self.source == "hub":  # each Hub split read once (every call probes the Hub)
            if (lang, split) not in self._hub:
                self._hub[(lang, split)] = load_xnli(lang, split)
            return self._hub[(lang, split)]
        return load_xnli(lang, split, self.data_root("XNLI") / "xnli")

    def _xnli_pairs(self, premise_lang: str, hypothesis_lang: str) -> PairDataset:
        """Test premises of one language with the hypotheses of another (row-joined)."""
        from xtutor.data.xnli import join_xnli_pairs, load_xnli_pairs

        if self.source == "hub":
            return join_xnli_pairs(self._xnli(premise_lang, "test"),
                                   self._xnli(hypothesis_lang, "test"), premise_lang,
                                   hypothesis_lang, "test")
        return load_xnli_pairs(premise_lang, hypothesis_lang, "test",
                               self.data_root("XNLI") / "xnli")

    def data_root(self, needed_for: str) -> Path:
        """The data folder (``data_dir``, ``$XTUTOR_DATA_DIR`` or ``../shared/data``), or a
        FileNotFoundError saying how to provide one and what needs it (``needed_for``). With
        ``source="local"`` it is known from the start; with the Hub only the MUSE and Swadesh
        dictionaries need it.

        Example:
            >>> s = XnliSetup(0, source="hub", data_dir="/tmp", languages=("en", "de"))
            >>> s.data_root("MUSE dictionaries")
            PosixPath('/tmp')
        """
        if self.root is None:
            raise FileNotFoundError(
                f"{self.setup_name} setup (source={self.source!r}): {needed_for} need a data "
                f"folder and there is none. Download it with "
                f"xtutor.data.fetch.colab_setup('05') (which sets XTUTOR_DATA_DIR), or set "
                f"XTUTOR_DATA_DIR / data_dir to a folder with muse/ and nltk/swadesh.zip")
        return self.root

    def encoder(self) -> Encoder:
        """The encoder as shipped (loaded once)."""
        from xtutor.models import load_encoder

        if self._encoder is None:
            self._encoder = load_encoder(self.model_name)
        return self._encoder

    def random_init(self) -> Encoder:
        """The same architecture with random weights (the random-init control)."""
        from xtutor.reproducibility import set_seed

        model, tok = self.encoder()
        set_seed(self.seed)
        return AutoModel.from_config(model.config).eval(), tok

    def align_pairs(self) -> list[TextPair]:
        """Parallel dev premises and hypotheses, English with every other language that has a
        dev set offline (``sizes.pairs`` of them, stream ``align``)."""
        pairs = self._dev_translations()
        rng = random.Random(self.streams.align)
        pairs = rng.sample(pairs, min(len(pairs), self.sizes.pairs))
        return [TextPair.from_text(a, b) for a, b in pairs if a.split() and b.split()]

    def _dev_translations(self) -> list[tuple[str, str]]:
        """(English, other) dev premises and hypotheses, leaving out every pair with a side
        that is also a test sentence in any language (XNLI's dev and test sets share a few
        translated sentences, e.g. 15 in Urdu)."""
        en = self._xnli("en", "dev")
        test = self.test_sentences()
        pairs: list[tuple[str, str]] = []
        for lang in self.languages:
            if lang == "en":
                continue
            try:
                other = self._xnli(lang, "dev")
            except FileNotFoundError:  # e.g. Spanish: only its test set is offline
                continue
            for x, y in zip(en, other, strict=True):
                pairs += [(a, b) for a, b in ((x.premise, y.premise),
                                              (x.hypothesis, y.hypothesis))
                          if a not in test and b not in test]
        if not pairs:
            where = "on the Hub" if self.source == "hub" else \
                f"in {self.data_root('XNLI') / 'xnli'}"
            raise ValueError(f"xnli setup: no XNLI dev set of {list(self.languages)} besides "
                             f"English {where}; alignment needs en-xx dev translations")
        return pairs

    def test_sentences(self) -> frozenset[str]:
        """Every premise and hypothesis of the test sets of ``languages`` (loaded once)."""
        if self._test_sentences is None:
            self._test_sentences = frozenset(
                s for lang in self.languages for e in self._xnli(lang, "test")
                for s in (e.premise, e.hypothesis))
        return self._test_sentences

    def leakage(self) -> dict[str, int]:
        """How many test items reach training: test pair ids among the training pairs, and
        test sentences (any language) among the training pairs and the parallel text of
        alignment and of the contrastive loss. Every count is 0 by construction;
        ``tests/test_setups.py`` checks it on the real data.

        Example:
            >>> XnliSetup(0, sizes=XnliSizes(train=50)).leakage()  # doctest: +SKIP
            {'train_ids': 0, 'train_sentences': 0, 'parallel_sentences': 0}
        """
        test = self.test_sentences()
        test_ids = {e.id for lang in self.languages for e in self._xnli(lang, "test")}
        train = self.train()
        par = self._dev_translations()
        return {"train_ids": sum(e.id in test_ids for e in train),
                "train_sentences": sum(e.premise in test or e.hypothesis in test
                                       for e in train),
                "parallel_sentences": sum(a in test or b in test for a, b in par)}

    def align(self, alignment: str) -> PreTrainedModel:
        """A copy of the encoder aligned on dev translations (sentence InfoNCE, or word-level
        contrastive on silver itermax links)."""
        from xtutor.training import AlignConfig, align

        if alignment not in ("sentence", "word", "sentence+word"):
            raise ValueError(f"{self.setup_name} setup: alignment must be 'sentence', 'word' "
                             f"or 'sentence+word' (no images offline), got {alignment!r}")
        model, tok = self.encoder()
        pairs = self.align_pairs()
        common = {"steps": self.sizes.align_steps, "batch_size": 16, "lr": self.align_lr,
                  "seed": self.seed, "max_length": self.max_length}
        if alignment in ("word", "sentence+word"):
            pairs = silver_links(model, tok, pairs)
        cfg = {"sentence": AlignConfig(**common),
               "word": AlignConfig(sentence_weight=0.0, word_weight=1.0, **common),
               "sentence+word": AlignConfig(word_weight=1.0, **common)}[alignment]
        return align(model, tok, pairs=pairs, config=cfg, show_progress=False).model.eval()

    def alignment_records(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                          method: str, experiment: str) -> list[Record]:
        """Premise retrieval English <-> each language on ``sizes.n_retrieval`` test items
        (mean of both directions). ``model`` may be a fine-tuned classifier: its encoder is
        measured (retrieval after fine-tuning)."""
        from xtutor.alignment import retrieval_both_directions
        from xtutor.encode import encode
        from xtutor.experiments.encoders import text_prefix

        pre = text_prefix(self.model_name)
        model = getattr(model, "base_model", model)  # a classifier's encoder
        en = self._retrieval_set()
        ids = [ex.id for ex in en]
        out = []
        a = encode(model, tokenizer, [ex.premise for ex in en], prefix=pre,
                   max_length=self.max_length, precision=self.precision)
        for lang in [x for x in self.languages if x != "en"]:
            other = {ex.id: ex for ex in self._test(lang)}
            b = encode(model, tokenizer, [other[i].premise for i in ids], prefix=pre,
                       max_length=self.max_length, precision=self.precision)
            fwd, bwd = retrieval_both_directions(a, b)
            out.append(Record(experiment=experiment, model=self.model_name, method=method,
                              task="retrieval", train_lang="en", eval_lang=lang,
                              premise_lang="en", hypothesis_lang=lang,
                              metric="retrieval_acc_cosine", value=(fwd + bwd) / 2,
                              n=len(ids), seed=self.seed))
        return out

    def train(self, task: str = "nli") -> PairDataset:
        """``sizes.train`` English dev pairs (stream ``train``)."""
        self._check_task(task)
        return self._xnli("en", "dev").subset(self.sizes.train, seed=self.streams.train)

    def tests(self, task: str = "nli") -> dict[tuple[str, str], PairDataset]:
        """``sizes.test`` test items for every same-language pair and ``sizes.n_test_mixed``
        for every mixed premise x hypothesis pair (drawn with the same seeded stream, so the
        mixed items are the same in every pair: XNLI is parallel)."""
        self._check_task(task)
        out = {}
        for a in self.languages:
            for b in self.languages:
                data = self._test(a) if a == b else self._xnli_pairs(a, b)
                n = self.sizes.test if a == b else self.sizes.n_test_mixed
                out[(a, b)] = data.subset(n, seed=self.streams.test)
        return out

    def attack_sets(self, n: int, stream: str = "attack") -> dict[str, PairDataset]:
        """``n`` test pairs per attacked language from the named stream."""
        seed = getattr(self.streams, stream)
        return {lang: self._test(lang).subset(n, seed=seed) for lang in self.attack_languages}

    def attack_resources(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                         sets: Mapping[str, PairDataset]) -> tuple[dict, dict]:
        """MUSE / Swadesh dictionaries and dataset-word neighbour tables
        (:func:`xtutor.attacks.resources.real_resources`)."""
        from xtutor.attacks.resources import real_resources

        return real_resources(sets, model, tokenizer, targets=self.attack_targets,
                              data_dir=self.data_root("the attacks' resources (MUSE, Swadesh)"))

    def dictionaries(self) -> dict[str, Any]:
        """MUSE ``en-xx`` dictionaries of ``codeswitch_languages`` (loaded once)."""
        from xtutor.data.muse import load_muse

        if self._tables is None:
            root = self.data_root("the regularisers' MUSE dictionaries")
            self._tables = {lang: load_muse("en", lang, root / "muse")
                            for lang in self.codeswitch_languages}
        return self._tables

    def attack_protection(self, lang: str) -> dict[str, Any]:
        """Label-preserving constraints for attacks on ``lang`` when ``protect_labels``
        (:func:`xtutor.attacks.protect.label_protection`), else none."""
        from xtutor.attacks.protect import label_protection

        return label_protection(lang) if self.protect_labels else {}

    def parallel(self, n: int) -> list[Any]:
        """``n`` dev translation pairs (English, other) for the contrastive loss (stream
        ``parallel``)."""
        pairs = self._dev_translations()
        return random.Random(self.streams.parallel).sample(pairs, min(len(pairs), n))


__all__ = ["XNLI_SOURCES", "TextPair", "XnliSetup", "XnliSizes", "silver_links"]

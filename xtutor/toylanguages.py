"""The languages of the toy family: its meaning space, sentences, grammars and lexicons.

:class:`WorldConfig` sizes the family. Every sentence expresses a :class:`Meaning` (an agent
:class:`NounPhrase`, a verb, a patient noun phrase and a polarity); a rendered
:class:`Sentence` records, per word, the meaning slots it expresses, and a
:class:`ParallelPair` holds two renderings of one meaning with their gold word alignment.
A :class:`Language` is the grammar and lexicon of one language; ``_make_language`` draws it
from the world's seed:

- the lexicon: word forms are built from a language-specific syllable inventory in its own
  script (:data:`SCRIPTS`: Latin, Greek, Cyrillic, Georgian, Armenian, ...);
  ``anchor_fraction`` shares some noun forms across all languages;
- word order (:data:`WORD_ORDERS`), adjective placement and negation placement
  (:data:`NEGATION_STYLES`);
- morphology: plural affixes, optional accusative case (suffix or particle), optional verb
  agreement, and a passive voice (verb affix plus an agent marker).

Rendering meanings in these languages and the datasets drawn from the family live in
:mod:`xtutor.toyworld` (:class:`xtutor.toyworld.ToyWorld`).

Example:
    >>> _make_language(0, WorldConfig(seed=0), {}).describe().split(", ")[:3]
    ['L0: latin script', 'SVO', 'adjectives before noun']
    >>> lang = _make_language(1, WorldConfig(seed=0), {})
    >>> lang.code, lang.word_order, lang.script, len(lang.entities) == WorldConfig().n_entities
    ('L1', 'SOV', 'greek', True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

WORD_ORDERS: tuple[str, ...] = ("SVO", "SOV", "VSO", "VOS", "OVS", "OSV")
NEGATION_STYLES: tuple[str, ...] = (
    "particle_before_verb", "particle_after_verb", "initial", "final", "prefix", "suffix",
)
Voice = Literal["active", "passive"]

#: Consonant and vowel inventories per script. Every symbol is a single code point.
SCRIPTS: dict[str, tuple[str, str]] = {
    "latin": ("ptkbdgmnslrvfzh", "aeiou"),
    "greek": ("πτκβδγμνσλρφζχθ", "αεηιοω"),
    "cyrillic": ("птксбдгмнлрвжзш", "аеиоуыэ"),
    "georgian": ("ფტკბდგმნსლრვზხშ", "აეიოუ"),
    "armenian": ("պտկբդգմնսլրվզհշ", "աեէիո"),
    "latin-ext": ("ptkčšžđgmnlrvcj", "aeiouäöü"),
}
_ORDER_CYCLE = ("SOV", "VSO", "SVO", "OVS", "VOS", "OSV")
_SCRIPT_ORDER = ("latin", "greek", "cyrillic", "georgian", "armenian", "latin-ext")


@dataclass(frozen=True)
class WorldConfig:
    """Size and shape of a toy language family.

    Attributes:
        n_languages: number of languages; ``L0`` is the source language.
        n_entities, n_attributes, n_verbs: size of the shared meaning space.
        max_attributes: at most this many attributes per noun phrase in sampled meanings.
        anchor_fraction: fraction of nouns whose singular form is identical in all languages
            (shared "anchor" tokens, like names or loanwords). 0 means fully disjoint lexicons.
        negation_rate, plural_rate, passive_rate: how often sampled meanings/sentences use them.
        image_dim: size of the synthetic image feature vector (a multiple of 3).
        image_noise: standard deviation of the Gaussian noise added to each image.
        seed: seeds the languages (lexicons, grammars) and the image renderer.
    """

    n_languages: int = 4
    n_entities: int = 24
    n_attributes: int = 10
    n_verbs: int = 12
    max_attributes: int = 2
    anchor_fraction: float = 0.0
    negation_rate: float = 0.3
    plural_rate: float = 0.25
    passive_rate: float = 0.2
    image_dim: int = 48
    image_noise: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        checks = [
            (self.n_languages >= 1, f"n_languages must be >= 1, got {self.n_languages}"),
            (self.n_entities >= 2, f"n_entities must be >= 2, got {self.n_entities}"),
            (self.n_attributes >= 1, f"n_attributes must be >= 1, got {self.n_attributes}"),
            (self.n_verbs >= 2, f"n_verbs must be >= 2, got {self.n_verbs}"),
            (0 <= self.max_attributes < self.n_attributes,
             f"max_attributes must be in [0, n_attributes), got {self.max_attributes}"),
            (0.0 <= self.anchor_fraction <= 1.0,
             f"anchor_fraction must be in [0, 1], got {self.anchor_fraction}"),
            (0.0 <= self.negation_rate <= 1.0, "negation_rate must be in [0, 1]"),
            (0.0 <= self.plural_rate <= 1.0, "plural_rate must be in [0, 1]"),
            (0.0 <= self.passive_rate <= 1.0, "passive_rate must be in [0, 1]"),
            (self.image_dim >= 3 and self.image_dim % 3 == 0,
             f"image_dim must be a positive multiple of 3, got {self.image_dim}"),
            (self.image_noise >= 0, "image_noise must be >= 0"),
            (isinstance(self.seed, int) and self.seed >= 0, "seed must be a non-negative int"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ValueError(f"WorldConfig: {msg}")


@dataclass(frozen=True)
class NounPhrase:
    """An entity with a (sorted) tuple of attributes and a number."""

    entity: int
    attrs: tuple[int, ...] = ()
    plural: bool = False


@dataclass(frozen=True)
class Meaning:
    """``agent verb patient``, asserted (``negated=False``) or denied (``negated=True``)."""

    agent: NounPhrase
    verb: int
    patient: NounPhrase
    negated: bool = False


@dataclass(frozen=True)
class Sentence:
    """A rendered sentence: its words and, per word, the meaning slots it expresses.

    Slots are ``"A"``/``"P"`` (agent/patient noun), ``"A.attr3"``, ``"V"``, ``"NEG"``,
    ``"BY"`` (passive agent marker) and ``"ACC"`` (case marker). A word carrying an affix
    carries several slots (a verb with a negation prefix has ``{"V", "NEG"}``).
    """

    lang: str
    tokens: tuple[str, ...]
    slots: tuple[frozenset[str], ...]

    @property
    def text(self) -> str:
        """The sentence as whitespace-separated words."""
        return " ".join(self.tokens)


@dataclass(frozen=True)
class ParallelPair:
    """A translation pair with its gold word alignment (0-based ``(src_i, tgt_j)`` pairs)."""

    src: Sentence
    tgt: Sentence
    alignment: tuple[tuple[int, int], ...]
    meaning: Meaning


@dataclass(frozen=True)
class Language:
    """The grammar and lexicon of one toy language."""

    code: str
    script: str
    word_order: str
    adjective_position: Literal["before", "after"]
    negation: str
    case_marking: Literal["none", "suffix", "particle"]
    verb_agreement: bool
    entities: tuple[str, ...]
    attributes: tuple[str, ...]
    verbs: tuple[str, ...]
    neg_word: str
    plural_affix: str
    plural_is_prefix: bool
    acc_affix: str
    passive_affix: str
    agree_affix: str
    by_word: str
    anchors: frozenset[int] = field(default_factory=frozenset)

    def describe(self) -> str:
        """One line describing the grammar, for tables in the book."""
        return (f"{self.code}: {self.script} script, {self.word_order}, adjectives "
                f"{self.adjective_position} noun, negation {self.negation}, case "
                f"{self.case_marking}, agreement {'yes' if self.verb_agreement else 'no'}")


def _rng(*keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(k) for k in keys]))


def _make_words(rng: np.random.Generator, script: str, n: int, syllables: tuple[int, int],
                taken: set[str]) -> list[str]:
    cons, vows = SCRIPTS[script]
    # each language uses its own subset of the script's inventory and its own syllable shape
    k_c = max(6, int(len(cons) * 0.75))
    cons_sub = "".join(rng.choice(list(cons), size=k_c, replace=False))
    closed = bool(rng.random() < 0.5)
    out: list[str] = []
    tries = 0
    while len(out) < n:
        tries += 1
        if tries > 200000:
            raise RuntimeError(f"could not make {n} distinct words in script {script!r}")
        n_syl = int(rng.integers(syllables[0], syllables[1] + 1))
        w = ""
        for _ in range(n_syl):
            w += rng.choice(list(cons_sub)) + rng.choice(list(vows))
            if closed and rng.random() < 0.35:
                w += rng.choice(list(cons_sub))
        if w not in taken:
            taken.add(w)
            out.append(w)
    return out


def _make_language(i: int, cfg: WorldConfig, anchor_forms: dict[int, str]) -> Language:
    rng = _rng(cfg.seed, 1000 + i)
    script = _SCRIPT_ORDER[i % len(_SCRIPT_ORDER)]
    if i == 0:
        order, adj, neg, case, agree = "SVO", "before", "particle_before_verb", "none", False
    else:
        # L1, L2, L3, ... cycle through typologically common orders; L3 shares the source
        # language's order but nothing else, which separates order from lexicon effects
        order = _ORDER_CYCLE[(i - 1) % len(_ORDER_CYCLE)]
        adj = "after" if rng.random() < 0.5 else "before"
        neg = NEGATION_STYLES[int(rng.integers(0, len(NEGATION_STYLES)))]
        case = ("suffix", "particle", "none")[int(rng.integers(0, 3))]
        agree = bool(rng.random() < 0.5)
    taken: set[str] = set(anchor_forms.values())
    entities = _make_words(rng, script, cfg.n_entities, (2, 3), taken)
    attributes = _make_words(rng, script, cfg.n_attributes, (2, 2), taken)
    verbs = _make_words(rng, script, cfg.n_verbs, (2, 3), taken)
    func = _make_words(rng, script, 2, (1, 1), taken)
    affixes = _make_words(rng, script, 4, (1, 1), set(func))
    ents = [anchor_forms.get(e, w) for e, w in enumerate(entities)]
    return Language(
        code=f"L{i}", script=script, word_order=order, adjective_position=adj,  # type: ignore[arg-type]
        negation=neg, case_marking=case, verb_agreement=agree,  # type: ignore[arg-type]
        entities=tuple(ents), attributes=tuple(attributes), verbs=tuple(verbs),
        neg_word=func[0], by_word=func[1], plural_affix=affixes[0],
        plural_is_prefix=bool(rng.random() < 0.3) if i > 0 else False,
        acc_affix=affixes[1], passive_affix=affixes[2], agree_affix=affixes[3],
        anchors=frozenset(anchor_forms),
    )

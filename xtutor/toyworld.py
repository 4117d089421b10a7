"""A seeded family of synthetic languages that share one meaning space.

Every sentence of every language expresses a :class:`Meaning`: an agent noun phrase, a verb, a
patient noun phrase and a polarity. Languages differ in what a reader of a real multilingual
benchmark would expect them to differ in (the meaning and sentence types and the language
definitions live in :mod:`xtutor.toylanguages` and are re-exported here):

- the lexicon: word forms are built from a language-specific syllable inventory in its own
  script (Latin, Greek, Cyrillic, Georgian, Armenian, ...), so subword statistics and
  character noise differ; ``anchor_fraction`` shares some noun forms across all languages;
- word order (SVO, SOV, VSO, VOS, OVS, OSV), adjective placement and negation placement
  (particle before/after the verb, sentence-initial/final particle, verb prefix/suffix);
- morphology: plural affixes, optional accusative case (suffix or particle), optional verb
  agreement, and a passive voice (verb affix plus an agent marker).

Because meanings are explicit, task labels are exact:

- :meth:`ToyWorld.nli`: 3-way NLI under an existential reading (``nli_label`` documents the rule);
- :meth:`ToyWorld.paws`: paraphrase identification where negatives swap roles or attributes
  (high word overlap, different meaning) and positives switch voice;
- :meth:`ToyWorld.parallel`: translations with gold word alignments;
- :meth:`ToyWorld.dictionary`: bilingual dictionaries over all inflected forms;
- :meth:`ToyWorld.images`: a synthetic "image" feature vector per meaning.

Example:
    >>> world = ToyWorld(WorldConfig(n_languages=3, seed=0))
    >>> world.languages
    ('L0', 'L1', 'L2')
    >>> m = world.sample_meanings(1, seed=0)[0]
    >>> len(world.render(m, "L1").tokens) >= 3
    True
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import replace

import numpy as np

from xtutor.data.types import NLI_LABELS, PAWS_LABELS, PairDataset, PairExample
from xtutor.toylanguages import (
    NEGATION_STYLES,
    SCRIPTS,
    WORD_ORDERS,
    Language,
    Meaning,
    NounPhrase,
    ParallelPair,
    Sentence,
    Voice,
    WorldConfig,
    _make_language,
    _make_words,
    _rng,
)


def nli_label(premise: Meaning, hypothesis: Meaning) -> int:
    """The exact NLI label (index into ``NLI_LABELS``) of a meaning pair.

    Reading: a positive sentence says that at least one event of its description happened; a
    negated one says that none did. Descriptions must share agent, verb, patient and number,
    otherwise the pair is neutral. With ``sub`` = the hypothesis' attributes are a subset of
    the premise's for both noun phrases and ``sup`` = a superset:

    ========  ==========  ===========================
    premise   hypothesis  label
    ========  ==========  ===========================
    positive  positive    entailment if ``sub``
    negated   negated     entailment if ``sup``
    positive  negated     contradiction if ``sub``
    negated   positive    contradiction if ``sup``
    ========  ==========  ===========================

    and neutral otherwise.

    Example:
        >>> dog, big_dog, cat = NounPhrase(0), NounPhrase(0, (1,)), NounPhrase(2)
        >>> NLI_LABELS[nli_label(Meaning(big_dog, 0, cat), Meaning(dog, 0, cat))]
        'entailment'
        >>> NLI_LABELS[nli_label(Meaning(big_dog, 0, cat), Meaning(dog, 0, cat, negated=True))]
        'contradiction'
    """
    p, h = premise, hypothesis
    same_frame = (
        p.agent.entity == h.agent.entity and p.patient.entity == h.patient.entity
        and p.verb == h.verb and p.agent.plural == h.agent.plural
        and p.patient.plural == h.patient.plural
    )
    if not same_frame:
        return NLI_LABELS.index("neutral")
    sub = set(h.agent.attrs) <= set(p.agent.attrs) and set(h.patient.attrs) <= set(p.patient.attrs)
    sup = set(h.agent.attrs) >= set(p.agent.attrs) and set(h.patient.attrs) >= set(p.patient.attrs)
    if p.negated == h.negated:
        ok = sup if p.negated else sub
        return NLI_LABELS.index("entailment" if ok else "neutral")
    ok = sup if p.negated else sub
    return NLI_LABELS.index("contradiction" if ok else "neutral")


def paws_label(a: Meaning, b: Meaning) -> int:
    """1 (paraphrase) when two meanings are identical, else 0 (index into ``PAWS_LABELS``)."""
    return PAWS_LABELS.index("paraphrase" if a == b else "not_paraphrase")


class ToyWorld:
    """A seeded family of toy languages and the datasets drawn from it.

    Data methods take their own ``seed`` so that training, validation and test draws are
    independent streams; the same ``(config, seed)`` always gives the same data.

    Example:
        >>> w = ToyWorld(WorldConfig(n_languages=2))
        >>> ds = w.nli(30, seed=1)
        >>> sorted(set(ds.labels)) == [0, 1, 2]
        True
    """

    def __init__(self, config: WorldConfig | None = None) -> None:
        self.config = config or WorldConfig()
        cfg = self.config
        rng = _rng(cfg.seed, 1)
        n_anchor = int(round(cfg.anchor_fraction * cfg.n_entities))
        anchor_ids = sorted(int(x) for x in rng.choice(cfg.n_entities, n_anchor, replace=False))
        # anchors take the form the source language would have given them
        anchor_words = _make_words(_rng(cfg.seed, 2), "latin", n_anchor, (2, 3), set())
        anchor_forms = dict(zip(anchor_ids, anchor_words, strict=True))
        self._langs = {f"L{i}": _make_language(i, cfg, anchor_forms)
                       for i in range(cfg.n_languages)}
        d = cfg.image_dim // 3
        irng = _rng(cfg.seed, 3)
        self._img_entity = irng.normal(size=(cfg.n_entities, d)) / np.sqrt(d)
        self._img_attr = irng.normal(size=(cfg.n_attributes, d)) / np.sqrt(d)
        self._img_verb = irng.normal(size=(cfg.n_verbs, d)) / np.sqrt(d)
        self._img_plural = irng.normal(size=d) / np.sqrt(d)
        self._img_neg = irng.normal(size=d) / np.sqrt(d)
        q, _ = np.linalg.qr(irng.normal(size=(cfg.image_dim, cfg.image_dim)))
        self._img_mix = q

    # ----------------------------------------------------------------- languages
    @property
    def languages(self) -> tuple[str, ...]:
        """Language codes, source language first."""
        return tuple(self._langs)

    def language(self, code: str) -> Language:
        """The :class:`Language` for ``code``; unknown codes raise a ``ValueError``."""
        try:
            return self._langs[code]
        except (KeyError, TypeError):
            raise ValueError(
                f"unknown toy language {code!r}; this world has {list(self._langs)}"
            ) from None

    def vocabulary(self, langs: Iterable[str] | None = None) -> list[str]:
        """Every surface word the given languages (default all) can produce, sorted."""
        words: set[str] = set()
        for code in (self.languages if langs is None else langs):
            lang = self.language(code)
            for e in range(self.config.n_entities):
                for plural, acc in itertools.product((False, True), (False, True)):
                    words.add(self._noun(lang, NounPhrase(e, (), plural), acc))
            words.update(lang.attributes)
            for v in range(self.config.n_verbs):
                for neg, passive, pl in itertools.product((False, True), repeat=3):
                    words.add(self._verb(lang, v, neg, passive, pl))
            words.update((lang.neg_word, lang.by_word, lang.acc_affix))
        return sorted(words)

    # ----------------------------------------------------------------- rendering
    def _noun(self, lang: Language, np_: NounPhrase, acc: bool) -> str:
        w = lang.entities[np_.entity]
        if np_.plural:
            w = lang.plural_affix + w if lang.plural_is_prefix else w + lang.plural_affix
        if acc and lang.case_marking == "suffix":
            w = w + lang.acc_affix
        return w

    def _verb(self, lang: Language, v: int, neg: bool, passive: bool, plural_subj: bool) -> str:
        w = lang.verbs[v]
        if passive:
            w = w + lang.passive_affix
        if plural_subj and lang.verb_agreement:
            w = w + lang.agree_affix
        if neg and lang.negation == "prefix":
            w = lang.neg_word + w
        elif neg and lang.negation == "suffix":
            w = w + lang.neg_word
        return w

    def _np(self, lang: Language, np_: NounPhrase, role: str, acc: bool
            ) -> list[tuple[str, frozenset[str]]]:
        noun_slots = {role}
        if acc and lang.case_marking == "suffix":
            noun_slots.add("ACC")
        noun = (self._noun(lang, np_, acc), frozenset(noun_slots))
        adjs = [(lang.attributes[a], frozenset({f"{role}.attr{a}"})) for a in np_.attrs]
        out = adjs + [noun] if lang.adjective_position == "before" else [noun] + adjs
        if acc and lang.case_marking == "particle":
            out.append((lang.acc_affix, frozenset({"ACC"})))
        return out

    def render(self, meaning: Meaning, lang: str, voice: Voice = "active") -> Sentence:
        """Render a meaning in a language, in active or passive voice.

        Example:
            >>> w = ToyWorld(WorldConfig(n_languages=1))
            >>> m = Meaning(NounPhrase(0), 1, NounPhrase(2), negated=True)
            >>> "NEG" in set().union(*w.render(m, "L0").slots)
            True
        """
        if voice not in ("active", "passive"):
            raise ValueError(f"voice must be 'active' or 'passive', got {voice!r}")
        self._check_meaning(meaning)
        L = self.language(lang)
        if voice == "active":
            subj = self._np(L, meaning.agent, "A", acc=False)
            obj = self._np(L, meaning.patient, "P", acc=True)
            subj_plural = meaning.agent.plural
        else:
            subj = self._np(L, meaning.patient, "P", acc=False)
            obj = self._np(L, meaning.agent, "A", acc=False)
            by = (L.by_word, frozenset({"BY"}))
            obj = [by, *obj] if L.word_order.index("O") > L.word_order.index("V") else [*obj, by]
            subj_plural = meaning.patient.plural
        neg = meaning.negated
        vslots = {"V"} | ({"NEG"} if neg and L.negation in ("prefix", "suffix") else set())
        verb = [(self._verb(L, meaning.verb, neg, voice == "passive", subj_plural),
                 frozenset(vslots))]
        negw = (L.neg_word, frozenset({"NEG"}))
        if neg and L.negation == "particle_before_verb":
            verb = [negw, *verb]
        elif neg and L.negation == "particle_after_verb":
            verb = [*verb, negw]
        parts = {"S": subj, "V": verb, "O": obj}
        words = [w for role in L.word_order for w in parts[role]]
        if neg and L.negation == "initial":
            words = [negw, *words]
        elif neg and L.negation == "final":
            words = [*words, negw]
        return Sentence(lang, tuple(w for w, _ in words), tuple(s for _, s in words))

    def _check_meaning(self, m: Meaning) -> None:
        cfg = self.config
        for np_ in (m.agent, m.patient):
            if not 0 <= np_.entity < cfg.n_entities:
                raise ValueError(f"entity {np_.entity} out of range [0, {cfg.n_entities})")
            if any(not 0 <= a < cfg.n_attributes for a in np_.attrs):
                raise ValueError(f"attributes {np_.attrs} out of range [0, {cfg.n_attributes})")
        if not 0 <= m.verb < cfg.n_verbs:
            raise ValueError(f"verb {m.verb} out of range [0, {cfg.n_verbs})")

    # ----------------------------------------------------------------- sampling
    def _sample_np(self, rng: np.random.Generator) -> NounPhrase:
        cfg = self.config
        k = int(rng.integers(0, cfg.max_attributes + 1))
        attrs = tuple(sorted(int(a) for a in rng.choice(cfg.n_attributes, k, replace=False)))
        return NounPhrase(int(rng.integers(cfg.n_entities)), attrs,
                          bool(rng.random() < cfg.plural_rate))

    def _sample_meaning(self, rng: np.random.Generator) -> Meaning:
        return Meaning(self._sample_np(rng), int(rng.integers(self.config.n_verbs)),
                       self._sample_np(rng), bool(rng.random() < self.config.negation_rate))

    def sample_meanings(self, n: int, seed: int = 0) -> list[Meaning]:
        """``n`` random meanings from the stream ``seed``."""
        _check_n(n, "n")
        rng = _rng(self.config.seed, 10, seed)
        return [self._sample_meaning(rng) for _ in range(n)]

    def _voice(self, rng: np.random.Generator) -> Voice:
        return "passive" if rng.random() < self.config.passive_rate else "active"

    def corpus(self, lang: str, n: int, seed: int = 0) -> list[str]:
        """``n`` monolingual sentences of ``lang`` (its own meanings, not parallel to others).

        Example:
            >>> len(ToyWorld(WorldConfig(n_languages=2)).corpus("L1", 5))
            5
        """
        _check_n(n, "n")
        idx = self.languages.index(self.language(lang).code)
        rng = _rng(self.config.seed, 20, seed, idx)
        return [self.render(self._sample_meaning(rng), lang, self._voice(rng)).text
                for _ in range(n)]

    # ----------------------------------------------------------------- NLI
    def _attrs_sub(self, rng: np.random.Generator, attrs: tuple[int, ...]) -> tuple[int, ...]:
        keep = [a for a in attrs if rng.random() < 0.5]
        return tuple(sorted(keep))

    def _attrs_sup(self, rng: np.random.Generator, attrs: tuple[int, ...], at_least_one: bool
                   ) -> tuple[int, ...]:
        free = [a for a in range(self.config.n_attributes) if a not in attrs]
        k = int(rng.integers(1 if at_least_one else 0, 2))
        extra = [int(a) for a in rng.choice(free, min(k, len(free)), replace=False)]
        return tuple(sorted(set(attrs) | set(extra)))

    def _hypothesis(self, rng: np.random.Generator, p: Meaning, target: int) -> Meaning:
        name = NLI_LABELS[target]
        sub = lambda np_: replace(np_, attrs=self._attrs_sub(rng, np_.attrs))  # noqa: E731
        sup = lambda np_, one=False: replace(np_, attrs=self._attrs_sup(rng, np_.attrs, one))  # noqa: E731
        if name in ("entailment", "contradiction"):
            # positive premise (or negated hypothesis of a positive premise): generalise;
            # negated premise: specialise
            f = sup if p.negated else sub
            negated = p.negated if name == "entailment" else not p.negated
            return Meaning(f(p.agent), p.verb, f(p.patient), negated)
        kind = rng.random()
        if kind < 0.3:  # a different event
            which = int(rng.integers(0, 3))
            if which == 0:
                v = (p.verb + 1 + int(rng.integers(self.config.n_verbs - 1))) % self.config.n_verbs
                return replace(p, verb=v, negated=bool(rng.random() < 0.5))
            role = "agent" if which == 1 else "patient"
            np_ = getattr(p, role)
            e = (np_.entity + 1 + int(rng.integers(self.config.n_entities - 1))) \
                % self.config.n_entities
            return replace(p, **{role: replace(np_, entity=e)},
                           negated=bool(rng.random() < 0.5))
        # same event, monotonicity in the wrong direction for this polarity: neutral
        negated = p.negated if kind < 0.65 else not p.negated
        role = "agent" if rng.random() < 0.5 else "patient"
        np_ = getattr(p, role)
        if p.negated and np_.attrs:  # negated premise: dropping an attribute is not entailed
            drop = np_.attrs[int(rng.integers(len(np_.attrs)))]
            new = replace(np_, attrs=tuple(a for a in np_.attrs if a != drop))
        else:  # positive premise: adding an attribute is not entailed
            new = sup(np_, True)
        return replace(p, **{role: new}, negated=negated)

    def nli_meanings(self, n: int, seed: int = 0) -> list[tuple[Meaning, Meaning, int]]:
        """``n`` (premise, hypothesis, label) meaning triples with balanced labels.

        Labels are computed by :func:`nli_label`, never assumed from construction.
        """
        _check_n(n, "n")
        rng = _rng(self.config.seed, 30, seed)
        out = []
        for i in range(n):
            p = self._sample_meaning(rng)
            target = i % len(NLI_LABELS)
            for _ in range(20):
                h = self._hypothesis(rng, p, target)
                if nli_label(p, h) == target:
                    break
            out.append((p, h, nli_label(p, h)))
        order = rng.permutation(n)
        return [out[i] for i in order]

    def render_pairs(self, triples: Sequence[tuple[Meaning, Meaning, int]], task: str,
                     premise_lang: str, hypothesis_lang: str | None = None, seed: int = 0,
                     voices: Sequence[tuple[Voice, Voice]] | None = None) -> PairDataset:
        """Render meaning triples as a :class:`PairDataset` (premise and hypothesis languages
        may differ: the generalized cross-lingual setting)."""
        hypothesis_lang = hypothesis_lang or premise_lang
        self.language(premise_lang), self.language(hypothesis_lang)
        labels = {"nli": NLI_LABELS, "paws": PAWS_LABELS}
        if task not in labels:
            raise ValueError(f"task must be one of {list(labels)}, got {task!r}")
        if voices is not None and len(voices) != len(triples):
            raise ValueError(f"voices has {len(voices)} entries for {len(triples)} triples")
        rng = _rng(self.config.seed, 31, seed)
        exs = []
        for i, (p, h, y) in enumerate(triples):
            vp, vh = voices[i] if voices is not None else (self._voice(rng), self._voice(rng))
            exs.append(PairExample(self.render(p, premise_lang, vp).text,
                                   self.render(h, hypothesis_lang, vh).text, int(y),
                                   premise_lang, hypothesis_lang, f"{task}-{seed}-{i}"))
        return PairDataset(task, labels[task], exs)

    def nli(self, n: int, lang: str = "L0", seed: int = 0,
            hypothesis_lang: str | None = None) -> PairDataset:
        """An NLI dataset of ``n`` pairs in ``lang`` (premise) and ``hypothesis_lang``.

        The same ``seed`` gives the same meanings in every language, so test sets are parallel
        across languages, like XNLI.
        """
        return self.render_pairs(self.nli_meanings(n, seed), "nli", lang, hypothesis_lang,
                                 seed=seed)

    # ----------------------------------------------------------------- PAWS
    def paws_meanings(self, n: int, seed: int = 0
                      ) -> list[tuple[Meaning, Meaning, int, tuple[Voice, Voice]]]:
        """``n`` paraphrase-identification items: (a, b, label, voices), balanced labels.

        Positives express the same meaning in the other voice; negatives swap agent and
        patient, or move attributes between them, keeping nearly the same words.
        """
        _check_n(n, "n")
        rng = _rng(self.config.seed, 40, seed)
        out = []
        for i in range(n):
            a = self._sample_meaning(rng)
            va = self._voice(rng)
            if i % 2 == 1:
                b, vb = a, ("passive" if va == "active" else "active")
            else:
                if rng.random() < 0.6 or not (a.agent.attrs or a.patient.attrs):
                    b = replace(a, agent=a.patient, patient=a.agent)
                else:
                    b = replace(a, agent=replace(a.agent, attrs=a.patient.attrs),
                                patient=replace(a.patient, attrs=a.agent.attrs))
                vb = va if rng.random() < 0.7 else ("passive" if va == "active" else "active")
            out.append((a, b, paws_label(a, b), (va, vb)))
        order = rng.permutation(n)
        return [out[i] for i in order]

    def paws(self, n: int, lang: str = "L0", seed: int = 0,
             hypothesis_lang: str | None = None) -> PairDataset:
        """A PAWS-like paraphrase dataset of ``n`` pairs (``PAWS_LABELS``)."""
        items = self.paws_meanings(n, seed)
        return self.render_pairs([(a, b, y) for a, b, y, _ in items], "paws", lang,
                                 hypothesis_lang, seed=seed, voices=[v for *_, v in items])

    # ----------------------------------------------------------------- parallel data
    def parallel(self, src: str, tgt: str, n: int, seed: int = 0) -> list[ParallelPair]:
        """``n`` translation pairs with gold word alignments.

        Two words are aligned when they express a common meaning slot.

        Example:
            >>> w = ToyWorld(WorldConfig(n_languages=2))
            >>> pair = w.parallel("L0", "L1", 1)[0]
            >>> all(0 <= i < len(pair.src.tokens) for i, _ in pair.alignment)
            True
        """
        _check_n(n, "n")
        self.language(src), self.language(tgt)
        rng = _rng(self.config.seed, 50, seed)
        out = []
        for _ in range(n):
            m = self._sample_meaning(rng)
            voice = self._voice(rng)
            s, t = self.render(m, src, voice), self.render(m, tgt, voice)
            out.append(ParallelPair(s, t, gold_alignment(s, t), m))
        return out

    def dictionary(self, src: str, tgt: str) -> list[tuple[str, str]]:
        """Word translation pairs between two languages over all inflected forms.

        Only content words and the negation particle are included (case and agreement affixes
        have no word of their own in every language).

        Example:
            >>> w = ToyWorld(WorldConfig(n_languages=2))
            >>> pairs = w.dictionary("L0", "L1")
            >>> len(pairs) > 0 and all(isinstance(a, str) for a, _ in pairs)
            True
        """
        S, T = self.language(src), self.language(tgt)
        cfg = self.config
        pairs: list[tuple[str, str]] = []
        for e in range(cfg.n_entities):
            for plural in (False, True):
                np_ = NounPhrase(e, (), plural)
                pairs.append((self._noun(S, np_, False), self._noun(T, np_, False)))
        pairs += list(zip(S.attributes, T.attributes, strict=True))
        for v in range(cfg.n_verbs):
            pairs.append((self._verb(S, v, False, False, False),
                          self._verb(T, v, False, False, False)))
        free_neg = ("particle_before_verb", "particle_after_verb", "initial", "final")
        if S.negation in free_neg and T.negation in free_neg:
            pairs.append((S.neg_word, T.neg_word))
        seen: set[tuple[str, str]] = set()
        return [p for p in pairs if not (p in seen or seen.add(p))]

    # ----------------------------------------------------------------- images
    def images(self, meanings: Sequence[Meaning], seed: int = 0) -> np.ndarray:
        """A synthetic "image" feature vector per meaning, shape ``(len(meanings), image_dim)``.

        The image encodes who does what to whom (role-bound entity, attribute, verb, number and
        polarity features), mixed by a fixed random rotation, plus Gaussian noise drawn from the
        stream ``seed``. It carries no language information.
        """
        if len(meanings) == 0:
            raise ValueError("meanings is empty: nothing to render as images")
        rng = _rng(self.config.seed, 60, seed)
        rows = []
        for m in meanings:
            self._check_meaning(m)
            blocks = []
            for np_ in (m.agent, m.patient):
                b = self._img_entity[np_.entity].copy()
                for a in np_.attrs:
                    b += 0.5 * self._img_attr[a]
                if np_.plural:
                    b += 0.5 * self._img_plural
                blocks.append(b)
            v = self._img_verb[m.verb] + (self._img_neg if m.negated else 0.0)
            rows.append(np.concatenate([blocks[0], v, blocks[1]]))
        x = np.stack(rows) @ self._img_mix
        x = x + self.config.image_noise * rng.normal(size=x.shape) / np.sqrt(x.shape[1])
        return x.astype(np.float32)


def gold_alignment(src: Sentence, tgt: Sentence) -> tuple[tuple[int, int], ...]:
    """Word alignment of two renderings of one meaning: words sharing a meaning slot.

    Example:
        >>> a = Sentence("L0", ("x", "y"), (frozenset({"A"}), frozenset({"V"})))
        >>> b = Sentence("L1", ("v", "u"), (frozenset({"V", "NEG"}), frozenset({"A"})))
        >>> gold_alignment(a, b)
        ((0, 1), (1, 0))
    """
    return tuple((i, j) for i, si in enumerate(src.slots) for j, sj in enumerate(tgt.slots)
                 if si & sj)


def _check_n(n: int, name: str) -> None:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n <= 0:
        raise ValueError(f"{name} must be a positive int, got {n!r}")


def sample_records(world: ToyWorld, n: int = 3, seed: int = 0) -> list[dict]:
    """A few human-readable examples of every language and task, as JSON-ready dicts.

    Example:
        >>> rows = sample_records(ToyWorld(WorldConfig(n_languages=2)), n=1)
        >>> sorted({r["kind"] for r in rows})
        ['grammar', 'nli', 'parallel', 'paws']
    """
    from dataclasses import asdict

    rows: list[dict] = [{"kind": "grammar", "lang": c, "description": world.language(c).describe()}
                        for c in world.languages]
    for m in world.sample_meanings(n, seed=seed):
        rows.append({"kind": "parallel", "meaning": asdict(m),
                     **{c: world.render(m, c).text for c in world.languages}})
    for ex in world.nli(n, seed=seed):
        rows.append({"kind": "nli", "premise": ex.premise, "hypothesis": ex.hypothesis,
                     "label": NLI_LABELS[ex.label], "lang": ex.premise_lang})
    for ex in world.paws(n, seed=seed):
        rows.append({"kind": "paws", "sentence1": ex.premise, "sentence2": ex.hypothesis,
                     "label": PAWS_LABELS[ex.label], "lang": ex.premise_lang})
    return rows


__all__ = [
    "NEGATION_STYLES",
    "SCRIPTS",
    "WORD_ORDERS",
    "Language",
    "Meaning",
    "NounPhrase",
    "ParallelPair",
    "Sentence",
    "ToyWorld",
    "Voice",
    "WorldConfig",
    "gold_alignment",
    "nli_label",
    "paws_label",
    "sample_records",
]


if __name__ == "__main__":  # python -m xtutor.toyworld data/toy_sample.jsonl
    import json
    import sys

    target = sys.argv[1] if len(sys.argv) > 1 else "data/toy_sample.jsonl"
    with open(target, "w", encoding="utf-8") as fh:
        for row in sample_records(ToyWorld(WorldConfig())):
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {target}")

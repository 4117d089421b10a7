"""Resources of the attacks: neighbour tables for word substitution and bilingual dictionaries
for code-switching, for the toy family and for real text, and the toy family's translation
classes for substitution smoothing (:func:`xtutor.certify.certify_substitution`).

- :func:`toy_resources`: embedding neighbours over each toy language's vocabulary and
  :meth:`ToyWorld.dictionary` dictionaries into every other language;
- :func:`real_resources`: MUSE and NLTK Swadesh dictionaries (``../shared/data`` or
  ``$XTUTOR_DATA_DIR``) and neighbours over the words of the datasets;
- :func:`dataset_vocabulary`: the words of a pair dataset;
- :func:`translation_classes`: every toy word with its translations in every language.

Example:
    >>> from xtutor.toyworld import ToyWorld, WorldConfig
    >>> w = ToyWorld(WorldConfig(n_languages=3))
    >>> a, b = w.dictionary("L0", "L1")[0]
    >>> b in translation_classes(w)[a]
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from xtutor.attacks.transformations import (
    embedding_neighbour_table,
    invert,
    read_swadesh,
    swadesh_languages,
    toy_dictionaries,
)
from xtutor.attacks.words import core
from xtutor.data.types import PairDataset


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


__all__ = ["dataset_vocabulary", "real_resources", "toy_resources", "translation_classes"]

"""Corpus types and the Tatoeba, MUSE and UD/PUD loaders (fixtures and real slices)."""

from __future__ import annotations

from pathlib import Path

import pytest
from _shared import shared_or_skip

from xtutor.data.corpora import (
    Dictionary,
    ParallelCorpus,
    SentenceDataset,
    SentenceExample,
    UDSentence,
)
from xtutor.data.muse import load_muse, muse_pairs
from xtutor.data.paths import MalformedRowsWarning
from xtutor.data.tatoeba import load_tatoeba, tatoeba_languages
from xtutor.data.ud import load_pud, load_pud_parallel, pud_languages, read_conllu

FIX = Path(__file__).parent / "fixtures"


# ---- types ------------------------------------------------------------------------------


def test_types_validate():
    with pytest.raises(ValueError, match="2 source sentences but 1 target"):
        ParallelCorpus("deu", "eng", ["a", "b"], ["c"])
    with pytest.raises(ValueError, match="head 5, expected 0..2"):
        UDSentence("s", "a b", ("a", "b"), ("X", "X"), (0, 5), ("root", "dep"))
    with pytest.raises(ValueError, match="upos has 1 items"):
        UDSentence("s", "a b", ("a", "b"), ("X",), (0, 1), ("root", "dep"))
    with pytest.raises(ValueError, match="expected an int in \\[0, 2\\)"):
        SentenceDataset("sst2", ("neg", "pos"), [SentenceExample("x", 2, "en")])
    with pytest.raises(ValueError, match="expected an int"):
        SentenceDataset("sst2", ("neg", "pos"), [SentenceExample("x", True, "en")])
    with pytest.raises(ValueError, match="finite number"):
        SentenceDataset("stsb", None, [SentenceExample("x", float("nan"), "en", text_b="y")])
    ds = SentenceDataset("stsb", None, [SentenceExample(str(i), i / 2, "en") for i in range(6)])
    assert ds.is_regression and len(ds.subset(3, seed=1)) == 3
    assert ds.subset(3, seed=1).labels == ds.subset(3, seed=1).labels


def test_dictionary_keeps_order():
    d = Dictionary("en", "de", [("the", "die"), ("dog", "Hund"), ("the", "der")])
    assert d.translations("the") == ["die", "der"] and d.translations("cat") == []
    assert d.words == ["the", "dog"] and "dog" in d and len(d) == 3
    d.to_dict()["the"].append("x")  # a copy: the dictionary is unchanged
    assert d.translations("the") == ["die", "der"]


# ---- Tatoeba ----------------------------------------------------------------------------


def test_tatoeba_fixture():
    assert tatoeba_languages(FIX / "tatoeba") == ["deu", "xho"]  # fra has no .eng file
    pc = load_tatoeba("deu", FIX / "tatoeba")
    assert (pc.src_lang, pc.tgt_lang, len(pc)) == ("deu", "eng", 3)
    assert pc[1] == ("Wo ist der Bahnhof?", "Where is the station?")
    with pytest.raises(ValueError, match="not line aligned.*2 lines.*3"):
        load_tatoeba("xho", FIX / "tatoeba")
    with pytest.raises(FileNotFoundError, match="available \\(2\\): deu, xho"):
        load_tatoeba("fra", FIX / "tatoeba")
    with pytest.raises(ValueError, match="ISO 639-3"):
        load_tatoeba("de", FIX / "tatoeba")


@pytest.mark.shared_data
def test_tatoeba_real():
    d = shared_or_skip("tatoeba/v1")
    langs = tatoeba_languages(d)
    assert len(langs) == 112
    sizes = {lang: len(load_tatoeba(lang, d)) for lang in langs}
    assert sizes["deu"] == 1000 and sizes["tzl"] == 104 and sum(sizes.values()) == 88877
    assert load_tatoeba("deu")[0] == load_tatoeba("deu", d)[0]  # path=None: the shared folder


# ---- MUSE -------------------------------------------------------------------------------


def test_muse_fixture_and_malformed_lines():
    d = load_muse("en", "de", FIX / "muse")
    assert d.translations("the") == ["die", "der", "das"] and len(d) == 6
    assert load_muse("en", "de", FIX / "muse" / "en-de.txt").pairs == d.pairs
    with pytest.raises(ValueError, match=r"en-fr\.txt, line 4: expected 2 whitespace"):
        load_muse("en", "fr", FIX / "muse")
    with pytest.warns(MalformedRowsWarning, match="skipped 1 malformed row.*line 4"):
        fr = load_muse("en", "fr", FIX / "muse", errors="skip")
    assert fr.translations("cat") == ["chat"] and fr.words[-1] == "house"  # tab + blank line ok
    assert muse_pairs(FIX / "muse") == [("en", "de"), ("en", "fr")]
    with pytest.raises(FileNotFoundError, match="available: en-de, en-fr"):
        load_muse("en", "ja", FIX / "muse")
    with pytest.raises(ValueError, match="is the en-de dictionary, not en-fr"):
        load_muse("en", "fr", FIX / "muse" / "en-de.txt")


@pytest.mark.shared_data
def test_muse_real():
    d = shared_or_skip("muse")
    assert len(muse_pairs(d)) == 14
    de = load_muse("en", "de", d)
    assert len(de) == 101931 and len(de.words) == 74655
    assert de.translations("the") == ["die", "der", "dem", "den", "das"]


# ---- UD / PUD ---------------------------------------------------------------------------


def test_read_conllu_skips_ranges_and_empty_nodes():
    en = read_conllu(FIX / "ud" / "en_pud-ud-test.conllu", lang="en")
    assert [s.sent_id for s in en] == ["s1", "s2"]
    s1 = en[0]
    assert s1.tokens == ("Dogs", "do", "n't", "bark", ".") and s1.text == "Dogs don't bark."
    assert s1.upos == ("NOUN", "AUX", "PART", "VERB", "PUNCT") and s1.head == (4, 4, 4, 0, 4)
    assert s1.deprel[3] == "root" and s1.root == 3 and s1.metadata["newdoc id"] == "d1"
    assert en[1].tokens == ("Cats", "sleep", "and", "dogs", "too", ".")  # 4.1 dropped


def test_read_conllu_errors():
    with pytest.raises(ValueError, match="head 7 is outside"):
        read_conllu(FIX / "ud_bad" / "bad_head.conllu")
    with pytest.raises(ValueError, match=r"short_line\.conllu, line 2: expected 10"):
        read_conllu(FIX / "ud_bad" / "short_line.conllu")


def test_pud_parallel_pairs_by_sent_id():
    pairs = load_pud_parallel("en", "de", FIX / "ud")
    assert [(a.sent_id, b.sent_id) for a, b in pairs] == [("s1", "s1"), ("s2", "s2")]
    assert all(a.text == b.metadata["text_en"] for a, b in pairs)
    assert pud_languages(FIX / "ud") == ["de", "en", "fr"]
    with pytest.raises(ValueError, match="1 ids only in en.*'s2'"):
        load_pud_parallel("en", "fr", FIX / "ud")
    with pytest.raises(FileNotFoundError, match="available: de, en, fr"):
        load_pud("ja", FIX / "ud")


@pytest.mark.shared_data
def test_pud_real():
    d = shared_or_skip("ud_pud")
    assert len(pud_languages(d)) == 19
    en = load_pud("en", d)
    # 21316 token lines, less 129 multiword ranges and 7 empty nodes
    assert len(en) == 1000 and sum(len(s) for s in en) == 21316 - 129 - 7
    pairs = load_pud_parallel("en", "is", d)  # Icelandic is stored in another order
    assert len(pairs) == 1000 and all(a.sent_id == b.sent_id for a, b in pairs)
    same = sum(a.text == b.metadata.get("text_en") for a, b in pairs)
    assert same >= 990

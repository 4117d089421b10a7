"""XNLI loaders: the three local formats, cross-lingual pairs, Hub path (faked), real slices."""

from __future__ import annotations

from pathlib import Path

import pytest
from _shared import shared_or_skip

from xtutor.data import NLI_LABELS, check_label_order
from xtutor.data.paths import MalformedRowsWarning
from xtutor.data.xnli import (
    XNLI_LANGUAGES,
    find_xnli_file,
    load_xnli,
    load_xnli_pairs,
    read_xnli_file,
)

FIX = Path(__file__).parent / "fixtures"


# ---- fixtures in the published formats --------------------------------------------------


def test_original_release_format_filters_language_and_keeps_quotes():
    fr = load_xnli("fr", "test", FIX / "xnli")
    assert len(fr) == 3 and fr.task == "xnli" and fr.label_names == NLI_LABELS
    assert [NLI_LABELS[x] for x in fr.labels] == ["entailment", "contradiction", "neutral"]
    assert fr[0].premise == "Il m'a dit \"salut\"." and fr[0].premise_lang == "fr"
    assert [ex.id for ex in fr] == ["1", "2", "3"]  # pairID
    with pytest.raises(FileNotFoundError, match="xnli.test.tsv holds only de, en, fr"):
        load_xnli("zh", "test", FIX / "xnli")
    with pytest.raises(ValueError, match="no rows for language 'zh'.*de, en, fr"):
        read_xnli_file(FIX / "xnli" / "xnli.test.tsv", "zh")


def test_genre_and_integer_formats_agree():
    d = FIX / "xnli_genre"
    en, my = load_xnli("en", "test", d), load_xnli("my", "test", d)
    es, sw = load_xnli("es", "test", d), load_xnli("sw", "test", d)
    assert en.labels == my.labels == es.labels == sw.labels == [0, 2, 1]
    assert find_xnli_file(d, "en", "test").name == "my.genre.test.tsv"
    assert my[2].hypothesis == "my-h3" and es[0].premise == "Dijo hola."
    with pytest.raises(ValueError, match="no sentence1_de/sentence2_de.*en, my"):
        read_xnli_file(d / "my.genre.test.tsv", "de")
    with pytest.raises(ValueError, match="holds language 'es', not 'fr'"):
        read_xnli_file(d / "xnli-es-original.tsv", "fr")


def test_unknown_language_and_split():
    with pytest.raises(ValueError, match="unknown XNLI language 'xx'; valid: ar, bg, de"):
        load_xnli("xx", "test", FIX / "xnli")
    with pytest.raises(ValueError, match="unknown XNLI split 'dev2'"):
        load_xnli("en", "dev2", FIX / "xnli")
    with pytest.raises(ValueError, match="only the dev and test"):
        load_xnli("en", "train", FIX / "xnli")
    with pytest.raises(FileNotFoundError, match="no XNLI dev file for language 'es'"):
        load_xnli("es", "dev", FIX / "xnli_genre")
    assert len(XNLI_LANGUAGES) == 15


def test_malformed_rows_raise_with_file_and_line_or_skip_with_warning():
    with pytest.raises(ValueError, match=r"xnli\.dev\.tsv, line 3: unknown label 'entailed'"):
        load_xnli("fr", "dev", FIX / "xnli")
    with pytest.raises(ValueError, match=r"xnli\.dev\.tsv, line 5: expected 19"):
        load_xnli("en", "dev", FIX / "xnli")
    with pytest.warns(MalformedRowsWarning, match="skipped 1 malformed row.*line 5"):
        de = load_xnli("de", "dev", FIX / "xnli", errors="skip")
    assert len(de) == 1 and de[0].premise == "Ein Mann schläft."
    with pytest.raises(ValueError, match=r"xnli-es-original\.tsv, line 3: unknown label '3'"):
        load_xnli("es", "test", FIX / "xnli_bad")


def test_unrecognised_header(tmp_path):
    f = tmp_path / "x.tsv"
    f.write_text("a\tb\n1\t2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unrecognised XNLI header"):
        read_xnli_file(f, "en")


def test_cross_lingual_pairs_and_alignment_check(tmp_path):
    ds = load_xnli_pairs("en", "de", "test", FIX / "xnli")
    assert [(ex.premise_lang, ex.hypothesis_lang) for ex in ds] == [("en", "de")] * 3
    assert ds[1].premise == "The shop closes at five."
    assert ds[1].hypothesis == "Der Laden ist die ganze Nacht offen."
    mixed = load_xnli_pairs("es", "sw", "test", FIX / "xnli_genre")
    assert mixed[0].premise == "Dijo hola." and mixed[0].hypothesis == "sw-h1"
    with pytest.raises(ValueError, match="not aligned at row 1"):
        load_xnli_pairs("en", "sw", "test", premise_path=FIX / "xnli_genre",
                        hypothesis_path=FIX / "xnli_misaligned")
    short = tmp_path / "sw.genre.test.tsv"
    short.write_text("genre\tlabel\tsentence1_sw\tsentence2_sw\nfiction\tentailment\tp\th\n",
                     encoding="utf-8")
    with pytest.raises(ValueError, match="3 en examples but 1 sw examples"):
        load_xnli_pairs("en", "sw", "test", premise_path=FIX / "xnli", hypothesis_path=short)
    with pytest.raises(ValueError, match="errors='raise'"):
        load_xnli_pairs("en", "de", "test", FIX / "xnli", errors="skip")


def test_hub_path_checks_label_order(monkeypatch):
    import datasets

    import xtutor.data.xnli as xnli_mod

    def fake(names):
        feats = datasets.Features({"premise": datasets.Value("string"),
                                   "hypothesis": datasets.Value("string"),
                                   "label": datasets.ClassLabel(names=list(names))})
        return datasets.Dataset.from_dict(
            {"premise": ["p0", "p1"], "hypothesis": ["h0", "h1"], "label": [0, 2]}, features=feats
        )

    calls = []
    monkeypatch.setattr(xnli_mod, "load_hub_dataset",
                        lambda *a, **k: calls.append(a) or fake(NLI_LABELS))
    ds = load_xnli("de", "validation")
    assert calls == [("facebook/xnli", "de", "validation")]
    assert ds.labels == [0, 2] and ds[1].premise_lang == "de"
    monkeypatch.setattr(xnli_mod, "load_hub_dataset",
                        lambda *a, **k: fake(["contradiction", "neutral", "entailment"]))
    with pytest.raises(ValueError, match="label order mismatch"):
        load_xnli("de", "test")
    with pytest.raises(ValueError, match="only in local"):
        load_xnli("my", "test")


def test_model_label_order_mismatch_is_refused():
    ds = load_xnli("en", "test", FIX / "xnli")
    check_label_order({0: "entailment", 1: "neutral", 2: "contradiction"}, ds.label_names)
    with pytest.raises(ValueError, match="label order mismatch"):
        check_label_order({0: "contradiction", 1: "entailment", 2: "neutral"}, ds.label_names)


# ---- real slices ------------------------------------------------------------------------


@pytest.mark.shared_data
def test_real_xnli_slices():
    d = shared_or_skip("xnli")
    counts = {}
    for lang in ("en", "my", "sw", "ur"):
        for split, n in (("validation", 2490), ("test", 5010)):
            ds = load_xnli(lang, split, d)
            counts[lang, split] = len(ds)
            assert len(ds) == n
            assert [ds.labels.count(i) for i in range(3)] == [n // 3] * 3
    es = load_xnli("es", "test", d)
    assert len(es) == 5010 and es.labels == load_xnli("sw", "test", d).labels
    assert es[0].premise.startswith("Bien, ni estaba pensando")


@pytest.mark.shared_data
def test_real_xnli_cross_lingual_pairs():
    d = shared_or_skip("xnli")
    ds = load_xnli_pairs("en", "ur", "validation", d)
    assert len(ds) == 2490
    assert ds[0].premise == "And he said, Mama, I'm home."
    assert ds[0].hypothesis_lang == "ur" and NLI_LABELS[ds[0].label] == "neutral"
    assert len(load_xnli_pairs("es", "my", "test", d)) == 5010

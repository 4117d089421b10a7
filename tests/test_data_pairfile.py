"""load_pair_file: readers' own pair datasets (TSV, CSV, JSON lines), labels, languages, errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from xtutor.data import NLI_LABELS, PAWS_LABELS, PairExample, load_pair_file, load_xnli
from xtutor.data.paths import MalformedRowsWarning


def write(folder: Path, name: str, text: str) -> Path:
    f = folder / name
    f.write_text(text, encoding="utf-8")
    return f


def fails(exc: type[Exception], message: str):
    """``pytest.raises`` matching the whole message exactly."""
    return pytest.raises(exc, match=f"^{re.escape(message)}$")


SKIP_HINT = " (pass errors='skip' to drop such rows with a warning)"


# ---- one test per layout ------------------------------------------------------------------


def test_tsv_with_word_labels_keeps_bare_quotes(tmp_path):
    f = write(tmp_path, "fr.tsv",
              "premise\thypothesis\tlabel\n"
              "Il m'a dit \"salut\".\t\"Salut\", dit-il.\tEntailment\n"
              "Le chat dort.\tLe chat court.\tCONTRADICTORY\n"
              "\n"
              "Il pleut.\tIl fait froid.\t neutral \n")
    ds = load_pair_file(f, language="fr")
    assert ds.task == "nli" and ds.label_names == NLI_LABELS
    assert ds.examples == [
        PairExample("Il m'a dit \"salut\".", "\"Salut\", dit-il.", 0, "fr", "fr", "fr-0"),
        PairExample("Le chat dort.", "Le chat court.", 2, "fr", "fr", "fr-1"),
        PairExample("Il pleut.", "Il fait froid.", 1, "fr", "fr", "fr-2"),
    ]


def test_csv_with_integer_labels_id_and_language_columns(tmp_path):
    f = write(tmp_path, "mixed.csv",
              "id,language,premise,hypothesis,label\n"
              '007,sw,"Mtu, mmoja analala.",Mtu analala.,0\n'
              "008,am,NA,null,2\n"
              '009,sw,"Alisema ""habari"".",Alisema kitu.,1\n')
    ds = load_pair_file(f)
    assert ds.examples == [
        PairExample("Mtu, mmoja analala.", "Mtu analala.", 0, "sw", "sw", "007"),
        PairExample("NA", "null", 2, "am", "am", "008"),  # no NaN: every cell is text
        PairExample('Alisema "habari".', "Alisema kitu.", 1, "sw", "sw", "009"),
    ]
    # language= with a language column keeps that language's rows
    sw = load_pair_file(f, language="sw")
    assert [ex.id for ex in sw] == ["007", "009"]
    with fails(ValueError, f"{f} has no rows for language='yo' in column 'language'; "
                           f"it holds: am, sw"):
        load_pair_file(f, language="yo")


def test_jsonl_with_blank_lines_integer_ids_and_extra_keys(tmp_path):
    f = write(tmp_path, "de.jsonl",
              '{"id": 1, "premise": "Ein Mann schläft.", "hypothesis": "Jemand ruht.", '
              '"label": 0, "meta": {"genre": "fiction"}}\n'
              "\n"
              '{"id": 2, "premise": "Es regnet.", "hypothesis": "Es ist trocken.", '
              '"label": 2, "meta": {"genre": "news"}}\n')
    ds = load_pair_file(f, language="de")
    assert ds.examples == [
        PairExample("Ein Mann schläft.", "Jemand ruht.", 0, "de", "de", "1"),
        PairExample("Es regnet.", "Es ist trocken.", 2, "de", "de", "2"),
    ]
    # the same records as one JSON array (.json)
    arr = write(tmp_path, "de.json",
                '[{"id": "1", "premise": "Ein Mann schläft.", "hypothesis": "Jemand ruht.",\n'
                '  "label": "entailment"},\n'
                ' {"id": "2", "premise": "Es regnet.", "hypothesis": "Es ist trocken.",\n'
                '  "label": "contradiction"}]\n')
    assert load_pair_file(arr, language="de").examples == ds.examples


def test_translated_xnli_file_for_a_language_xnli_lacks(tmp_path):
    # the layout of xnli-<xx>-original.tsv (integer labels), for Yoruba
    f = write(tmp_path, "xnli-yo-translated.tsv",
              "premise\thypothesis\tlabel\n"
              "Ọkùnrin náà ń sùn.\tẸnìkan ń sinmi.\t0\n"
              "Ọkùnrin náà ń sùn.\tỌkùnrin náà ń sáré.\t2\n"
              "Ọkùnrin náà ń sùn.\tỌkùnrin náà ti rẹ̀.\t1\n")
    with pytest.raises(ValueError, match="unknown XNLI language 'yo'"):
        load_xnli("yo", "test", f)
    ds = load_pair_file(f, language="yo")
    assert ds.labels == [0, 2, 1]
    assert [(ex.premise_lang, ex.hypothesis_lang) for ex in ds] == [("yo", "yo")] * 3
    assert ds[2].hypothesis == "Ọkùnrin náà ti rẹ̀." and ds[2].id == "xnli-yo-translated-2"
    # any non-empty code: a region subtag, a three-letter code
    assert load_pair_file(f, language="yo-NG")[0].premise_lang == "yo-NG"
    assert load_pair_file(f, language="quy")[0].hypothesis_lang == "quy"


def test_paraphrase_file_in_the_pawsx_layout(tmp_path):
    f = write(tmp_path, "ko.tsv",
              "id\tsentence1\tsentence2\tlabel\n"
              "1\tA B\tB A\t1\n"
              "2\tC D\tD C\t0\n"
              "3\tE F\tF E\tnot paraphrase\n"
              "4\tG H\tH G\tParaphrase\n")
    ds = load_pair_file(f, task="paws", language="ko")
    assert ds.task == "paws" and ds.label_names == PAWS_LABELS
    assert ds.labels == [1, 0, 0, 1]
    assert (ds[0].premise, ds[0].hypothesis, ds[3].id) == ("A B", "B A", "4")
    nli = write(tmp_path, "ko-words.tsv", "id\tsentence1\tsentence2\tlabel\n1\tA\tB\tparaphrase\n")
    with fails(ValueError,
               f"{nli}, line 2: column 'label': unknown label 'paraphrase'; expected one of "
               f"('entailment', 'neutral', 'contradiction') (any case) or an integer 0-2"
               + SKIP_HINT):
        load_pair_file(nli, language="ko")  # task="nli" by default
    three = write(tmp_path, "ko-3.tsv", "id\tsentence1\tsentence2\tlabel\n1\tA\tB\t2\n")
    with fails(ValueError,
               f"{three}, line 2: column 'label': unknown label '2'; expected one of "
               f"('not_paraphrase', 'paraphrase') (any case) or an integer 0-1" + SKIP_HINT):
        load_pair_file(three, task="paws", language="ko")


# ---- columns, languages, label orders -------------------------------------------------------


def test_column_mapping_and_cross_lingual_language_columns(tmp_path):
    f = write(tmp_path, "pairs.csv",
              "pid,text_a,lang_a,text_b,lang_b,gold\n"
              "x1,The dog sleeps.,en,Der Hund schläft.,de,entailment\n")
    ds = load_pair_file(f, columns={
        "premise": "text_a", "hypothesis": "text_b", "label": "gold", "id": "pid",
        "premise_language": "lang_a", "hypothesis_language": "lang_b"})
    assert ds.examples == [
        PairExample("The dog sleeps.", "Der Hund schläft.", 0, "en", "de", "x1")]
    with fails(ValueError, f"{f}, line 1 (header): no column 'text' (columns={{'premise': "
                           f"'text'}}); the header has ['pid', 'text_a', 'lang_a', 'text_b', "
                           f"'lang_b', 'gold']"):
        load_pair_file(f, columns={"premise": "text"}, language="en")
    with fails(ValueError, "columns= names unknown fields ['sentence']; the fields are "
                           "['premise', 'hypothesis', 'label', 'id', 'language', "
                           "'premise_language', 'hypothesis_language']"):
        load_pair_file(f, columns={"sentence": "text_a"}, language="en")


def test_label_names_give_the_files_integer_order_and_are_remapped(tmp_path):
    f = write(tmp_path, "cen.tsv", "premise\thypothesis\tlabel\np\th0\t0\np\th1\t1\np\th2\t2\n")
    ds = load_pair_file(f, language="en", label_names=("contradiction", "entailment", "neutral"))
    assert ds.label_names == NLI_LABELS
    assert [NLI_LABELS[y] for y in ds.labels] == ["contradiction", "entailment", "neutral"]
    with fails(ValueError, "label_names ('entailment', 'not_entailment') do not name the labels "
                           "of task 'nli' ('entailment', 'neutral', 'contradiction'); give them "
                           "in the order of the file's integer labels"):
        load_pair_file(f, language="en", label_names=("entailment", "not_entailment"))
    rte = load_pair_file(f.with_name("cen.tsv"), task="rte", language="en",
                         label_names=("entailment", "not_entailment", "unknown"))
    assert rte.task == "rte" and rte.labels == [0, 1, 2]
    with pytest.raises(ValueError, match="unknown task 'rte'"):
        load_pair_file(f, task="rte", language="en")


def test_delimiter_override_and_quoted_tsv_as_csv(tmp_path):
    f = write(tmp_path, "semi.csv", "premise;hypothesis;label\n\"a;b\";c;neutral\n")
    assert load_pair_file(f, delimiter=";", language="en")[0].premise == "a;b"
    q = write(tmp_path, "quoted.tsv", 'premise\thypothesis\tlabel\n"x\ty"\tz\t1\n')
    assert load_pair_file(q, format="csv", delimiter="\t", language="en")[0].premise == "x\ty"


def test_skip_drops_bad_rows_with_one_warning(tmp_path):
    f = write(tmp_path, "snli.tsv", "premise\thypothesis\tlabel\na\tb\t-\nc\td\t0\n\te\t1\n")
    with pytest.warns(MalformedRowsWarning,
                      match=r"skipped 2 malformed row\(s\): line 2: column 'label': unknown "
                            r"label '-'.*line 4: column 'premise': missing or empty premise"):
        ds = load_pair_file(f, language="en", errors="skip")
    assert ds.examples == [PairExample("c", "d", 0, "en", "en", "snli-1")]


def test_offline_and_no_cache_in_the_users_home(tmp_path, monkeypatch, hub_offline):
    import datasets.config

    home_cache = tmp_path / "hf-cache"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", home_cache)
    f = write(tmp_path, "sw.csv", "premise,hypothesis,label\na,b,1\n")
    assert load_pair_file(f, language="sw").labels == [1]
    assert not home_cache.exists()


# ---- one test per error ---------------------------------------------------------------------


def test_unknown_label_names_file_line_and_column(tmp_path):
    f = write(tmp_path, "x.tsv", "premise\thypothesis\tlabel\na\tb\t0\nc\td\tentailed\n")
    with fails(ValueError,
               f"{f}, line 3: column 'label': unknown label 'entailed'; expected one of "
               f"('entailment', 'neutral', 'contradiction') (any case) or an integer 0-2"
               + SKIP_HINT):
        load_pair_file(f, language="en")
    j = write(tmp_path, "x.jsonl", '{"premise": "a", "hypothesis": "b", "label": 3}\n')
    with fails(ValueError,
               f"{j}, line 1: column 'label': unknown label '3'; expected one of "
               f"('entailment', 'neutral', 'contradiction') (any case) or an integer 0-2"
               + SKIP_HINT):
        load_pair_file(j, language="en")


def test_line_numbers_count_multiline_csv_fields(tmp_path):
    f = write(tmp_path, "x.csv", 'premise,hypothesis,label\n"two\nlines",b,0\n"a",b,maybe\n')
    with pytest.raises(ValueError, match=re.escape(f"{f}, line 4: column 'label': unknown "
                                                   f"label 'maybe'")):
        load_pair_file(f, language="en")


def test_missing_column(tmp_path):
    f = write(tmp_path, "x.csv", "sentence_a,hypothesis,label\na,b,0\n")
    with fails(ValueError,
               f"{f}, line 1 (header): no column for the premise (looked for 'premise' or "
               f"'sentence1'); the header has ['sentence_a', 'hypothesis', 'label']; pass "
               f"columns={{'premise': '<column name>'}}"):
        load_pair_file(f, language="en")
    j = write(tmp_path, "x.jsonl", '{"premise": "a", "hypothesis": "b"}\n')
    with fails(ValueError,
               f"{j}: no column for the label (looked for 'label' or 'gold_label'); the "
               f"records have the keys ['premise', 'hypothesis']; pass "
               f"columns={{'label': '<column name>'}}"):
        load_pair_file(j, language="en")


def test_comma_file_read_as_tsv_gets_a_delimiter_hint(tmp_path):
    f = write(tmp_path, "x.tsv", "premise,hypothesis,label\na,b,0\n")
    with fails(ValueError,
               f"{f}, line 1: the header is one column 'premise,hypothesis,label' split on tab; "
               f"the file looks ','-separated: pass delimiter=',' (or format='tsv' / 'csv')"):
        load_pair_file(f, language="en")


def test_empty_premise_or_hypothesis(tmp_path):
    f = write(tmp_path, "x.tsv", "premise\thypothesis\tlabel\na\tb\t0\n  \tb\t1\n")
    with fails(ValueError, f"{f}, line 3: column 'premise': missing or empty premise; expected "
                           f"a sentence" + SKIP_HINT):
        load_pair_file(f, language="en")
    j = write(tmp_path, "x.jsonl",
              '{"premise": "a", "hypothesis": "b", "label": 0}\n'
              '{"premise": "a", "hypothesis": null, "label": 0}\n')
    with fails(ValueError, f"{j}, line 2: column 'hypothesis': missing or empty hypothesis; "
                           f"expected a sentence" + SKIP_HINT):
        load_pair_file(j, language="en")


def test_empty_language_cell(tmp_path):
    f = write(tmp_path, "x.csv", "language,premise,hypothesis,label\nyo,a,b,0\n ,c,d,1\n")
    with fails(ValueError, f"{f}, line 3: column 'language': empty language; expected a "
                           f"language code such as 'yo'" + SKIP_HINT):
        load_pair_file(f)


def test_missing_language(tmp_path):
    f = write(tmp_path, "x.tsv", "premise\thypothesis\tlabel\na\tb\t0\n")
    with fails(ValueError,
               f"{f}, line 1 (header): no language column (looked for 'language' or 'lang', or "
               f"premise_language and hypothesis_language) and no language= given; pass "
               f"language='<code>' (any code, e.g. 'yo') or columns={{'language': "
               f"'<column name>'}}"):
        load_pair_file(f)
    with fails(ValueError, "language must be a non-empty string such as 'yo', got ' '"):
        load_pair_file(f, language=" ")


def test_wrong_suffix_and_unknown_format(tmp_path):
    f = write(tmp_path, "x.txt", "premise\thypothesis\tlabel\na\tb\t0\n")
    with fails(ValueError,
               f"{f}: cannot tell the format from the suffix '.txt'; expected .tsv, .csv, "
               f".jsonl, .json, or pass format='tsv', 'csv', 'jsonl' or 'json'"):
        load_pair_file(f, language="en")
    assert load_pair_file(f, format="tsv", language="en").labels == [0]
    with fails(ValueError, "unknown format 'xlsx'; expected 'tsv', 'csv', 'jsonl' or 'json'"):
        load_pair_file(f, format="xlsx", language="en")  # type: ignore[arg-type]


def test_empty_file_and_header_only(tmp_path):
    f = write(tmp_path, "x.csv", "")
    with fails(ValueError,
               f"{f} is empty: expected a header line (or JSON records) and rows"):
        load_pair_file(f, language="en")
    h = write(tmp_path, "h.tsv", "premise\thypothesis\tlabel\n\n")
    with fails(ValueError, f"{h} has a header (line 1) but no rows"):
        load_pair_file(h, language="en")
    j = write(tmp_path, "x.jsonl", "\n\n")
    with fails(ValueError, f"{j} holds no JSON records; expected one JSON object per line"):
        load_pair_file(j, language="en")


def test_missing_file(tmp_path):
    f = tmp_path / "nope.tsv"
    with fails(FileNotFoundError, f"{f}: no such file"):
        load_pair_file(f, language="en")


def test_wrong_number_of_fields(tmp_path):
    f = write(tmp_path, "x.tsv", "premise\thypothesis\tlabel\na\tb\t0\nc\td\n")
    with fails(ValueError, f"{f}, line 3: expected 3 tab-separated fields as in the header "
                           f"['premise', 'hypothesis', 'label'], got 2"):
        load_pair_file(f, language="en", errors="skip")


def test_bad_json_lines(tmp_path):
    f = write(tmp_path, "x.jsonl", '{"premise": "a", "hypothesis": "b", "label": 0}\n{"premise"\n')
    with pytest.raises(ValueError, match=re.escape(f"{f}, line 2: not valid JSON (")):
        load_pair_file(f, language="en")
    m = write(tmp_path, "m.jsonl",
              '{"premise": "a", "hypothesis": "b", "label": "neutral"}\n'
              '{"premise": "c", "hypothesis": "d", "label": 2}\n')
    with fails(ValueError, f"{m}, line 2, column 'label': an integer (2), but a string on line "
                           f"1; write every 'label' value as one JSON type (e.g. all quoted "
                           f"strings)"):
        load_pair_file(m, language="en")
    a = write(tmp_path, "a.jsonl", '{"premise": "a", "hypothesis": "b", "label": 0}\n\n'
                                   '["a", "b", 0]\n')
    with fails(ValueError, f'{a}, line 3: expected a JSON object {{"premise": ..., ...}}, got '
                           f'list ["a", "b", 0]'):
        load_pair_file(a, language="en")

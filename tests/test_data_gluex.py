"""GLUE-X task table and loader on fixtures in the Hub export formats (CSV, TSV, JSONL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from xtutor.data import NLI_LABELS, PairDataset, check_label_order
from xtutor.data.corpora import SentenceDataset
from xtutor.data.gluex import GLUEX_TASKS, load_gluex
from xtutor.data.paths import MalformedRowsWarning

FIX = Path(__file__).parent / "fixtures" / "gluex"


def test_task_table():
    assert set(GLUEX_TASKS) == {"sst2", "mnli", "qnli", "rte", "mrpc", "qqp", "cola", "stsb"}
    expected = {
        "sst2": {"imdb", "yelp", "amazon", "flipkart"},
        "mnli": {"mnli_mm", "snli", "sick"},
        "rte": {"mrpc", "qqp", "hans", "scitail"},
        "mrpc": {"qqp", "rte", "hans", "twitter"},
        "qqp": {"mrpc", "rte", "hans", "twitter"},
        "stsb": {"sick"},
    }
    for task, oods in expected.items():
        assert set(GLUEX_TASKS[task].ood) == oods
    assert GLUEX_TASKS["mnli"].in_domain_hub == ("nyu-mll/glue", "mnli")
    assert GLUEX_TASKS["mnli"].label_names == NLI_LABELS
    remapped = {(t, o) for t, spec in GLUEX_TASKS.items() for o, s in spec.ood.items() if s.remap}
    assert {("rte", "mrpc"), ("rte", "qqp"), ("rte", "scitail"), ("mrpc", "rte"),
            ("mrpc", "hans"), ("qqp", "rte"), ("qqp", "hans")} == remapped
    for spec in GLUEX_TASKS.values():  # every label map lands on in-domain names
        for src in spec.ood.values():
            if spec.label_names is None:
                assert src.label_map is None
            else:
                assert set(src.label_map.values()) == set(spec.label_names)


def test_single_sentence_in_domain_and_ood():
    sst = load_gluex("sst2", "validation", FIX)
    assert isinstance(sst, SentenceDataset) and sst.label_names == ("negative", "positive")
    assert sst.labels == [1, 0, 1] and sst[0].id == "sst2-validation-0"
    assert sst[2].text == 'a "gripping" film, with\ttabs'  # CSV quoting in the Hub TSV export
    imdb = load_gluex("sst2", "imdb", FIX / "sst2" / "imdb.csv")
    assert imdb.labels == [1, 0, 1] and imdb[1].text == 'Worst film ever. "Avoid", I say.'
    amazon = load_gluex("SST-2", "amazon", FIX)
    assert amazon[0].text == "Works as described." and amazon.labels == [1, 0]
    assert load_gluex("sst2", "flipkart", FIX).labels == [1, 0]  # label words


def test_nli_ood_sets():
    with pytest.warns(UserWarning, match="dropped 1 unlabelled row"):
        snli = load_gluex("mnli", "snli", FIX)
    assert isinstance(snli, PairDataset) and snli.label_names == NLI_LABELS
    assert [NLI_LABELS[i] for i in snli.labels] == ["entailment", "contradiction", "neutral"]
    sick = load_gluex("mnli", "sick", FIX)  # ENTAILMENT/CONTRADICTION/NEUTRAL words
    assert sick.labels == [0, 2, 1] and sick[0].id == "mnli-sick-1"


def test_paraphrase_labels_are_flipped_onto_rte_order():
    ds = load_gluex("rte", "mrpc", FIX)
    assert ds.label_names == ("entailment", "not_entailment")
    # MRPC 1 (equivalent) -> RTE 0 (entailment); MRPC 0 -> RTE 1
    assert ds.labels == [0, 1]
    sci = load_gluex("rte", "scitail", FIX)
    assert sci.labels == [0, 1]
    hans = load_gluex("mrpc", "hans", FIX)  # entailment -> equivalent (index 1)
    assert hans.label_names == ("not_equivalent", "equivalent") and hans.labels == [1, 0]


def test_declared_file_label_order_is_remapped_by_name():
    plain = load_gluex("mnli", "snli", FIX / "mnli" / "snli_reordered.jsonl")
    declared = load_gluex("mnli", "snli", FIX / "mnli" / "snli_reordered.jsonl",
                          file_label_names=("contradiction", "neutral", "entailment"))
    with pytest.warns(UserWarning, match="unlabelled"):
        reference = load_gluex("mnli", "snli", FIX)
    assert declared.labels == reference.labels == [0, 2, 1]
    assert plain.labels == [2, 0, 1]  # read in the Hub order: wrong, hence the argument
    with pytest.raises(ValueError, match="unknown to mnli/snli"):
        load_gluex("mnli", "snli", FIX, file_label_names=("yes", "no", "maybe"))


def test_regression():
    stsb = load_gluex("stsb", "validation", FIX)
    assert stsb.is_regression and stsb.labels == [5.0, 0.4] and stsb[1].text_b == "A dog sleeps."
    with pytest.raises(ValueError, match=r"sick\.csv, line 3: label 'n/a'.*not a finite number"):
        load_gluex("stsb", "sick", FIX)
    with pytest.warns(MalformedRowsWarning):
        sick = load_gluex("stsb", "sick", FIX, errors="skip")
    assert sick.labels == [4.7]  # relatedness_score, not the NLI label column


def test_malformed_rows():
    with pytest.raises(ValueError, match=r"grammar_test\.csv, line 3: unknown label 'maybe'"):
        load_gluex("cola", "grammar_test", FIX)
    with pytest.warns(MalformedRowsWarning, match="skipped 1 malformed"):
        cola = load_gluex("cola", "grammar_test", FIX, errors="skip")
    assert cola.labels == [1, 0]
    with pytest.raises(ValueError, match=r"twitter\.tsv, line 3: expected 3 fields"):
        load_gluex("qqp", "twitter", FIX)
    with pytest.raises(ValueError, match=r"hans\.jsonl, line 2: invalid JSON"):
        load_gluex("rte", "hans", FIX)


def test_bad_arguments_and_missing_columns(tmp_path):
    with pytest.raises(ValueError, match="unknown GLUE-X task 'wnli'"):
        load_gluex("wnli", "validation", FIX)
    with pytest.raises(ValueError, match="unknown split_or_ood 'yelp' for GLUE-X task 'mnli'"):
        load_gluex("mnli", "yelp", FIX)
    with pytest.raises(ValueError, match="GLUE test labels are hidden"):
        load_gluex("sst2", "test", FIX)
    with pytest.raises(FileNotFoundError, match="no GLUE-X file for cola/validation"):
        load_gluex("cola", "validation", FIX)
    with pytest.raises(ValueError, match="no Hub copy.*pass path="):
        load_gluex("qnli", "newsqa")
    f = tmp_path / "imdb.csv"
    f.write_text("review,label\ngood,1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['text'\]"):
        load_gluex("sst2", "imdb", f)


def test_hub_path_checks_source_label_order(monkeypatch):
    import datasets

    import xtutor.data.gluex as mod

    def fake(names):
        feats = datasets.Features({"sentence1": datasets.Value("string"),
                                   "sentence2": datasets.Value("string"),
                                   "label": datasets.ClassLabel(names=list(names)),
                                   "idx": datasets.Value("int32")})
        return datasets.Dataset.from_dict(
            {"sentence1": ["a", "b"], "sentence2": ["c", "d"], "label": [1, 0], "idx": [0, 1]},
            features=feats,
        )

    seen = []
    monkeypatch.setattr(mod, "load_hub_dataset",
                        lambda *a, **k: seen.append(a) or fake(["not_equivalent", "equivalent"]))
    ds = load_gluex("rte", "mrpc")
    assert seen == [("nyu-mll/glue", "mrpc", "validation")] and ds.labels == [0, 1]
    monkeypatch.setattr(mod, "load_hub_dataset",
                        lambda *a, **k: fake(["equivalent", "not_equivalent"]))
    with pytest.raises(ValueError, match="label order mismatch"):
        load_gluex("rte", "mrpc")


def test_model_label_order_mismatch_is_refused():
    ds = load_gluex("rte", "mrpc", FIX)
    check_label_order({0: "entailment", 1: "not_entailment"}, ds.label_names)
    with pytest.raises(ValueError, match="label order mismatch"):
        check_label_order({0: "not_equivalent", 1: "equivalent"}, ds.label_names)

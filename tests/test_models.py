from __future__ import annotations

import time

import pytest

from xtutor.models import load_encoder, toy_encoder


def test_hub_name_offline_fails_fast_and_clearly(monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t0 = time.time()
    with pytest.raises(RuntimeError) as e:
        load_encoder("bert-base-multilingual-cased")
    assert time.time() - t0 < 20
    msg = str(e.value)
    assert "bert-base-multilingual-cased" in msg and "local" in msg and "load_encoder(DIR)" in msg


def test_unreachable_hub_fails_fast(monkeypatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.invalid")
    t0 = time.time()
    with pytest.raises(RuntimeError, match="xlm-roberta-base"):
        load_encoder("xlm-roberta-base")
    assert time.time() - t0 < 20


def test_local_toy_encoder_round_trip(small_world, tmp_path) -> None:
    model, tok = toy_encoder(small_world, layers=1, hidden=16, heads=2)
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    m2, t2 = load_encoder(tmp_path, mlm_head=True)
    assert type(m2).__name__ == "BertForMaskedLM"
    assert t2("a b")["input_ids"] == tok("a b")["input_ids"]
    bare, _ = load_encoder(str(tmp_path))
    assert type(bare).__name__ == "BertModel"


def test_bad_paths_and_sizes(tmp_path, small_world) -> None:
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_encoder(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_encoder("./no/such/model")
    with pytest.raises(ValueError, match="divisible"):
        toy_encoder(small_world, hidden=30, heads=4)
    with pytest.raises(ValueError, match="no MLM head"):
        load_encoder("e5-small-offline", mlm_head=True)

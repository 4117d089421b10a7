"""Describing languages against English: scripts and subword overlap (xtutor.languages)."""

from __future__ import annotations

import pytest

from tests._shared import shared_or_skip
from xtutor.languages import char_script, dominant_script, subword_overlap, subword_types
from xtutor.tokenization import build_word_tokenizer


def test_scripts_of_letters_and_texts() -> None:
    assert [char_script(c) for c in "aЖع한ไ中か"] == [
        "Latin", "Cyrillic", "Arabic", "Hangul", "Thai", "Han", "Kana"]
    assert char_script("5") is None and char_script("!") is None
    assert dominant_script(["Hello, мир мир мир"]) == "Cyrillic"  # most letters win
    assert dominant_script(["12 34 !!"]) == "other"
    with pytest.raises(ValueError, match="one character"):
        char_script("ab")
    with pytest.raises(ValueError, match="no texts"):
        dominant_script([])
    with pytest.raises(TypeError, match="must be strings"):
        dominant_script([3])  # type: ignore[list-item]


def test_overlap_is_a_jaccard_index_of_subword_types() -> None:
    tok = build_word_tokenizer(["ka", "po", "mi", "lu"])
    assert subword_types(tok, ["[CLS] ka"]) == {"ka"}  # special tokens left out
    assert subword_overlap(tok, ["ka po"], ["ka po ka"]) == 1.0
    assert subword_overlap(tok, ["ka po"], ["mi lu"]) == 0.0
    assert subword_overlap(tok, ["ka po mi"], ["po mi lu"]) == pytest.approx(2 / 4)
    with pytest.raises(ValueError, match="non-empty"):
        subword_overlap(tok, [], ["ka"])


@pytest.mark.shared_data
def test_pud_languages_against_english_with_e5() -> None:
    """On PUD's parallel sentences: every language's script is the expected one, and e5's
    vocabulary shares far more subwords between English and German than between English and
    Chinese or Thai."""
    root = shared_or_skip("ud_pud")
    from transformers import AutoTokenizer

    from xtutor.data.ud import load_pud
    from xtutor.e5 import e5_small_offline_path

    tok = AutoTokenizer.from_pretrained(e5_small_offline_path())  # the tokenizer only
    text = {lang: [s.text for s in load_pud(lang, root)[:200]]
            for lang in ("en", "de", "ru", "ar", "hi", "ko", "th", "zh")}
    expected = {"en": "Latin", "de": "Latin", "ru": "Cyrillic", "ar": "Arabic",
                "hi": "Devanagari", "ko": "Hangul", "th": "Thai", "zh": "Han"}
    assert {lang: dominant_script(t) for lang, t in text.items()} == expected
    ov = {lang: subword_overlap(tok, t, text["en"]) for lang, t in text.items()}
    assert ov["en"] == 1.0
    assert ov["de"] > 2 * max(ov["zh"], ov["th"])

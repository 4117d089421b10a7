from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from xtutor.tokenization import SPECIAL_TOKENS, build_word_tokenizer


def test_word_tokenizer_covers_toy_vocabulary_without_unknowns(small_world) -> None:
    tok = build_word_tokenizer(small_world.vocabulary())
    for lang in small_world.languages:
        for text in small_world.corpus(lang, 50):
            ids = tok(text)["input_ids"]
            assert tok.unk_token_id not in ids
            assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id
            assert len(ids) == len(text.split()) + 2


def test_pairs_have_segment_ids_and_round_trip(tmp_path) -> None:
    tok = build_word_tokenizer(["ka", "po", "mi"])
    enc = tok("ka po", "mi")
    assert tok.convert_ids_to_tokens(enc["input_ids"]) == \
        ["[CLS]", "ka", "po", "[SEP]", "mi", "[SEP]"]
    assert enc["token_type_ids"] == [0, 0, 0, 0, 1, 1]
    assert tok("zz")["input_ids"][1] == tok.unk_token_id
    tok.save_pretrained(tmp_path)
    again = AutoTokenizer.from_pretrained(tmp_path)
    assert again("ka po", "mi")["input_ids"] == enc["input_ids"]
    batch = tok(["ka", "ka po mi"], padding=True)
    assert batch["input_ids"][0][-1] == tok.pad_token_id


@pytest.mark.parametrize("words, match", [([], "empty"), (["a b"], "whitespace"),
                                          (["[CLS]"], "special")])
def test_bad_vocabularies_are_refused(words, match) -> None:
    with pytest.raises(ValueError, match=match):
        build_word_tokenizer(words)


def test_special_tokens_take_the_first_ids() -> None:
    tok = build_word_tokenizer(["x"])
    assert [tok.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS] == list(range(5))

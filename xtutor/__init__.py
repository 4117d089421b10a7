"""xtutor: the companion package of the xtutor book.

Every number in the book is produced by functions in this package. The modules are small and
named after the concept they hold:

- :mod:`xtutor.toyworld`: a seeded family of synthetic languages with exact NLI and paraphrase
  labels, parallel text with gold word alignments, dictionaries and synthetic "images".
- :mod:`xtutor.toyfamily`: the toy family as tables and figures (the book's toy family page).
- :mod:`xtutor.tokenization`: word-level fast tokenizers for the toy languages.
- :mod:`xtutor.training`: MLM pretraining and pair-classification fine-tuning.
- :mod:`xtutor.encode`: batched, length-sorted sentence encoding for any encoder.
- :mod:`xtutor.alignment`: cross-lingual retrieval (cosine, CSLS) and related measurements.
- :mod:`xtutor.results`: the tidy result record every experiment writes and reads.
- :mod:`xtutor.lab`: the embedded default experiment (``xtutor lab``).

Example:
    >>> import xtutor
    >>> isinstance(xtutor.__version__, str)
    True
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("xtutor")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]

"""Download the real data a chapter reads (Tatoeba, PUD, MUSE, Swadesh) into the loaders' layout.

Offline, the loaders read ``../shared/data`` (or ``$XTUTOR_DATA_DIR``). On a machine with
internet (Colab) the same files come from their public sources into a folder of the same
layout; with ``XTUTOR_DATA_DIR`` pointing at it, a chapter's real-data cells run unchanged.
A chapter's setup cell needs one call, :func:`colab_setup`::

    from xtutor.data.fetch import colab_setup
    colab_setup("01")  # downloads what chapter 1 reads, sets XTUTOR_DATA_DIR, returns the folder

Sources (each base URL can be replaced: the ``base_urls`` argument, or the environment
variables of :data:`BASE_URL_ENV`, for a mirror or a test server):

- Tatoeba: ``tatoeba/v1/tatoeba.<xxx>-eng.{<xxx>,eng}`` from the LASER repository;
- PUD: ``ud_pud/<xx>_pud-ud-test.conllu`` from the Universal Dependencies repositories;
- MUSE: ``muse/<src>-<tgt>.txt``, the full bilingual dictionaries
  (``https://dl.fbaipublicfiles.com/arrival/dictionaries/en-de.txt``...);
- NLTK: ``nltk/swadesh.zip`` from ``nltk_data`` (the attacks' Swadesh lists).

XNLI is not downloaded here: ``load_xnli(lang, split)`` with ``path=None`` reads it from the
Hugging Face Hub. (The XNLI sections of chapters 3-5 go through
:class:`~xtutor.experiments.xnli_setup.XnliSetup`, which reads ``<data folder>/xnli`` by
default and the Hub with ``source="hub"``, the grid setting ``xnli_source: hub`` of
``configs/grid_xnli_xlmr.yaml``; its dictionaries still come from this folder.)

Integrity. The package ships a manifest, ``xtutor/data/checksums.json`` (see
:func:`load_manifest`), with the sha256 and size of every file above, keyed by its path in the
data folder (``muse/en-de.txt``). :func:`download` checks a file against it (when its path is
listed) after downloading it and when it is already present: a download that does not match
is discarded and raises :class:`ChecksumError` naming the file and both digests; a present
file that does not match is kept and reported the same way. ``verify=False`` skips the check;
``manifest=`` replaces the package manifest (tests pass their own).

Robustness. Every request has a timeout (seconds without an answer, connecting or reading);
transient failures (timeouts, dropped connections, HTTP 408/429/5xx) are retried a few times
with a growing pause; an HTTP 404 is not retried and raises :class:`DownloadError` naming the
URL and the file. A download is written to a temporary name and renamed with
:func:`xtutor.io.atomic_path`, so an interrupted or rejected download never leaves a partial
file behind, and files already present are not downloaded again.

Example:
    >>> pud_url("de")
    'https://raw.githubusercontent.com/UniversalDependencies/UD_German-PUD/master/de_pud-ud-test.conllu'
    >>> muse_url("en", "de")
    'https://dl.fbaipublicfiles.com/arrival/dictionaries/en-de.txt'
    >>> sorted(chapter_files("04"))[:2]
    ['muse/en-de.txt', 'muse/en-es.txt']
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import json
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath
from types import MappingProxyType

from xtutor.data.paths import DATA_DIR_ENV
from xtutor.io import atomic_path

TATOEBA_BASE = "https://raw.githubusercontent.com/facebookresearch/LASER/main/data/tatoeba/v1"
UD_BASE = "https://raw.githubusercontent.com/UniversalDependencies"
MUSE_BASE = "https://dl.fbaipublicfiles.com/arrival/dictionaries"
NLTK_BASE = "https://raw.githubusercontent.com/nltk/nltk_data/gh-pages/packages/corpora"

#: Environment variables that replace a source's base URL (the ``base_urls`` argument wins).
BASE_URL_ENV: dict[str, str] = {
    "tatoeba": "XTUTOR_TATOEBA_URL",
    "ud": "XTUTOR_UD_URL",
    "muse": "XTUTOR_MUSE_URL",
    "nltk": "XTUTOR_NLTK_URL",
}
_DEFAULT_BASE = {"tatoeba": "TATOEBA_BASE", "ud": "UD_BASE", "muse": "MUSE_BASE",
                 "nltk": "NLTK_BASE"}

#: UD treebank names of the PUD languages.
PUD_TREEBANKS: dict[str, str] = {
    "ar": "Arabic", "cs": "Czech", "de": "German", "en": "English", "es": "Spanish",
    "fi": "Finnish", "fr": "French", "hi": "Hindi", "id": "Indonesian", "is": "Icelandic",
    "it": "Italian", "ja": "Japanese", "ko": "Korean", "pl": "Polish", "pt": "Portuguese",
    "ru": "Russian", "sv": "Swedish", "th": "Thai", "tr": "Turkish", "zh": "Chinese",
}

#: NLTK corpora that can be fetched (the zip as ``nltk_data`` publishes it).
NLTK_CORPORA: tuple[str, ...] = ("swadesh",)

#: The manifest shipped with the package (package data of ``xtutor.data``).
MANIFEST_NAME = "checksums.json"

#: Files of a data folder that :func:`build_manifest` lists by default (the downloadable ones).
MANIFEST_PATTERNS: tuple[str, ...] = ("tatoeba/v1/tatoeba.*-eng.*", "ud_pud/*_pud-ud-test.conllu",
                                      "muse/*-*.txt", "nltk/swadesh.zip")

#: HTTP statuses worth a retry (the server may answer next time).
TRANSIENT_HTTP = frozenset({408, 425, 429, 500, 502, 503, 504})

Manifest = Mapping[str, Mapping[str, object]]

_MUSE_CODE = re.compile(r"^[a-z]{2,3}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class DownloadError(RuntimeError):
    """A file could not be downloaded; the message names the URL, the file and the fix."""


class ChecksumError(DownloadError):
    """A file does not match its manifest entry (sha256 and size)."""


# ---------------------------------------------------------------------------------------------
# URLs


def base_url(source: str, base_urls: Mapping[str, str] | None = None) -> str:
    """The base URL of ``source`` (``tatoeba``, ``ud``, ``muse`` or ``nltk``).

    ``base_urls[source]`` when given, else the environment variable ``BASE_URL_ENV[source]``
    when set, else the public source (the module constants ``TATOEBA_BASE``...).

    Example:
        >>> base_url("muse", {"muse": "http://127.0.0.1:8000/muse/"})
        'http://127.0.0.1:8000/muse'
        >>> base_url("nltk", {})
        'https://raw.githubusercontent.com/nltk/nltk_data/gh-pages/packages/corpora'
    """
    if source not in BASE_URL_ENV:
        raise ValueError(f"unknown data source {source!r}; sources: {', '.join(BASE_URL_ENV)}")
    if base_urls and base_urls.get(source):
        return str(base_urls[source]).strip().rstrip("/")
    env = os.environ.get(BASE_URL_ENV[source], "").strip()
    if env:
        return env.rstrip("/")
    return str(globals()[_DEFAULT_BASE[source]]).rstrip("/")


def _check_sources(base_urls: Mapping[str, str] | None) -> None:
    unknown = sorted(set(base_urls or ()) - set(BASE_URL_ENV))
    if unknown:
        raise ValueError(f"base_urls has unknown source(s) {unknown}; sources: "
                         f"{', '.join(BASE_URL_ENV)}")


def tatoeba_urls(lang: str, base: str | None = None) -> dict[str, str]:
    """File name -> URL of the ``lang``-English Tatoeba test set (ISO 639-3 ``lang``).

    Example:
        >>> list(tatoeba_urls("deu", base="http://mirror/tat"))
        ['tatoeba.deu-eng.deu', 'tatoeba.deu-eng.eng']
    """
    if not (len(lang) == 3 and lang.isalpha() and lang.islower()):
        raise ValueError(f"Tatoeba language must be an ISO 639-3 code such as 'deu', got "
                         f"{lang!r}")
    root = (base or base_url("tatoeba")).rstrip("/")
    names = [f"tatoeba.{lang}-eng.{lang}", f"tatoeba.{lang}-eng.eng"]
    return {n: f"{root}/{n}" for n in names}


def pud_url(lang: str, base: str | None = None) -> str:
    """URL of the PUD test treebank of ``lang`` (ISO 639-1).

    Example:
        >>> pud_url("fr", base="http://mirror/ud")
        'http://mirror/ud/UD_French-PUD/master/fr_pud-ud-test.conllu'
    """
    if lang not in PUD_TREEBANKS:
        raise ValueError(f"no PUD treebank for {lang!r}; PUD languages: "
                         f"{', '.join(sorted(PUD_TREEBANKS))}")
    root = (base or base_url("ud")).rstrip("/")
    return f"{root}/UD_{PUD_TREEBANKS[lang]}-PUD/master/{lang}_pud-ud-test.conllu"


def muse_url(src: str, tgt: str, base: str | None = None) -> str:
    """URL of the full MUSE ``src``-``tgt`` dictionary (the file :func:`load_muse` reads).

    Example:
        >>> muse_url("en", "fr", base="http://mirror/muse")
        'http://mirror/muse/en-fr.txt'
    """
    for name, code in (("src", src), ("tgt", tgt)):
        if not _MUSE_CODE.match(str(code)):
            raise ValueError(f"MUSE {name} must be a 2- or 3-letter lower-case language code, "
                             f"got {code!r}")
    return f"{(base or base_url('muse')).rstrip('/')}/{src}-{tgt}.txt"


def nltk_url(corpus: str, base: str | None = None) -> str:
    """URL of an NLTK corpus zip (``swadesh``) as ``nltk_data`` publishes it.

    Example:
        >>> nltk_url("swadesh", base="http://mirror/nltk")
        'http://mirror/nltk/swadesh.zip'
    """
    if corpus not in NLTK_CORPORA:
        raise ValueError(f"unknown NLTK corpus {corpus!r}; available: {', '.join(NLTK_CORPORA)}")
    return f"{(base or base_url('nltk')).rstrip('/')}/{corpus}.zip"


def data_files(tatoeba: Iterable[str] = (), pud: Iterable[str] = (),
               muse: Iterable[tuple[str, str] | str] = (), nltk: Iterable[str] = (), *,
               base_urls: Mapping[str, str] | None = None) -> dict[str, str]:
    """Path in the data folder -> URL, for the listed sets (``muse`` as ``("en", "de")`` or
    ``"en-de"``).

    Example:
        >>> files = data_files(tatoeba=["deu"], muse=["en-de"], base_urls={"muse": "http://m"})
        >>> files["muse/en-de.txt"], sorted(files)[0]
        ('http://m/en-de.txt', 'muse/en-de.txt')
    """
    _check_sources(base_urls)
    out: dict[str, str] = {}
    if tatoeba:
        root = base_url("tatoeba", base_urls)
        for lang in tatoeba:
            for name, url in tatoeba_urls(lang, root).items():
                out[f"tatoeba/v1/{name}"] = url
    if pud:
        root = base_url("ud", base_urls)
        for lang in pud:
            out[f"ud_pud/{lang}_pud-ud-test.conllu"] = pud_url(lang, root)
    if muse:
        root = base_url("muse", base_urls)
        for pair in muse:
            src, tgt = pair.split("-", 1) if isinstance(pair, str) else pair
            out[f"muse/{src}-{tgt}.txt"] = muse_url(src, tgt, root)
    if nltk:
        root = base_url("nltk", base_urls)
        for corpus in nltk:
            out[f"nltk/{corpus}.zip"] = nltk_url(corpus, root)
    return out


# ---------------------------------------------------------------------------------------------
# Manifest


def file_digest(path: str | os.PathLike[str]) -> tuple[str, int]:
    """``(sha256 hex digest, size in bytes)`` of a file.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "a.txt"
        >>> _ = p.write_bytes(b"abc")
        >>> file_digest(p)
        ('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', 3)
    """
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def _validate_manifest(files: Mapping[str, object], where: str) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for key, entry in files.items():
        if not isinstance(entry, Mapping):
            raise ValueError(f"{where}: entry {key!r} must be an object with sha256 and size")
        sha, size = entry.get("sha256"), entry.get("size")
        if not (isinstance(sha, str) and _SHA256.match(sha)):
            raise ValueError(f"{where}: entry {key!r} has no valid sha256 (64 lower-case hex "
                             f"digits), got {sha!r}")
        if not (isinstance(size, int) and size >= 0):
            raise ValueError(f"{where}: entry {key!r} has no valid size, got {size!r}")
        out[str(key)] = {"sha256": sha, "size": size}
    return out


@functools.lru_cache(maxsize=1)
def _package_manifest() -> Mapping[str, Mapping[str, object]]:
    text = resources.files("xtutor.data").joinpath(MANIFEST_NAME).read_text(encoding="utf-8")
    files = _validate_manifest(json.loads(text)["files"], f"xtutor/data/{MANIFEST_NAME}")
    return MappingProxyType({k: MappingProxyType(v) for k, v in files.items()})


def load_manifest(path: str | os.PathLike[str] | None = None) -> Manifest:
    """The checksum manifest: path in the data folder -> ``{"sha256": ..., "size": ...}``.

    ``path=None`` reads the one shipped with the package (read-only, read once); a path reads
    a JSON file of the same form (``{"files": {...}}``, as :func:`write_manifest` writes it).

    Example:
        >>> m = load_manifest()
        >>> sorted(m["muse/en-de.txt"])
        ['sha256', 'size']
    """
    if path is None:
        return _package_manifest()
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return _validate_manifest(data["files"], str(path))


def build_manifest(root: str | os.PathLike[str],
                   patterns: Sequence[str] = MANIFEST_PATTERNS) -> dict[str, dict[str, object]]:
    """Manifest entries for the files of data folder ``root`` matching ``patterns``.

    This is how the package manifest is made: from reference copies of the files.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> (root / "muse").mkdir()
        >>> _ = (root / "muse" / "en-xx.txt").write_bytes(b"abc")
        >>> build_manifest(root)["muse/en-xx.txt"]["size"]
        3
    """
    root = Path(root)
    out: dict[str, dict[str, object]] = {}
    for pattern in patterns:
        for p in sorted(root.glob(pattern)):
            if p.is_file():
                sha, size = file_digest(p)
                out[p.relative_to(root).as_posix()] = {"sha256": sha, "size": size}
    return dict(sorted(out.items()))


def write_manifest(root: str | os.PathLike[str], out: str | os.PathLike[str],
                   patterns: Sequence[str] = MANIFEST_PATTERNS) -> Path:
    """Write :func:`build_manifest` of ``root`` as a manifest JSON file ``out``.

    Example:
        >>> write_manifest("../shared/data", "xtutor/data/checksums.json")  # doctest: +SKIP
        PosixPath('xtutor/data/checksums.json')
    """
    from xtutor.io import atomic_write_text

    about = ("sha256 and size in bytes of the files xtutor.data.fetch downloads, keyed by their "
             "path in the data folder; made with xtutor.data.fetch.write_manifest from reference "
             "copies of the files.")
    files = build_manifest(root, patterns)
    rows = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in files.items())
    text = "{\n" + f' "about": {json.dumps(about)},\n "files": {{\n{rows}\n }}\n' + "}\n"
    return atomic_write_text(out, text)  # one line per file: readable diffs


def manifest_entry(dest: str | os.PathLike[str], manifest: Manifest | None = None
                   ) -> tuple[str, Mapping[str, object]] | None:
    """``(key, entry)`` of the manifest key that ``dest`` ends with (the longest), or None.

    ``manifest=None`` uses the package manifest.

    Example:
        >>> manifest_entry("/content/xtutor-data/muse/en-de.txt")[0]
        'muse/en-de.txt'
        >>> manifest_entry("/tmp/notes.txt") is None
        True
    """
    man = load_manifest() if manifest is None else manifest
    parts = Path(dest).parts
    best: tuple[str, Mapping[str, object]] | None = None
    best_len = 0
    for key, entry in man.items():
        kp = PurePosixPath(key).parts
        if best_len < len(kp) <= len(parts) and tuple(parts[-len(kp):]) == kp:
            best, best_len = (key, entry), len(kp)
    return best


def verify_file(path: str | os.PathLike[str], manifest: Manifest | None = None) -> bool:
    """Check ``path`` against its manifest entry: True if it matches, False if it is not
    listed; a mismatch raises :class:`ChecksumError`.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "a.txt"
        >>> _ = p.write_bytes(b"abc")
        >>> verify_file(p, {"a.txt": {"sha256": "ba7816bf8f01cfea414140de5dae2223b00361a3"
        ...                                     "96177a9cb410ff61f20015ad", "size": 3}})
        True
    """
    found = manifest_entry(path, manifest)
    if found is None:
        return False
    key, entry = found
    sha, size = file_digest(path)
    if (sha, size) != (entry["sha256"], entry["size"]):
        raise ChecksumError(
            f"checksum mismatch for the existing file {path}: expected sha256 "
            f"{entry['sha256']} ({entry['size']} bytes, manifest key {key!r}), got sha256 "
            f"{sha} ({size} bytes). It is not the file xtutor expects (a partial copy or "
            f"another version). Delete it and re-run to download it again, or pass "
            f"verify=False to keep using it.")
    return True


# ---------------------------------------------------------------------------------------------
# Downloading


def _is_timeout(e: BaseException) -> bool:
    return isinstance(e, TimeoutError) or (
        isinstance(e, urllib.error.URLError) and isinstance(e.reason, TimeoutError))


def _is_transient(e: BaseException) -> bool:
    if isinstance(e, urllib.error.HTTPError):
        return e.code in TRANSIENT_HTTP
    if _is_timeout(e) or isinstance(e, http.client.HTTPException | ConnectionError):
        return True
    if isinstance(e, urllib.error.URLError):  # connection refused, DNS hiccup...; not a
        return not isinstance(e.reason, FileNotFoundError | PermissionError)  # missing file://
    return False


def _fetch_to(url: str, tmp: Path, timeout: float, key: str | None,
              entry: Mapping[str, object] | None, dest: Path) -> None:
    """Stream ``url`` into ``tmp``; check length and (when given) the manifest entry."""
    h = hashlib.sha256()
    size = 0
    with urllib.request.urlopen(url, timeout=timeout) as r, open(tmp, "wb") as fh:  # noqa: S310
        expected_len = r.headers.get("Content-Length") if hasattr(r, "headers") else None
        while chunk := r.read(1 << 16):
            fh.write(chunk)
            h.update(chunk)
            size += len(chunk)
    if expected_len is not None and expected_len.isdigit() and int(expected_len) != size:
        raise http.client.IncompleteRead(b"", int(expected_len) - size)
    if entry is not None and (h.hexdigest(), size) != (entry["sha256"], entry["size"]):
        raise ChecksumError(
            f"checksum mismatch for {dest.name} downloaded from {url}: expected sha256 "
            f"{entry['sha256']} ({entry['size']} bytes, manifest key {key!r}), got sha256 "
            f"{h.hexdigest()} ({size} bytes). The download was discarded ({dest} was not "
            f"written). Re-run to download it again (in case the transfer was broken); if "
            f"the file changed at its source, pass verify=False to accept it, or update "
            f"{key!r} in xtutor/data/{MANIFEST_NAME} (xtutor.data.fetch.write_manifest).")


def download(url: str, dest: str | os.PathLike[str], timeout: float = 60.0, *,
             manifest: Manifest | None = None, verify: bool = True, retries: int = 2,
             backoff: float = 1.0) -> Path:
    """Download ``url`` to ``dest`` and check it against the checksum manifest; return ``dest``.

    A non-empty ``dest`` that already exists is not downloaded again, but it is checked too.
    The manifest entry is the one whose key ``dest`` ends with (``.../muse/en-de.txt`` ->
    ``muse/en-de.txt``, see :func:`manifest_entry`); unlisted files are not checked.
    ``manifest=None`` uses the package manifest; ``verify=False`` checks nothing.

    ``timeout``: seconds each request may wait for the server (connecting, or between two
    reads). Timeouts, dropped connections and HTTP 408/429/5xx are retried ``retries`` times,
    pausing ``backoff``, ``2 * backoff``... seconds. Errors (:class:`DownloadError`, a
    RuntimeError; :class:`ChecksumError` for a mismatch) name the URL, the file and the fix;
    a failed or rejected download leaves no file behind.

    Example:
        >>> download("https://dl.fbaipublicfiles.com/arrival/dictionaries/en-de.txt",
        ...          "data/muse/en-de.txt")  # doctest: +SKIP
        PosixPath('data/muse/en-de.txt')
    """
    if not timeout > 0:
        raise ValueError(f"timeout must be positive (seconds), got {timeout!r}")
    if retries < 0:
        raise ValueError(f"retries must be >= 0, got {retries!r}")
    dest = Path(dest)
    found = manifest_entry(dest, manifest) if verify else None
    key, entry = found if found is not None else (None, None)
    if dest.is_file() and dest.stat().st_size > 0:
        if verify:
            verify_file(dest, {key: entry} if found is not None else {})
        return dest
    attempts = retries + 1
    for attempt in range(attempts):
        try:
            with atomic_path(dest) as tmp:
                _fetch_to(url, tmp, timeout, key, entry, dest)
            return dest
        except ChecksumError:
            raise
        except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
            if _is_transient(e) and attempt + 1 < attempts:
                time.sleep(backoff * 2 ** attempt)
                continue
            raise _download_error(url, dest, e, timeout, attempt + 1) from e
    raise AssertionError("unreachable")  # pragma: no cover


def _download_error(url: str, dest: Path, e: BaseException, timeout: float,
                    attempts: int) -> DownloadError:
    tries = f" ({attempts} attempts)" if attempts > 1 else ""
    if isinstance(e, urllib.error.HTTPError) and e.code == 404:
        return DownloadError(
            f"could not download {url} for {dest}: HTTP 404 Not Found (no file at that "
            f"address). Check the URL or the base URL (base_urls=, or the environment "
            f"variables {', '.join(BASE_URL_ENV.values())}); without internet, copy the file to "
            f"{dest} by hand or set {DATA_DIR_ENV} to a folder that has it.")
    if _is_timeout(e):
        return DownloadError(
            f"could not download {url} for {dest}: the server did not answer within the "
            f"timeout of {timeout:g} s{tries}. Re-run later, or pass a larger timeout=; "
            f"without internet, copy the file to {dest} by hand or set {DATA_DIR_ENV} to a "
            f"folder that has it.")
    what = f"HTTP {e.code} {e.reason}" if isinstance(e, urllib.error.HTTPError) else str(e)
    return DownloadError(
        f"could not download {url} for {dest} ({what}){tries}; without internet, copy the "
        f"file to {dest} by hand or set {DATA_DIR_ENV} to a folder that has it.")


def fetch_files(root: str | os.PathLike[str], files: Mapping[str, str], *,
                timeout: float = 60.0, manifest: Manifest | None = None, verify: bool = True,
                retries: int = 2, backoff: float = 1.0) -> Path:
    """Download ``files`` (path in the data folder -> URL, see :func:`data_files`) under
    ``root`` with :func:`download`; return ``root``.

    Example:
        >>> fetch_files("data", data_files(muse=["en-de"]))  # doctest: +SKIP
        PosixPath('data')
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for rel, url in files.items():
        download(url, root / rel, timeout, manifest=manifest, verify=verify, retries=retries,
                 backoff=backoff)
    return root


def fetch_real_data(dest: str | os.PathLike[str], tatoeba: Sequence[str] = ("deu", "fra",
                    "swh", "amh"), pud: Sequence[str] = ("en", "de", "fr"), *,
                    muse: Sequence[tuple[str, str] | str] = (), nltk: Sequence[str] = (),
                    base_urls: Mapping[str, str] | None = None, timeout: float = 60.0,
                    manifest: Manifest | None = None, verify: bool = True,
                    retries: int = 2) -> Path:
    """Download Tatoeba and PUD test sets (and MUSE dictionaries, NLTK corpora when asked)
    into ``dest`` and return ``dest``.

    Then ``os.environ["XTUTOR_DATA_DIR"] = str(dest)`` makes the loaders read them
    (:func:`colab_setup` does both for a chapter).

    Example:
        >>> fetch_real_data("data-real", tatoeba=["deu"], pud=["en", "de"])  # doctest: +SKIP
        PosixPath('data-real')
    """
    files = data_files(tatoeba, pud, muse, nltk, base_urls=base_urls)
    return fetch_files(dest, files, timeout=timeout, manifest=manifest, verify=verify,
                       retries=retries)


# ---------------------------------------------------------------------------------------------
# Chapters


@dataclass(frozen=True)
class ChapterData:
    """The downloadable data a chapter's real-data cells read (see :data:`CHAPTER_DATA`)."""

    tatoeba: tuple[str, ...] = ()
    pud: tuple[str, ...] = ()
    muse: tuple[str, ...] = ()
    nltk: tuple[str, ...] = ()
    note: str = ""


_MUSE_CODESWITCH = ("en-ar", "en-de", "en-es", "en-fr", "en-hi", "en-ru")

#: What each chapter (``book/0N_*.ipynb``) reads from the data folder, XNLI aside (see the
#: module docstring).
CHAPTER_DATA: dict[str, ChapterData] = {
    # real_encoder_survey: RealSurveyConfig's Tatoeba and PUD languages (PUD paired with en)
    "01": ChapterData(tatoeba=("deu", "fra", "swh", "amh"), pud=("en", "de", "fr"),
                      note="Tatoeba retrieval and PUD word alignment of the real encoders"),
    "02": ChapterData(note="toy family only: nothing to download"),
    # robust_xnli: the code-switching dictionaries of RobustSettings.codeswitch_languages
    "03": ChapterData(muse=_MUSE_CODESWITCH, note="MUSE dictionaries of the XNLI section"),
    # xnli_adversarial_study: real_resources for targets es/de/fr, Swadesh for es -> de/fr
    "04": ChapterData(muse=("en-de", "en-es", "en-fr"), nltk=("swadesh",),
                      note="MUSE and Swadesh dictionaries of the XNLI attacks"),
    # the xnli grid: GridSettings.codeswitch_languages and the attacks' resources
    "05": ChapterData(muse=_MUSE_CODESWITCH, nltk=("swadesh",),
                      note="MUSE and Swadesh dictionaries of the XNLI grid"),
}


def chapter_key(chapter: str | int) -> str:
    """``"01"`` for ``1``, ``"1"``, ``"01"``, ``"01_encoders"`` or ``"book/01_encoders.ipynb"``.

    Example:
        >>> chapter_key("book/03_robust_finetuning.ipynb"), chapter_key(4)
        ('03', '04')
    """
    m = re.search(r"\d+", Path(str(chapter)).name)
    key = f"{int(m.group()):02d}" if m else ""
    if key not in CHAPTER_DATA:
        raise ValueError(f"unknown chapter {chapter!r}; chapters: {', '.join(CHAPTER_DATA)} "
                         f"(or their notebook names, such as '01_encoders')")
    return key


def chapter_files(chapter: str | int, *, base_urls: Mapping[str, str] | None = None
                  ) -> dict[str, str]:
    """Path in the data folder -> URL of everything ``chapter`` reads.

    Example:
        >>> sorted(chapter_files("01"))[-1]
        'ud_pud/fr_pud-ud-test.conllu'
        >>> chapter_files("02")
        {}
    """
    d = CHAPTER_DATA[chapter_key(chapter)]
    return data_files(d.tatoeba, d.pud, d.muse, d.nltk, base_urls=base_urls)


def colab_setup(chapter: str | int, dest: str | os.PathLike[str] = "xtutor-data", *,
                base_urls: Mapping[str, str] | None = None, timeout: float = 60.0,
                manifest: Manifest | None = None, verify: bool = True,
                retries: int = 2) -> Path:
    """Download what ``chapter`` reads into ``dest``, point ``XTUTOR_DATA_DIR`` at it, return it.

    The one data call of a chapter's setup cell on Colab (or any machine with internet).
    Files already in ``dest`` are checked, not downloaded again, so re-running the cell is
    cheap. ``base_urls`` (``{"tatoeba": ..., "ud": ..., "muse": ..., "nltk": ...}``, or the
    environment variables of :data:`BASE_URL_ENV`) replace the public sources; ``timeout``,
    ``manifest``, ``verify`` and ``retries`` are those of :func:`download`. The folder is
    returned as an absolute path and set even when the chapter needs no download.

    Example:
        >>> from xtutor.data.fetch import colab_setup
        >>> colab_setup("01")  # doctest: +SKIP
        PosixPath('/content/xtutor-data')
    """
    files = chapter_files(chapter, base_urls=base_urls)
    root = fetch_files(Path(dest).expanduser().resolve(), files, timeout=timeout,
                       manifest=manifest, verify=verify, retries=retries)
    os.environ[DATA_DIR_ENV] = str(root)
    return root


__all__ = [
    "BASE_URL_ENV", "CHAPTER_DATA", "ChapterData", "ChecksumError", "DownloadError",
    "PUD_TREEBANKS", "base_url", "build_manifest", "chapter_files", "chapter_key", "colab_setup",
    "data_files", "download", "fetch_files", "fetch_real_data", "file_digest", "load_manifest",
    "manifest_entry", "muse_url", "nltk_url", "pud_url", "tatoeba_urls", "verify_file",
    "write_manifest",
]

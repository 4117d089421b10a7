"""xtutor.data.fetch against a real HTTP server on 127.0.0.1: checksums, 404, timeouts, retries,
files already present, and a chapter's one-call setup (:func:`colab_setup`)."""

from __future__ import annotations

import ast
import hashlib
import http.server
import json
import os
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from xtutor.data import fetch
from xtutor.data.muse import load_muse
from xtutor.data.paths import DATA_DIR_ENV, repo_root
from xtutor.data.tatoeba import load_tatoeba
from xtutor.data.ud import load_pud

GOOD = b"the\tdie\nhouse\tHaus\n"
CORRUPT_SERVED = b"the\tdie\nhouse\tHAUS\n"  # what the server sends for corrupt.txt
SLOW_DELAY = 2.0  # seconds the server waits before answering slow.txt (released at teardown)
TIMEOUT = 0.25  # the client's timeout in the slow tests


def _entry(data: bytes) -> dict[str, object]:
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


#: The test manifest: corrupt.txt is listed with the digest of GOOD, so what is served mismatches.
MANIFEST = {"good.txt": _entry(GOOD), "corrupt.txt": _entry(GOOD), "flaky.txt": _entry(GOOD),
            "slow.txt": _entry(GOOD)}


class Server:
    """A loopback HTTP server: ``routes`` path -> bytes, ``hits`` counts requests per path."""

    def __init__(self) -> None:
        self.routes: dict[str, bytes] = {"/good.txt": GOOD, "/corrupt.txt": CORRUPT_SERVED,
                                          "/flaky.txt": GOOD, "/slow.txt": GOOD}
        self.hits: Counter[str] = Counter()
        self.release = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the http.server API)
                server.hits[self.path] += 1
                try:
                    if self.path == "/slow.txt":
                        server.release.wait(SLOW_DELAY)
                    if self.path == "/flaky.txt" and server.hits[self.path] == 1:
                        self.send_error(503, "try again")
                        return
                    body = server.routes.get(self.path)
                    if body is None:
                        self.send_error(404, "no such file")
                        return
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def server():
    with Server() as s:
        yield s


def _files(folder: Path) -> list[str]:
    """Every name under ``folder``, hidden temporary files included."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def test_good_file_is_downloaded_and_verified(server, tmp_path) -> None:
    dest = fetch.download(f"{server.url}/good.txt", tmp_path / "good.txt", manifest=MANIFEST)
    assert dest.read_bytes() == GOOD
    assert server.hits["/good.txt"] == 1
    assert _files(tmp_path) == ["good.txt"]


def test_present_good_file_is_checked_not_downloaded_again(server, tmp_path) -> None:
    fetch.download(f"{server.url}/good.txt", tmp_path / "a" / "good.txt", manifest=MANIFEST)
    fetch.download(f"{server.url}/good.txt", tmp_path / "a" / "good.txt", manifest=MANIFEST)
    assert server.hits["/good.txt"] == 1
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "good.txt").write_bytes(GOOD)  # copied by hand
    fetch.download(f"{server.url}/good.txt", tmp_path / "b" / "good.txt", manifest=MANIFEST)
    assert server.hits["/good.txt"] == 1


def test_corrupt_download_raises_naming_file_and_digests_and_leaves_nothing(server,
                                                                            tmp_path) -> None:
    expected = hashlib.sha256(GOOD).hexdigest()
    actual = hashlib.sha256(CORRUPT_SERVED).hexdigest()
    with pytest.raises(fetch.ChecksumError) as info:
        fetch.download(f"{server.url}/corrupt.txt", tmp_path / "d" / "corrupt.txt",
                       manifest=MANIFEST, backoff=0)
    msg = str(info.value)
    for part in ("corrupt.txt", expected, actual, f"{server.url}/corrupt.txt", "Re-run",
                 "verify=False"):
        assert part in msg
    assert not (tmp_path / "d" / "corrupt.txt").exists()
    assert _files(tmp_path / "d") == []  # no temporary file either
    assert server.hits["/corrupt.txt"] == 1  # a mismatch is not retried
    # verify=False accepts the file as served
    fetch.download(f"{server.url}/corrupt.txt", tmp_path / "d" / "corrupt.txt",
                   manifest=MANIFEST, verify=False)
    assert (tmp_path / "d" / "corrupt.txt").read_bytes() == CORRUPT_SERVED


def test_present_corrupt_file_is_detected_and_kept(server, tmp_path) -> None:
    dest = tmp_path / "good.txt"
    dest.write_bytes(b"half a fi")
    with pytest.raises(fetch.ChecksumError) as info:
        fetch.download(f"{server.url}/good.txt", dest, manifest=MANIFEST)
    msg = str(info.value)
    assert str(dest) in msg and hashlib.sha256(GOOD).hexdigest() in msg
    assert hashlib.sha256(b"half a fi").hexdigest() in msg and "Delete it" in msg
    assert server.hits["/good.txt"] == 0 and dest.read_bytes() == b"half a fi"


def test_missing_file_gives_404_naming_url_and_file(server, tmp_path) -> None:
    url = f"{server.url}/nope/missing.txt"
    dest = tmp_path / "missing.txt"
    with pytest.raises(fetch.DownloadError) as info:
        fetch.download(url, dest, manifest=MANIFEST, retries=2, backoff=0)
    msg = str(info.value)
    assert url in msg and str(dest) in msg and "404" in msg
    assert server.hits["/nope/missing.txt"] == 1  # a 404 is not retried
    assert _files(tmp_path) == []


def test_slow_server_times_out_with_a_clear_error(server, tmp_path) -> None:
    url = f"{server.url}/slow.txt"
    t0 = time.monotonic()
    with pytest.raises(fetch.DownloadError) as info:
        fetch.download(url, tmp_path / "slow.txt", TIMEOUT, manifest=MANIFEST, retries=1,
                       backoff=0)
    elapsed = time.monotonic() - t0
    msg = str(info.value)
    assert url in msg and "timeout of 0.25 s" in msg and "2 attempts" in msg
    assert elapsed < SLOW_DELAY  # gave up on the timeout, did not wait for the server
    assert server.hits["/slow.txt"] == 2  # a timeout is retried
    assert _files(tmp_path) == []


def test_transient_error_is_retried(server, tmp_path) -> None:
    dest = fetch.download(f"{server.url}/flaky.txt", tmp_path / "flaky.txt", manifest=MANIFEST,
                          backoff=0)
    assert dest.read_bytes() == GOOD and server.hits["/flaky.txt"] == 2


def test_retries_zero_reports_the_transient_error(server, tmp_path) -> None:
    with pytest.raises(fetch.DownloadError, match="HTTP 503"):
        fetch.download(f"{server.url}/flaky.txt", tmp_path / "flaky.txt", manifest=MANIFEST,
                       retries=0)
    assert server.hits["/flaky.txt"] == 1


# ---------------------------------------------------------------------------------------------
# colab_setup


def _conllu(word: str) -> bytes:
    return (f"# sent_id = n01001011\n# text = {word}\n"
            f"1\t{word}\t{word.lower()}\tINTJ\t_\t_\t0\troot\t_\t_\n\n").encode()


def _serve_chapter(server: Server, chapter: str) -> dict[str, dict[str, object]]:
    """Fake files for every file of ``chapter`` on the server; their manifest."""
    manifest = {}
    prefix = {"tatoeba": "/tat", "ud": "/ud", "muse": "/muse", "nltk": "/nltk"}
    bases = {k: server.url + v for k, v in prefix.items()}
    for rel, url in fetch.chapter_files(chapter, base_urls=bases).items():
        if rel.startswith("ud_pud/"):
            body = _conllu("Hallo" if "/de_" in rel else "Hi")
        elif rel.startswith("muse/"):
            body = b"the die\nthe der\n"
        else:
            body = f"line of {rel}\n".encode()
        server.routes[url[len(server.url):]] = body
        manifest[rel] = _entry(body)
    return manifest


def test_colab_setup_fetches_the_chapter_and_sets_the_data_dir(server, tmp_path,
                                                                monkeypatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, "/somewhere/else")
    manifest = _serve_chapter(server, "01")
    bases = {"tatoeba": f"{server.url}/tat", "ud": f"{server.url}/ud"}
    root = fetch.colab_setup("01_encoders", tmp_path / "data", base_urls=bases,
                             manifest=manifest, retries=0)
    assert root == (tmp_path / "data").resolve() and root.is_absolute()
    assert Path(os.environ[DATA_DIR_ENV]) == root
    assert sorted(_files(root / "tatoeba" / "v1")) == sorted(
        k.split("/")[-1] for k in manifest if k.startswith("tatoeba/"))
    assert len(manifest) == 11  # 4 Tatoeba pairs and PUD en, de, fr
    assert list(load_tatoeba("deu").src) == ["line of tatoeba/v1/tatoeba.deu-eng.deu"]
    assert load_pud("de")[0].tokens == ("Hallo",)
    n = sum(server.hits.values())
    fetch.colab_setup(1, tmp_path / "data", base_urls=bases, manifest=manifest)  # re-run
    assert sum(server.hits.values()) == n  # nothing downloaded again


def test_colab_setup_reads_base_urls_from_the_environment(server, tmp_path,
                                                           monkeypatch) -> None:
    manifest = _serve_chapter(server, "04")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    monkeypatch.setenv("XTUTOR_MUSE_URL", f"{server.url}/muse")
    monkeypatch.setenv("XTUTOR_NLTK_URL", f"{server.url}/nltk/")
    root = fetch.colab_setup("04", tmp_path / "d4", manifest=manifest, retries=0)
    assert sorted(_files(root)) == ["muse", "muse/en-de.txt", "muse/en-es.txt",
                                    "muse/en-fr.txt", "nltk", "nltk/swadesh.zip"]
    assert load_muse("en", "de").translations("the") == ["die", "der"]


def test_colab_setup_corrupt_chapter_file_names_it(server, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    manifest = _serve_chapter(server, "03")
    manifest["muse/en-hi.txt"] = _entry(b"something else\n")
    with pytest.raises(fetch.ChecksumError, match=r"en-hi\.txt"):
        fetch.colab_setup("03", tmp_path / "d3", base_urls={"muse": f"{server.url}/muse"},
                          manifest=manifest, retries=0)
    assert not (tmp_path / "d3" / "muse" / "en-hi.txt").exists()


def test_chapters_without_downloads_and_unknown_chapters(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, "/elsewhere")
    root = fetch.colab_setup("02", tmp_path / "d2", manifest={})
    assert root.is_dir() and _files(root) == [] and str(root) == os.environ[
        DATA_DIR_ENV]
    with pytest.raises(ValueError, match="unknown chapter '07'.*01, 02, 03, 04, 05"):
        fetch.colab_setup("07", tmp_path / "d7")
    with pytest.raises(ValueError, match="unknown source"):
        fetch.chapter_files("01", base_urls={"tatoba": "http://x"})


# ---------------------------------------------------------------------------------------------
# The package manifest and the chapter table


def test_package_manifest_is_package_data_and_covers_the_chapters() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    conf = tomllib.loads((repo_root() / "pyproject.toml").read_text(encoding="utf-8"))
    assert "checksums.json" in conf["tool"]["setuptools"]["package-data"]["xtutor.data"]
    man = fetch.load_manifest()
    raw = json.loads((repo_root() / "xtutor" / "data" / "checksums.json").read_text("utf-8"))
    assert len(man) == len(raw["files"]) > 200
    for chapter in fetch.CHAPTER_DATA:
        for rel in fetch.chapter_files(chapter):
            assert rel in man, f"chapter {chapter} downloads {rel}, which has no checksum"
    with pytest.raises(TypeError):
        man["muse/en-de.txt"] = {}  # read-only: the manifest is not global mutable state


@pytest.mark.shared_data
def test_package_manifest_matches_the_shared_data() -> None:
    shared = repo_root().parent / "shared" / "data"
    if not shared.is_dir():
        pytest.skip(f"{shared} is absent")
    man = fetch.load_manifest()
    assert fetch.build_manifest(shared) == {k: dict(v) for k, v in man.items()}
    for rel in fetch.chapter_files("01"):
        assert fetch.verify_file(shared / rel)


def _dataclass_default(path: Path, cls: str, field: str) -> object:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == cls:
            for item in node.body:
                if (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
                        and item.target.id == field):
                    return ast.literal_eval(item.value)
    raise AssertionError(f"no {cls}.{field} in {path}")


def test_chapter_table_matches_the_experiments_defaults() -> None:
    exp = repo_root() / "xtutor" / "experiments"
    ch1 = fetch.CHAPTER_DATA["01"]
    assert ch1.tatoeba == _dataclass_default(exp / "encoders.py", "RealSurveyConfig",
                                             "tatoeba_languages")
    pud = _dataclass_default(exp / "encoders.py", "RealSurveyConfig", "pud_languages")
    assert set(ch1.pud) == {"en", *pud}
    for chapter, (file, cls) in {"03": ("robust.py", "RobustSettings"),
                                 "05": ("grid.py", "GridSettings")}.items():
        langs = _dataclass_default(exp / file, cls, "codeswitch_languages")
        assert set(fetch.CHAPTER_DATA[chapter].muse) == {f"en-{x}" for x in langs}

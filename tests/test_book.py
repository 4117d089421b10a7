"""The rendered book: ``jupyter-book build`` with warnings as errors, then every chapter page
opened in headless Chromium, checked for figures that load and for error output.

The build uses the outputs stored in the notebooks (``execute_notebooks: off`` in
``_config.yml``); pytest executes the notebooks themselves separately (``--nbval-lax``).
Chromium and chromedriver come from the system (``apt-get install chromium chromium-driver``,
as ``.ci/run`` does); without them the render check skips and says so.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _chapters() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part["chapters"]]
    return files


def test_every_chapter_notebook_is_in_the_toc() -> None:
    listed = set(_chapters())
    notebooks = {f"book/{p.stem}" for p in (ROOT / "book").glob("*.ipynb")}
    assert notebooks <= listed, f"notebooks missing from _toc.yml: {sorted(notebooks - listed)}"
    assert {"book/01_encoders", "book/05_answer"} <= listed


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "book").glob("*.ipynb")))
def test_stored_outputs_are_complete_and_error_free(name: str) -> None:
    """The build renders stored outputs, so they must be from a full, successful run."""
    nb = nbformat.read(ROOT / "book" / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), f"{name}: a code cell was not executed"
    counts = [c.execution_count for c in code]
    assert counts == sorted(counts), f"{name}: cells were executed out of order"
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{name}: stored error output {errors[0].get('ename')}"
    assert any("image/png" in o.get("data", {}) for c in code for o in c.get("outputs", [])), \
        f"{name}: no figure in the stored outputs"
    # readers see the stored outputs: no progress bars or warnings (stderr), no machine paths,
    # no revision of a modified tree (execute with TQDM_DISABLE=1 from a clean checkout)
    outs = [o for c in code for o in c.get("outputs", [])]
    stderr = [o for o in outs if o.get("name") == "stderr"]
    assert not stderr, \
        f"{name}: {len(stderr)} stderr outputs, e.g. {''.join(stderr[0]['text'])[:80]!r}"
    text = json.dumps(outs)
    paths = re.findall(r"(?:/tmp/|/work/|/root/|/home/|/Users/)[^\s\"']*", text)
    assert not paths, f"{name}: machine paths in stored outputs: {paths[:3]}"
    assert "+dirty" not in text, f"{name}: a stored output names a modified tree's revision"


@pytest.fixture(scope="module")
def built_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("jupyter-book") is None:
        pytest.fail("jupyter-book is not installed (it is in requirements.txt)")
    out = tmp_path_factory.mktemp("book")
    proc = subprocess.run(
        ["jupyter-book", "build", str(ROOT), "--path-output", str(out), "--warningiserror",
         "--keep-going"], capture_output=True, text=True, cwd=ROOT, timeout=900,
        env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 0, f"jupyter-book build failed:\n{proc.stdout[-4000:]}\n" \
                                 f"{proc.stderr[-4000:]}"
    html = out / "_build" / "html"
    assert (html / "index.html").is_file()
    return html


def test_book_builds_with_every_chapter(built_book: Path) -> None:
    for chapter in _chapters():
        page = built_book / f"{chapter}.html"
        assert page.is_file(), f"{page} was not built"
    page = (built_book / "book" / "05_answer.html").read_text(encoding="utf-8")
    assert "Huang" in page and "huang2021robust" not in page.replace(
        'href="intro.html#id', ""), "citations should render as author names"
    assert "{glue" not in page, "a glue role was left unrendered"


def _driver():  # pragma: no cover - depends on the system browser
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or \
        shutil.which("google-chrome")
    driver_bin = shutil.which("chromedriver")
    if chromium is None or driver_bin is None:
        pytest.skip("headless Chromium not found (apt-get install chromium chromium-driver); "
                    "the render check needs it")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--allow-file-access-from-files", "--window-size=1280,2000"):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(driver_bin), options=opts)


_PAGE_REPORT = """
const main = document.querySelector('main') || document.body;
const imgs = Array.from(main.querySelectorAll('img'));
return JSON.stringify({
  title: document.title,
  images: imgs.map(i => ({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0,
                          w: i.naturalWidth})),
  errors: main.querySelectorAll('.output.error, .output.traceback, .cell_output .traceback')
            .length,
  stderr: Array.from(main.querySelectorAll('.output.stderr')).map(e => e.innerText)
            .filter(t => /Error|Traceback/.test(t)),
  traceback: main.innerText.includes('Traceback (most recent call last)'),
  text: main.innerText.length,
});
"""


def test_chapters_render_in_headless_chromium(built_book: Path) -> None:
    driver = _driver()
    try:
        checked = 0
        for chapter in _chapters():
            driver.get((built_book / f"{chapter}.html").as_uri())
            report = json.loads(driver.execute_script(_PAGE_REPORT))
            assert report["text"] > 1000, f"{chapter}: page is nearly empty"
            if (ROOT / f"{chapter}.ipynb").is_file():  # text pages (intro, glossary) have none
                assert len(report["images"]) >= 2, f"{chapter}: fewer than 2 figures"
                checked += 1
            broken = [i["src"] for i in report["images"] if not i["ok"]]
            assert not broken, f"{chapter}: figures that do not load: {broken}"
            assert report["errors"] == 0 and not report["traceback"], \
                f"{chapter}: error output on the page"
            assert not report["stderr"], f"{chapter}: errors in stderr output: {report['stderr']}"
        assert checked == len(list((ROOT / "book").glob("*.ipynb")))
    finally:
        driver.quit()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "book").glob("0*.ipynb")))
def test_colab_setup_cell_installs_and_fetches_this_chapter(name: str) -> None:
    """On Colab the first code cell installs the package from one URL and calls the tested
    ``xtutor.data.fetch.colab_setup`` with the chapter's own number (tests/
    test_data_fetch_loopback.py runs that function against a local server)."""
    from xtutor.data.fetch import chapter_key

    nb = nbformat.read(ROOT / "book" / name, as_version=4)
    setup = next(c.source for c in nb.cells if c.cell_type == "code")
    colab = setup.split('if "google.colab" in sys.modules:', 1)[-1]
    assert 'if "google.colab" in sys.modules:' in setup, f"{name}: no Colab branch"
    assert '"git+https://github.com/xtutor/xtutor"' in colab, f"{name}: install URL differs"
    assert f'colab_setup("{chapter_key(name)}")' in colab, \
        f"{name}: the Colab branch must call colab_setup(\"{chapter_key(name)}\")"


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "book").glob("0*.ipynb")))
def test_every_chapter_figure_is_numbered_captioned_and_referenced(name: str) -> None:
    """A cell that draws a figure carries myst-nb figure metadata (a name and a caption that
    says what the lines, bars and whiskers are), and the text refers to it with numref."""
    nb = nbformat.read(ROOT / "book" / name, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    names = []
    for c in nb.cells:
        if c.cell_type != "code" or "remove-output" in c.metadata.get("tags", []):
            continue
        images = sum("image/png" in o.get("data", {}) for o in c.get("outputs", []))
        if not images:
            continue
        assert images == 1, f"{name}: a cell with {images} figures (one per cell)"
        # myst-nb wraps every rich output of the cell in the figure (a table would repeat the
        # figure's label): besides the image only streams and glue records
        rich = [o for o in c.get("outputs", []) if o.get("output_type") != "stream"
                and "image/png" not in o.get("data", {})
                and not any(k.startswith("application/papermill.record")
                            for k in o.get("data", {}))]
        assert not rich, f"{name}: a figure cell with other outputs: {c.source[:60]!r}"
        fig = c.metadata.get("mystnb", {}).get("figure", {})
        assert fig.get("name") and len(fig.get("caption", "")) > 40, \
            f"{name}: figure without a name and caption: {c.source[:60]!r}"
        names.append(fig["name"])
    assert len(names) == len(set(names)), f"{name}: duplicate figure names"
    unreferenced = [n for n in names if f"{{numref}}`{n}`" not in text]
    assert not unreferenced, f"{name}: figures never referenced in the text: {unreferenced}"


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "book").glob("0*.ipynb")))
def test_claim_cells_are_hidden_and_leave_a_checks_passed_note(name: str) -> None:
    nb = nbformat.read(ROOT / "book" / name, as_version=4)
    for c in nb.cells:
        if c.cell_type == "code" and c.source.lstrip().startswith("# Claims"):
            assert "remove-input" in c.metadata.get("tags", []), f"{name}: {c.source[:50]!r}"
            assert c.source.rstrip().endswith('print("checks passed")'), \
                f"{name}: claims cell without its visible note: {c.source[:50]!r}"


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "book").glob("0*.ipynb")))
def test_each_chapter_teaches_with_equations_and_exercises(name: str) -> None:
    """At least three labelled display equations and three exercises, each exercise with a
    folded solution (gated solution-start / solution-end)."""
    nb = nbformat.read(ROOT / "book" / name, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert len(re.findall(r"^\$\$ \(eq-[\w-]+\)$", text, flags=re.M)) >= 3, name
    labels = re.findall(r"```\{exercise\}[^\n]*\n:label: ([\w-]+)", text)
    assert len(labels) >= 3, f"{name}: {len(labels)} exercises"
    for label in labels:
        assert f"```{{solution-start}} {label}" in text, f"{name}: {label} has no solution"
    assert text.count("```{solution-end}") == len(labels), name

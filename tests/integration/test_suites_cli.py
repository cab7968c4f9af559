"""Every built-in suite: its exact size, its description, and a self-test. Every task carries a `reference`
— a known-correct answer written by hand, independently of `expected` — and the task's checker must judge
it correct against `expected`, so a wrong expected answer fails here. Arithmetic is also worked out in this
file from the prompt (expressions) or from a hand translation of the word problem."""

from __future__ import annotations

from harness.checkers import run_checker
from harness.suites import load_suite
from tests.support.runs import run_cli

SIZES = {"arith": 55, "extract": 30, "classify": 35, "instruct": 31, "code": 22, "smoke": 22}  # the README's table


def test_suites_command_lists_each_suite_with_its_size():
    proc = run_cli("suites", env_columns=200)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split("│")[1].strip(): [cell.strip() for cell in line.split("│")[1:-1]]
            for line in proc.stdout.splitlines() if line.startswith("│")}
    for name, size in SIZES.items():
        assert str(size) in rows[name], rows[name]
        assert load_suite(name).sha256[:12] in " ".join(rows[name])


def test_every_code_task_has_a_reference_that_its_checker_judges_correct():
    for task in load_suite("code").tasks:
        assert task.reference is not None, task.id
        verdict = run_checker(task.checker, task.reference, task.expected)
        assert verdict.verdict == "correct", (task.id, verdict.detail)


def test_code_completion_form_plus_prefix_is_a_full_function():
    for task in load_suite("code").tasks:
        assert task.completion.endswith(task.answer_prefix)
        body = task.reference.split("\n", 2)[2].rstrip("`\n")  # the reference without its fence and def line
        verdict = run_checker(task.checker, task.answer_prefix + body, task.expected)
        assert verdict.verdict == "correct", (task.id, verdict.detail)

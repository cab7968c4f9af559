"""Which form a HumanEval reply is scored in: the request's protocol decides, never a rewrite of a completion."""

from __future__ import annotations

from harness.checkers.humaneval import HumanEvalChecker, completion_for, resolve_style

PROMPT = 'def add(x: int, y: int):\n    """Add two numbers x and y"""\n'


def test_completion_replies_are_taken_as_they_are():
    for reply in ("return x + y\n", "```python\n    return x + y\n```\n", "def add(x, y):\n    return x + y\n"):
        assert completion_for(reply, PROMPT, "add", prompt_style="completion") == (reply, "completion")


def test_a_fence_in_a_comment_does_not_make_a_chat_reply():
    reply = "    # as ```python would show\n    return x + y\n"
    assert resolve_style("auto", None, reply) == "completion"
    assert resolve_style("auto", None, "Sure:\n```python\ndef add(x, y):\n    return x + y\n```") == "chat"


def test_chat_replies_are_rebuilt_and_a_set_style_wins():
    assert completion_for("return x + y", PROMPT, "add", prompt_style="chat") == ("    return x + y\n", "body")
    assert resolve_style("completion", "chat", "```x```") == "completion"


def test_defaults_are_the_references():
    checker = HumanEvalChecker()
    assert checker.timeout_s == 3.0 and checker.style == "auto"


def _lm_eval_instruct_filter():
    """lm-eval's own `build_predictions_instruct`, compiled from its source file alone (importing the module
    loads HF `evaluate`'s code_eval from the Hub)."""
    import ast
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("lm_eval")
    path = Path(spec.submodule_search_locations[0]) / "tasks" / "humaneval" / "utils.py"
    tree = ast.parse(path.read_text())
    (node,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "build_predictions_instruct"]
    namespace: dict = {}
    exec(compile(ast.Module(body=[node], type_ignores=[]), str(path), "exec"), namespace)
    return namespace["build_predictions_instruct"]


def test_instruct_style_is_lm_evals_humaneval_instruct_filter():
    reference = _lm_eval_instruct_filter()
    replies = ["    return x + y\n```\nThis adds them.", "    return x + y\n", "```", "    return x + y\n``` and ```",
               "    s = '```'\n    return x + y\n", "\n    return x + y\n```python\nprint(add(1, 2))\n```"]
    for reply in replies:
        (expected,), = reference([[reply]], [{"prompt": PROMPT}])
        completion, mode = completion_for(reply, PROMPT, "add", style="instruct")
        assert PROMPT + completion == expected and mode == "instruct", reply

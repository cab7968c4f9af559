"""What compiling llama.cpp costs a fresh machine: the llama-cpp-python wheel with the Makefile's flags alone
against the same plus LLAMA_BINDINGS_CMAKE_ARGS (what `make setup` builds), and llama-server built by
scripts/llama_tools.py (what `make test` adds), each cold (no pip cache, a new build folder), one after another.

    .venv/bin/python benchmarks/llama_build_time.py [--jobs 2] [--skip-wheels] [--skip-server]

Prints per build the wall and CPU seconds (children's user + system), the libraries in the wheel, and the lean
wheel's wall time as a ratio of the full one. Each wheel build fetches the sdist and the build requirements
(scikit-build-core) from PyPI as pip does; on 2 cores that is a few seconds of the total.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from scripts.llama_tools import build_llama_tool, llama_cpp_python_version, makefile_cmake_args  # noqa: E402


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _makefile_value(name: str) -> str:
    match = re.search(rf"^{name} \?= (.*)$", (REPO / "Makefile").read_text(), re.MULTILINE)
    return match.group(1).replace("$(CURDIR)", str(REPO)).strip() if match else ""


def timed_wheel(cmake_args: str, jobs: int, version: str) -> tuple[float, float, list[str]]:
    """Wall and CPU seconds of one cold `pip wheel` of llama-cpp-python `version`, and the libraries it holds."""
    with tempfile.TemporaryDirectory(prefix="llama-wheel-") as out:
        env = {**os.environ, "CMAKE_ARGS": cmake_args, "CMAKE_BUILD_PARALLEL_LEVEL": str(jobs)}
        cpu0, t0 = _children_cpu_s(), time.perf_counter()
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "--no-binary",
                        "llama-cpp-python", f"llama-cpp-python=={version}", "-w", out], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        wall_s, cpu_s = time.perf_counter() - t0, _children_cpu_s() - cpu0
        (wheel,) = Path(out).glob("*.whl")
        libs = sorted({Path(n).name.split(".so")[0] for n in zipfile.ZipFile(wheel).namelist() if ".so" in n})
    return wall_s, cpu_s, libs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skip-wheels", action="store_true")
    parser.add_argument("--skip-server", action="store_true")
    args = parser.parse_args()
    version, flags = llama_cpp_python_version(), makefile_cmake_args()
    lean = f"{flags} {_makefile_value('LLAMA_BINDINGS_CMAKE_ARGS')}"
    print(f"llama-cpp-python {version}, {args.jobs} build jobs, {os.cpu_count()} CPUs")
    walls = {}
    for name, cmake_args in ([] if args.skip_wheels else [("full", flags), ("lean", lean)]):
        wall_s, cpu_s, libs = timed_wheel(cmake_args, args.jobs, version)
        walls[name] = wall_s
        print(f"wheel {name:5s} {wall_s:7.1f} s wall {cpu_s:7.1f} s CPU  {', '.join(libs)}\n  CMAKE_ARGS={cmake_args}")
    if walls:
        print(f"lean / full wall time: {walls['lean'] / walls['full']:.2f}")
    if not args.skip_server:
        with tempfile.TemporaryDirectory(prefix="llama-tools-") as cache:
            os.environ["CMAKE_BUILD_PARALLEL_LEVEL"] = str(args.jobs)
            cpu0, t0 = _children_cpu_s(), time.perf_counter()
            exe = build_llama_tool(flags, "llama-server", version, root=Path(cache))
            wall_s, cpu_s = time.perf_counter() - t0, _children_cpu_s() - cpu0
            print(f"llama-server {wall_s:7.1f} s wall {cpu_s:7.1f} s CPU  ({exe.name}, sdist download included)")


if __name__ == "__main__":
    main()

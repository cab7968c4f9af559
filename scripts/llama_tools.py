"""llama.cpp's own programs (llama-server, llama-bench, llama-batched-bench) built from the llama.cpp source that
the installed llama-cpp-python vendors, so that they run the same inference code as the bindings.

The source is llama-cpp-python's sdist (fetched from PyPI by pip once, at the installed version); each program
is built (that cmake target only) into one folder per llama-cpp-python version and flags,
$HARNESS_CACHE_DIR/llama-tools/build-<hash> (default ~/.cache/harness), and reused afterwards.
`make test` runs it for llama-server before the tests; the speed benchmarks call `build_llama_tool`.

    .venv/bin/python scripts/llama_tools.py [--cmake-args "-DGGML_NATIVE=OFF ..."] TARGET [TARGET ...]

prints each program's path (building it first if need be). The default flags are the Makefile's LLAMA_CMAKE_ARGS.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import importlib.metadata
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

from harness.config.sources import cache_dir

REPO = Path(__file__).resolve().parent.parent
# Besides the caller's flags: a release build of shared libraries like llama-cpp-python's, the server without
# its web UI (the UI would be fetched from the network; the API is all the harness uses) and without HTTPS
# or curl (it listens on 127.0.0.1 and loads local files), and nothing that no target here needs.
TOOL_CMAKE_ARGS = ("-DCMAKE_BUILD_TYPE=Release", "-DBUILD_SHARED_LIBS=ON", "-DLLAMA_CURL=OFF", "-DLLAMA_OPENSSL=OFF",
                   "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_SERVER=ON",
                   "-DLLAMA_BUILD_UI=OFF", "-DLLAMA_USE_PREBUILT_UI=OFF")


def makefile_cmake_args() -> str:
    """LLAMA_CMAKE_ARGS as the Makefile sets it (the code-generation flags llama-cpp-python is built with)."""
    match = re.search(r"^LLAMA_CMAKE_ARGS \?= (.*)$", (REPO / "Makefile").read_text(), re.MULTILINE)
    return match.group(1).strip() if match else ""


def llama_cpp_python_version() -> str:
    """The installed llama-cpp-python's version (read from its metadata: the bindings are not loaded)."""
    return importlib.metadata.version("llama-cpp-python")


def tool_path(cmake_args: str, target: str, version: str | None = None, root: Path | None = None) -> Path:
    """Where `target` built with `cmake_args` for llama-cpp-python `version` is (or will be) cached under the
    harness cache `root` (default: the current one)."""
    version = version or llama_cpp_python_version()
    key = "|".join([version, *TOOL_CMAKE_ARGS, cmake_args])
    build = (root or cache_dir()) / "llama-tools" / f"build-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    return build / "bin" / target


def _source(tools: Path, version: str) -> Path:
    source = tools / "src" / version
    if source.exists():
        return source
    sdist = tools / f"llama_cpp_python-{version}.tar.gz"
    if not sdist.exists():
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", "llama-cpp-python",
                        f"llama-cpp-python=={version}", "-d", str(tools)], check=True, stdout=subprocess.DEVNULL)
    staging = tools / "src" / f".extract-{os.getpid()}"
    with tarfile.open(sdist) as archive:
        archive.extractall(staging, filter="data")
    (staging / f"llama_cpp_python-{version}").rename(source)
    staging.rmdir()
    return source


def _run_logged(command: list[str], log: Path) -> None:
    with log.open("a") as out:
        result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-30:])
        raise SystemExit(f"{tail}\nbuilding a llama.cpp tool failed ({' '.join(command[:4])} ...): see {log}")


def build_llama_tool(cmake_args: str, target: str = "llama-bench", version: str | None = None,
                     root: Path | None = None) -> Path:
    """The executable `target` (llama-server, llama-bench, llama-batched-bench), built if not cached from the
    vendored llama.cpp of llama-cpp-python `version` (default: the installed one) with `cmake_args`, under the
    harness cache `root` (default: the current one)."""
    version = version or llama_cpp_python_version()
    exe = tool_path(cmake_args, target, version, root)
    tools = exe.parent.parent.parent
    if exe.exists():
        return exe
    tools.mkdir(parents=True, exist_ok=True)
    with (tools / ".lock").open("w") as lock:  # two processes asking at once build once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if exe.exists():
            return exe
        source = _source(tools, version)
        build = exe.parent.parent
        build.mkdir(exist_ok=True)
        print(f"building {target} from {source}/vendor/llama.cpp into {build} (once; a few CPU minutes)",
              file=sys.stderr)
        log = build / "build.log"
        if not (build / "CMakeCache.txt").exists():
            _run_logged(["cmake", "-S", str(source / "vendor" / "llama.cpp"), "-B", str(build), *TOOL_CMAKE_ARGS,
                         *cmake_args.split()], log)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL") or str(os.cpu_count() or 1)
        _run_logged(["cmake", "--build", str(build), "--target", target, "-j", jobs], log)
    return exe


def main(argv: list[str] | None = None) -> None:
    """Print the path of each asked program, building it first if it is not cached."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="+", metavar="TARGET", help="llama-server, llama-bench, llama-batched-bench")
    parser.add_argument("--cmake-args", default=None, help="default: the Makefile's LLAMA_CMAKE_ARGS")
    args = parser.parse_args(argv)
    cmake_args = args.cmake_args if args.cmake_args is not None else makefile_cmake_args()
    for target in args.targets:
        print(build_llama_tool(cmake_args, target))


if __name__ == "__main__":
    main()

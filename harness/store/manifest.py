"""The run manifest (`run.json`): what ran, where, with which versions, weights and suite.

It is written when the run starts and rewritten atomically as models finish and when the run ends, so a
reader always finds a complete JSON document. It never holds environment variables (API keys live there).
"""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness.host import cpu_model
from harness.store.atomic_files import atomic_write_text
from harness.version import __version__

MANIFEST_FILE = "run.json"
KEY_LIBRARIES = (
    "pydantic", "PyYAML", "rich", "pandas", "numpy", "llama_cpp_python", "torch", "transformers", "gguf",
    "openai", "anthropic", "genai-prices", "nvidia-ml-py", "pyarrow", "ecologits", "amdsmi",
)


def git_commit() -> str | None:
    """The harness source tree's git commit (with `-dirty` when it has uncommitted changes), if any."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists() or shutil.which("git") is None:
        return None
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (subprocess.SubprocessError, OSError):
        return None
    return commit + ("-dirty" if dirty else "")


def _ram_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def gpus() -> list[dict[str, Any]]:
    """NVIDIA GPUs seen by nvidia-smi (name, memory, driver); empty where there is none."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=index,name,memory.total,driver_version", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout
    except (subprocess.SubprocessError, OSError):
        return []
    found = []
    for line in out.strip().splitlines():
        index, name, memory_mib, driver = (part.strip() for part in line.split(","))
        found.append({"index": int(index), "name": name, "memory_mib": int(memory_mib), "driver": driver})
    return found


def host_info() -> dict[str, Any]:
    """CPU, cores, RAM, OS, Python and GPUs of this machine."""
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "hostname": platform.node(),
        "os": platform.platform(),
        "cpu_model": cpu_model() or platform.processor() or platform.machine(),
        "cpu_logical_cores": os.cpu_count(),
        "cpu_cores_available": affinity,
        "ram_bytes": _ram_bytes(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "gpus": gpus(),
    }


def library_versions() -> dict[str, str]:
    """Versions of the key libraries that are installed (absent ones are left out)."""
    versions = {}
    for name in KEY_LIBRARIES:
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            continue
    return versions


def new_manifest(run_id: str, argv: list[str], suites: list, models_file: Path, settings: dict[str, Any]) -> dict[str, Any]:
    """The manifest at run start; `models` is filled in by the runner as each model loads."""
    return {
        "run_id": run_id,
        "status": "running",
        "harness_version": __version__,
        "harness_git_commit": git_commit(),
        "command_line": list(argv),
        "settings": settings,
        "host": host_info(),
        "libraries": library_versions(),
        "suites": [
            {"name": suite.name, "version": suite.version, "sha256": suite.sha256, "source": suite.source if str(suite.source).startswith("workload:") else str(Path(suite.source).resolve()),
             "n_tasks": len(suite.tasks), "n_total": getattr(suite, "n_total", None) or len(suite.tasks),
             "selection": getattr(suite, "selection", None), "description": suite.description, "dataset": getattr(suite, "dataset", None),
             "scoring": getattr(suite, "scoring", None)}
            for suite in suites
        ],
        "models_file": str(Path(models_file).resolve()),  # absolute: a resume may start from elsewhere
        "models": {},
    }


def write_manifest(run_dir: Path, manifest: dict[str, Any]) -> None:
    """Write run.json atomically (temp file + rename)."""
    atomic_write_text(Path(run_dir) / MANIFEST_FILE, json.dumps(manifest, indent=2, ensure_ascii=False, default=str))


def read_manifest(run_dir: Path) -> dict[str, Any]:
    """Read a run's run.json; `ValueError` naming the file and the key when what every reader relies on is
    missing (a JSON object, `models` a mapping, each suite with its `name` and `sha256`)."""
    path = Path(run_dir) / MANIFEST_FILE
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(manifest, dict):
        raise ValueError(f"{path}: expected a JSON object")
    if not isinstance(manifest.get("models", {}), dict):
        raise ValueError(f"{path}: key 'models': expected a mapping of model names")
    suites = manifest.get("suites", [])
    if not isinstance(suites, list):
        raise ValueError(f"{path}: key 'suites': expected a list")
    for index, suite in enumerate(suites):
        if not isinstance(suite, dict) or not all(isinstance(suite.get(k), str) for k in ("name", "sha256")):
            raise ValueError(f"{path}: key 'suites.{index}': needs 'name' and 'sha256'")
    return manifest

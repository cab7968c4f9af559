"""Weights from Ollama's model store, read from disk: no Ollama server is needed.

Ollama keeps each model as an OCI-style manifest, `manifests/<host>/<namespace>/<model>/<tag>` (JSON), whose
layers point at content-addressed blobs, `blobs/sha256-<hex>`. The layer with media type
`application/vnd.ollama.image.model` is the GGUF. The store is `$OLLAMA_MODELS`, else ~/.ollama/models.
Names follow Ollama's rules: `llama3.2` is `registry.ollama.ai/library/llama3.2:latest`, `user/model:tag`
has its own namespace, `host/namespace/model:tag` its own registry. The chat template used is the GGUF's
own (Ollama's Go template layer is not read).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ModelSourceError

MODEL_LAYER = "application/vnd.ollama.image.model"
ADAPTER_LAYER = "application/vnd.ollama.image.adapter"
DEFAULT_HOST, DEFAULT_NAMESPACE, DEFAULT_TAG = "registry.ollama.ai", "library", "latest"
_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def ollama_store() -> Path:
    """Ollama's model folder: $OLLAMA_MODELS, else ~/.ollama/models."""
    return Path(os.environ.get("OLLAMA_MODELS") or Path.home() / ".ollama" / "models").expanduser()


def manifest_relpath(name: str) -> Path:
    """`llama3.2:3b` -> registry.ollama.ai/library/llama3.2/3b (Ollama's defaults fill what is left out)."""
    path, _, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "")
    parts = path.split("/")
    checked = [*parts[-2:], tag or DEFAULT_TAG]  # a registry host may carry a port (host:5000)
    if not 1 <= len(parts) <= 3 or not all(_PART.match(p) for p in checked):
        raise ModelSourceError(f"{name!r} is not an Ollama model name (model[:tag], namespace/model[:tag])")
    host, namespace, model = [DEFAULT_HOST, DEFAULT_NAMESPACE][:3 - len(parts)] + parts
    return Path(host, namespace, model, tag or DEFAULT_TAG)


@dataclass(frozen=True)
class OllamaModel:
    """An Ollama model resolved to its GGUF blob."""

    name: str
    manifest: Path
    blob: Path
    digest: str
    size_bytes: int
    layers: tuple[str, ...]

    def describe(self) -> dict:
        """What the manifest records: the name, the manifest file, the GGUF layer's digest."""
        return {"ollama": self.name, "manifest": str(self.manifest), "digest": self.digest,
                "layers": list(self.layers)}


def resolve_ollama(name: str) -> OllamaModel:
    """Find an Ollama model's GGUF blob through its manifest; raise `ModelSourceError` saying what is missing."""
    store = ollama_store()
    manifest_path = store / "manifests" / manifest_relpath(name)
    if not manifest_path.is_file():
        where = "no Ollama store there" if not (store / "manifests").is_dir() else "not in it"
        raise ModelSourceError(f"{name} is not in Ollama's store {store} ({where}; OLLAMA_MODELS moves it): "
                               f"run `ollama pull {name}`")
    try:
        manifest = json.loads(manifest_path.read_text())
        layers = manifest["layers"]
        media = tuple(layer["mediaType"] for layer in layers)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelSourceError(f"{manifest_path}: not a readable Ollama manifest ({exc})") from None
    if ADAPTER_LAYER in media:
        raise ModelSourceError(f"{name} carries a LoRA adapter layer, which the harness does not apply")
    models = [layer for layer in layers if layer["mediaType"] == MODEL_LAYER]
    if len(models) != 1:
        raise ModelSourceError(f"{manifest_path}: {len(models)} model layers (expected one GGUF)")
    digest, size = models[0].get("digest", ""), models[0].get("size")
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        raise ModelSourceError(f"{manifest_path}: model layer digest {digest!r} is not sha256:<64 hex>")
    blob = store / "blobs" / digest.replace(":", "-")
    if not blob.is_file():
        raise ModelSourceError(f"{name}: blob {blob.name} named by {manifest_path} is missing: "
                               f"run `ollama pull {name}`")
    if isinstance(size, int) and blob.stat().st_size != size:
        raise ModelSourceError(f"{name}: blob {blob} has {blob.stat().st_size} bytes, the manifest says "
                               f"{size}: run `ollama pull {name}`")
    return OllamaModel(name, manifest_path, blob, digest.split(":", 1)[1], blob.stat().st_size, media)

"""The backend kinds and their lazily imported classes: `import harness` needs none of the runtimes, and a
missing runtime is reported with the extra that installs it.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass

from harness.backends.base import Backend
from harness.errors import BackendUnavailable


@dataclass(frozen=True)
class BackendEntry:
    module: str
    class_name: str
    extra: str
    requires: tuple[str, ...]  # import names that must be importable


BACKENDS: dict[str, BackendEntry] = {
    "llama_cpp": BackendEntry("harness.backends.llama_cpp", "LlamaCppBackend", "llama", ("llama_cpp",)),
    "transformers": BackendEntry("harness.backends.transformers_backend", "TransformersBackend", "transformers",
                                 ("torch", "transformers", "gguf", "accelerate")),
    "openai": BackendEntry("harness.backends.openai_api", "OpenAIBackend", "api", ("openai", "orjson")),
    "anthropic": BackendEntry("harness.backends.anthropic_api", "AnthropicBackend", "api", ("anthropic",)),
}


def backend_availability(kind: str) -> tuple[bool, str]:
    """Whether the runtime for `kind` is installed, without importing it; the install hint when not."""
    entry = BACKENDS[kind]
    missing = [name for name in entry.requires if importlib.util.find_spec(name) is None]
    if missing:
        return False, f"runtime not installed ({', '.join(missing)}): pip install 'harness[{entry.extra}]'"
    return True, "runtime installed"


def backend_class(kind: str) -> type[Backend]:
    """The backend class for `kind`, imported on first use; `BackendUnavailable` names the extra to install."""
    ok, reason = backend_availability(kind)
    if not ok:
        raise BackendUnavailable(reason)
    entry = BACKENDS[kind]
    return getattr(importlib.import_module(entry.module), entry.class_name)

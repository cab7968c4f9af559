"""The backend class of each model kind (harness.config.model_config), imported on first use: `import harness` needs none of the runtimes, and a
missing runtime is reported with the extra that installs it.
"""

from __future__ import annotations

import importlib
import importlib.util

from harness.backends.base import Backend
from harness.config.kinds import KINDS
from harness.errors import BackendUnavailable


def backend_availability(kind: str) -> tuple[bool, str]:
    """Whether the runtime for `kind` is installed, without importing it; the install hint when not."""
    entry = KINDS[kind]
    missing = [name for name in entry.requires if importlib.util.find_spec(name) is None]
    if missing:
        return False, f"runtime not installed ({', '.join(missing)}): pip install 'harness[{entry.extra}]'"
    return True, "runtime installed"


def backend_class(kind: str) -> type[Backend]:
    """The backend class for `kind`, imported on first use; `BackendUnavailable` names the extra to install."""
    ok, reason = backend_availability(kind)
    if not ok:
        raise BackendUnavailable(reason)
    module, _, class_name = KINDS[kind].backend.partition(":")
    return getattr(importlib.import_module(module), class_name)

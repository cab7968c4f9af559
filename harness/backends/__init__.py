"""Backends turn one prompt into a stream of text chunks; they never read a clock for metrics.

The runner iterates `Backend.stream(prompt)`, stamps every yielded `str` chunk (answer text) and `Reasoning`
chunk (thinking text) with `time.perf_counter_ns()` on receipt, and reads the final `Usage` for token counts. Backends are registered by `kind` and imported
lazily, so `import harness` needs none of the heavy runtimes; a missing runtime is reported with the extra
that installs it.

Stage rule: it may import config, store, errors, host (never run/: the error a backend raises is backends.failures).
"""

from harness.backends.backend_classes import (
    backend_availability,
    backend_class,
)
from harness.backends.base import (
    Backend,
    Prompt,
    Reasoning,
    Usage,
)

__all__ = ["Backend", "Prompt", "Reasoning", "Usage", "backend_availability", "backend_class"]

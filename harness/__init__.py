"""harness: run the same task suite on local open-weight models and paid API models, and compare what each
costs per task in dollars, joules, seconds and correctness.

    import harness
    result = harness.run(harness.RunSpec(suites=["smoke"], only=["smollm2-135m-q4_1"]))

`run`, `resume`, `RunSpec` and `RunResult` are imported on first use, so `import harness` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.version import __version__

if TYPE_CHECKING:
    from harness.api import resume, run
    from harness.execution.run_spec import RunSpec
    from harness.execution.runner import RunResult

_LAZY = {"run": "harness.api", "resume": "harness.api", "RunSpec": "harness.execution.run_spec",
         "RunResult": "harness.execution.runner"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'harness' has no attribute {name!r}")


__all__ = ["RunResult", "RunSpec", "__version__", "resume", "run"]

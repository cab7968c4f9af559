"""The fuzzers' shared settings and bounds.

The example budget per fuzzer is HARNESS_FUZZ_EXAMPLES (default `DEFAULT_EXAMPLES`, so that the whole fuzz
tier stays within about 30 s of `make test` on two cores); `make fuzz` runs them with a larger budget.
Runs with the default budget are derandomized (the same examples every run, so a red test is a
regression, not luck); a longer run draws fresh examples each time. Every example must end in a result
or a classified error within `TIME_BOUND_S` and `MEMORY_BOUND_MB` of Python allocations.
"""

from __future__ import annotations

import os
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, settings

DEFAULT_EXAMPLES = 40
EXAMPLES = int(os.environ.get("HARNESS_FUZZ_EXAMPLES") or DEFAULT_EXAMPLES)
TIME_BOUND_S = 3.0
MEMORY_BOUND_MB = 64.0

FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=EXAMPLES == DEFAULT_EXAMPLES,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
                print_blob=True)


def bounded(run: Callable[[], Any], classified: tuple[type[BaseException], ...]) -> Any:
    """`run()`'s result, or the classified error it raised (returned, not raised); AssertionError when it
    raised anything else, took longer than `TIME_BOUND_S` or allocated more than `MEMORY_BOUND_MB`."""
    tracemalloc.start()
    t0 = time.monotonic()
    try:
        outcome = run()
    except classified as exc:
        outcome = exc
    finally:
        seconds = time.monotonic() - t0
        peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    assert seconds < TIME_BOUND_S, f"took {seconds:.2f} s"
    assert peak_mb < MEMORY_BOUND_MB, f"allocated {peak_mb:.0f} MB at its peak"
    return outcome

"""How close decoding comes to the memory-bandwidth limit.

Decoding one token reads every weight once, so a model of W bytes cannot decode faster than
bandwidth / W tokens per second. The share reported is measured decode tok/s / (bandwidth / W).
CPU bandwidth is measured at run start by a copy of a buffer far larger than the caches, split over as
many threads as the models decode with (one thread cannot fill the memory bus of a multi-core machine):
bytes read + bytes written per second, the best of several repeats (the least disturbed by other work),
with every repeat kept so the spread is on record. GPU bandwidth is NVML's peak (memory clock x bus
width x 2). Mixture-of-experts models read only their active experts: their share is understated.
"""

from __future__ import annotations

import itertools
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np


def cpu_copy_bandwidth_gbs(threads: int = 1, size_mib: int = 128, repeats: int = 11) -> dict[str, Any]:
    """Copy bandwidth of this machine's memory with `threads` threads, in GB/s (1e9 bytes): the best of
    `repeats`, with the median, min and max. NumPy releases the GIL while it copies, so threads run in parallel."""
    source = np.ones(size_mib * 2**20, dtype=np.uint8)
    target = np.empty_like(source)
    bounds = np.linspace(0, source.size, threads + 1, dtype=np.int64)
    slices = [slice(int(a), int(b)) for a, b in itertools.pairwise(bounds)]

    def copy(part: slice) -> None:
        np.copyto(target[part], source[part])

    samples_gbs = []
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(copy, slices))  # touch both buffers once (page faults are not bandwidth)
        for _ in range(repeats):
            t0 = time.perf_counter()
            list(pool.map(copy, slices))
            samples_gbs.append(2 * source.nbytes / (time.perf_counter() - t0) / 1e9)
    return {"gbs": max(samples_gbs), "median_gbs": statistics.median(samples_gbs), "min_gbs": min(samples_gbs),
            "max_gbs": max(samples_gbs), "samples_gbs": [round(v, 2) for v in samples_gbs], "threads": threads,
            "method": f"numpy copy of {size_mib} MiB over {threads} thread(s), best of {repeats}, "
                      "bytes read + written"}


def roofline_share(decode_tok_per_s: float | None, weights_bytes: int | None, bandwidth_gbs: float | None) -> float | None:
    """Measured decode speed as a fraction of bandwidth / weight bytes; None when an input is missing."""
    if not decode_tok_per_s or not weights_bytes or not bandwidth_gbs:
        return None
    return decode_tok_per_s / (bandwidth_gbs * 1e9 / weights_bytes)

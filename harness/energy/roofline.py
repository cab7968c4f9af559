"""How close decoding comes to the memory-bandwidth limit.

Decoding one token reads every weight once, so a model of W bytes cannot decode faster than
bandwidth / W tokens per second. The share reported is measured decode tok/s / (bandwidth / W).
CPU bandwidth is measured at run start by a short copy (bytes read + bytes written over the best of a
few copies of a buffer far larger than the caches); GPU bandwidth is NVML's peak (memory clock x bus
width x 2). Mixture-of-experts models read only their active experts: their share is understated.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np


def cpu_copy_bandwidth_gbs(size_mib: int = 128, repeats: int = 4) -> dict[str, Any]:
    """Copy bandwidth of this machine's memory, in GB/s (1e9 bytes), best of `repeats`."""
    source = np.ones(size_mib * 2**20, dtype=np.uint8)
    target = np.empty_like(source)
    np.copyto(target, source)  # touch both buffers once
    best_s = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.copyto(target, source)
        best_s = min(best_s, time.perf_counter() - t0)
    return {"gbs": 2 * source.nbytes / best_s / 1e9, "method": f"numpy copy of {size_mib} MiB, best of {repeats}, "
            "bytes read + written"}


def roofline_share(decode_tok_per_s: float | None, weights_bytes: int | None, bandwidth_gbs: float | None) -> float | None:
    """Measured decode speed as a fraction of bandwidth / weight bytes; None when an input is missing."""
    if not decode_tok_per_s or not weights_bytes or not bandwidth_gbs:
        return None
    return decode_tok_per_s / (bandwidth_gbs * 1e9 / weights_bytes)

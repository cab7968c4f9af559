"""When, and how long to wait before, trying a failed API request again.

Backends turn their SDK's exceptions into `RequestFailed` (harness.backends.failures) with an error class; the runner retries the
retryable ones — 429 (honouring Retry-After), 5xx, connection errors, timeouts, streams dropped midway —
with capped exponential backoff and full jitter, and records every failed attempt.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter; a server's Retry-After overrides it (up to `max_wait_s`)."""

    max_attempts: int = 5
    base_s: float = 0.5
    cap_s: float = 20.0
    max_wait_s: float = 120.0

    def delay_s(self, attempt: int, retry_after_s: float | None, rng: random.Random | None = None) -> float:
        """Wait before attempt number `attempt + 1` (attempts count from 1)."""
        if retry_after_s is not None:
            return min(retry_after_s, self.max_wait_s)
        ceiling = min(self.cap_s, self.base_s * 2 ** (attempt - 1))
        return (rng or random).uniform(0, ceiling)

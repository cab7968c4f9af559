"""How an API request failed, as a backend reports it: the error class, whether a retry may help, and the
server's Retry-After. Backends raise `RequestFailed`; the run stage (harness.execution.retry) decides on retries.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import Any

from harness.errors import HarnessError

RETRYABLE_CLASSES = frozenset({"rate_limited", "server_error", "connection", "timeout", "disconnected"})


class RequestFailed(HarnessError):
    """One request failed; `error_class` says how, `retryable` whether trying again may help."""

    def __init__(self, error_class: str, message: str, status_code: int | None = None,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.error_class = error_class
        self.status_code = status_code
        self.retry_after_s = retry_after_s

    @property
    def retryable(self) -> bool:
        return self.error_class in RETRYABLE_CLASSES

    def to_record(self) -> dict[str, Any]:
        """The error as stored in a record."""
        return {"type": "RequestFailed", "error_class": self.error_class, "message": str(self),
                "status_code": self.status_code, "retry_after_s": self.retry_after_s, "retryable": self.retryable}


def classify_status(status_code: int) -> str:
    """Error class of an HTTP status: 429 rate_limited, 408/5xx retryable, other 4xx final."""
    if status_code == 429:
        return "rate_limited"
    if status_code == 408:
        return "timeout"
    if status_code >= 500:
        return "server_error"
    if status_code in (401, 403):
        return "auth"
    return "bad_request"


def parse_retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `retry-after` (seconds or an HTTP date); None if absent."""
    if not headers:
        return None
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            return max(float(value) / 1000.0, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            return None
        return max(when - (time.time() if now is None else now), 0.0)

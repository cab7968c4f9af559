"""One request: stamp every chunk of a backend's stream, and retry the attempts that failed transiently.

The request start is stamped just before the first chunk is asked for (so prompt rendering, tokenization,
connection and prefill count towards TTFT), each chunk on receipt, and the end when the stream is
exhausted. A retried request keeps the timing of its final attempt; the failed attempts before it are
listed with their error and the wait that followed.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from harness.backends import Backend, Prompt, Usage
from harness.retry import RequestFailed, RetryPolicy


def timed_stream(backend: Backend, prompt: Prompt) -> dict[str, Any]:
    """Run one attempt, stamping each chunk; return the raw observations (request errors are returned)."""
    offsets: list[int] = []
    chars: list[int] = []
    parts: list[str] = []
    add_offset, add_chars, add_part = offsets.append, chars.append, parts.append
    usage: Usage | None = None
    error = None
    clock = time.perf_counter_ns
    started_at = dt.datetime.now(dt.timezone.utc)
    t0 = clock()
    try:
        for item in backend.stream(prompt):
            t = clock()
            if item.__class__ is str:
                add_offset(t - t0)
                add_chars(len(item))
                add_part(item)
            else:
                usage = item
        end_offset_ns = clock() - t0
    except RequestFailed as exc:
        end_offset_ns = clock() - t0
        error = exc.to_record()
    except Exception as exc:  # noqa: BLE001 - a failed request is recorded, the run goes on
        end_offset_ns = clock() - t0
        error = {"type": type(exc).__name__, "message": str(exc), "retryable": False}
    return {
        "started_at": started_at.isoformat(timespec="milliseconds"),
        "chunk_offsets_ns": offsets,
        "chunk_chars": chars,
        "end_offset_ns": end_offset_ns,
        "input_tokens": usage.input_tokens if usage else None,
        "input_tokens_source": usage.input_tokens_source if usage else None,
        "output_tokens": usage.output_tokens if usage else None,
        "output_tokens_source": usage.output_tokens_source if usage else None,
        "cache_read_tokens": usage.cache_read_tokens if usage else 0,
        "cache_write_tokens": usage.cache_write_tokens if usage else 0,
        "reasoning_tokens": usage.reasoning_tokens if usage else None,
        "finish_reason": usage.finish_reason if usage else None,
        "output_text": "".join(parts),
        "error": error,
    }


def execute(backend: Backend, prompt: Prompt, policy: RetryPolicy,
            sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Run a request, retrying retryable failures under `policy`; the result records every failed attempt."""
    failed_attempts: list[dict[str, Any]] = []
    for attempt in range(1, policy.max_attempts + 1):
        raw = timed_stream(backend, prompt)
        error = raw["error"]
        if error is None or not error.get("retryable") or attempt == policy.max_attempts:
            break
        wait_s = policy.delay_s(attempt, error.get("retry_after_s"))
        failed_attempts.append({**error, "started_at": raw["started_at"],
                                "elapsed_s": raw["end_offset_ns"] / 1e9, "wait_s": wait_s})
        sleep(wait_s)
    raw["attempts"] = len(failed_attempts) + 1
    raw["failed_attempts"] = failed_attempts
    return raw

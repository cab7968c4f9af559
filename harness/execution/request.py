"""One request: stamp every chunk of a backend's stream, and retry the attempts that failed transiently.

The request start is stamped just before the first chunk is asked for (so prompt rendering, tokenization,
connection and prefill count towards TTFT), each chunk on receipt (answer and reasoning chunks apart), and the end when the stream is
exhausted. A retried request keeps the timing of its final attempt; the failed attempts before it are
listed with their error and the wait that followed. A stop request (the first Ctrl-C) ends a wait at once
and starts no further attempt. The same observations are made for the asyncio
streams the load generator drives (`timed_stream_async`, `execute_async`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from harness.backends import Backend, Prompt, Reasoning, Usage
from harness.backends.failures import RequestFailed
from harness.backends.thread_handoff import StampedBlock
from harness.execution.retry import RetryPolicy


class _Observation:
    """What one attempt saw: answer and reasoning chunk stamps and sizes, the texts, the usage, the error."""

    __slots__ = ("offsets", "chars", "parts", "reasoning_offsets", "reasoning_chars", "reasoning_parts", "usage",
                 "error", "started_at", "t0", "end_offset_ns")
    end_offset_ns: int  # set when the attempt ends, before `raw()` reads it

    def __init__(self) -> None:
        self.offsets: list[int] = []
        self.chars: list[int] = []
        self.parts: list[str] = []
        self.reasoning_offsets: list[int] = []
        self.reasoning_chars: list[int] = []
        self.reasoning_parts: list[str] = []
        self.usage: Usage | None = None
        self.error: dict[str, Any] | None = None
        self.started_at = dt.datetime.now(dt.UTC)
        self.t0 = time.perf_counter_ns()

    def failed(self, exc: Exception) -> None:
        if isinstance(exc, RequestFailed):
            self.error = exc.to_record()
        else:
            self.error = {"type": type(exc).__name__, "message": str(exc), "retryable": False}

    def add(self, item: Any, t: int) -> None:
        """Record one non-answer item: a reasoning chunk, or the usage."""
        if item.__class__ is Reasoning:
            self.reasoning_offsets.append(t - self.t0)
            self.reasoning_chars.append(len(item))
            self.reasoning_parts.append(str(item))
        else:
            self.usage = item

    def raw(self) -> dict[str, Any]:
        usage = self.usage
        reasoning = {"reasoning_offsets_ns": self.reasoning_offsets, "reasoning_chars": self.reasoning_chars,
                     "reasoning_text": "".join(self.reasoning_parts)} if self.reasoning_offsets else {}
        return {
            "started_at": self.started_at.isoformat(timespec="milliseconds"),
            "chunk_offsets_ns": self.offsets,
            "chunk_chars": self.chars,
            **reasoning,
            "end_offset_ns": self.end_offset_ns,
            "input_tokens": usage.input_tokens if usage else None,
            "input_tokens_source": usage.input_tokens_source if usage else None,
            "output_tokens": usage.output_tokens if usage else None,
            "output_tokens_source": usage.output_tokens_source if usage else None,
            "cache_read_tokens": usage.cache_read_tokens if usage else 0,
            "cache_write_tokens": usage.cache_write_tokens if usage else 0,
            "reasoning_tokens": usage.reasoning_tokens if usage else None,
            **({"cache_write_1h_tokens": usage.cache_write_1h_tokens} if usage and usage.cache_write_1h_tokens else {}),
            **({"provider_cost_usd": usage.provider_cost_usd} if usage and usage.provider_cost_usd is not None else {}),
            **({"unpriced_usage": usage.unpriced} if usage and usage.unpriced else {}),
            "finish_reason": usage.finish_reason if usage else None,
            "output_text": "".join(self.parts),
            "error": self.error,
        }


def unsent_raw(error: dict[str, Any]) -> dict[str, Any]:
    """The observations of a request that has none: never sent (its model failed to load) or sent by a client
    that was lost before it finished. No timing, no tokens, `error`."""
    return {"started_at": None, "chunk_offsets_ns": [], "chunk_chars": [], "end_offset_ns": None,
            "input_tokens": None, "input_tokens_source": None, "output_tokens": None, "output_tokens_source": None,
            "cache_read_tokens": 0, "cache_write_tokens": 0, "reasoning_tokens": None, "finish_reason": None,
            "output_text": "", "error": error, "attempts": 0, "failed_attempts": []}


_ANSWER_ONLY = {str}


def timed_stream(backend: Backend, prompt: Prompt) -> dict[str, Any]:
    """Run one attempt, stamping each chunk; return the raw observations (request errors are returned)."""
    seen = _Observation()
    add_offset, add_chars, add_part, clock, t0 = seen.offsets.append, seen.chars.append, seen.parts.append, \
        time.perf_counter_ns, seen.t0
    try:
        for item in backend.stream(prompt):
            t = clock()
            if item.__class__ is str:
                add_offset(t - t0)
                add_chars(len(item))
                add_part(item)
            else:
                seen.add(item, t)
    except Exception as exc:  # noqa: BLE001 - a failed request is recorded, the run goes on
        seen.failed(exc)
    seen.end_offset_ns = clock() - t0
    return seen.raw()


def timed_loglikelihood(backend: Backend, context: str, choices: list[str]) -> dict[str, Any]:
    """Score each choice after `context` (the log-likelihood form); the raw observations of one request whose
    answer is the chosen continuation, stamped as one chunk when scoring ended (there is no token stream:
    TTFT equals E2E). Input tokens: context + continuation tokens summed over the choices (what was scored)."""
    seen = _Observation()
    scores: list[Any] = []
    try:
        scores = backend.loglikelihood(context, choices)
    except Exception as exc:  # noqa: BLE001 - a failed request is recorded, the run goes on
        seen.failed(exc)
    seen.end_offset_ns = time.perf_counter_ns() - seen.t0
    raw = seen.raw()
    if seen.error is None:
        best = max(range(len(scores)), key=lambda i: (scores[i].logprob, -i))  # the first highest, as argmax
        raw.update(chunk_offsets_ns=[seen.end_offset_ns], chunk_chars=[len(choices[best])], output_text=choices[best],
                   input_tokens=sum(s.context_tokens + s.continuation_tokens for s in scores),
                   input_tokens_source="runtime", output_tokens=0, output_tokens_source="runtime")
    raw["loglikelihoods"] = [{"continuation": c, "logprob": s.logprob, "is_greedy": s.is_greedy,
                              "context_tokens": s.context_tokens, "continuation_tokens": s.continuation_tokens}
                             for c, s in zip(choices, scores)] or None
    return _finished(raw, [])


async def timed_stream_async(backend: Any, prompt: Prompt) -> dict[str, Any]:
    """`timed_stream` over a backend's asyncio stream (`astream_blocks`): the chunks of one block share its
    stamp — its receipt, or, for a block an in-process engine stamped when it produced it (`StampedBlock`),
    that moment."""
    seen = _Observation()
    offsets, chars, parts, clock, t0 = seen.offsets, seen.chars, seen.parts, time.perf_counter_ns, seen.t0
    produced_ns = None  # the last producer stamp: a stamped stream ends when its last block was made
    try:
        async for block in backend.astream_blocks(prompt):
            if block.__class__ is StampedBlock:
                t = produced_ns = block.t_ns
            else:
                t = clock()
            if set(map(type, block)) == _ANSWER_ONLY:  # the common block: answer text only, stamped at once
                offsets.extend([t - t0] * len(block))
                chars.extend(map(len, block))
                parts.extend(block)
                continue
            for item in block:
                if item.__class__ is str:
                    offsets.append(t - t0)
                    chars.append(len(item))
                    parts.append(item)
                else:
                    seen.add(item, t)
    except Exception as exc:  # noqa: BLE001 - a failed request is recorded, the run goes on
        seen.failed(exc)
        produced_ns = None
    seen.end_offset_ns = (produced_ns or clock()) - t0
    return seen.raw()


def _next_wait(raw: dict[str, Any], attempt: int, policy: RetryPolicy, failed: list[dict[str, Any]]) -> float | None:
    """The wait before the next attempt, or None when this attempt is the last (success or final failure)."""
    error = raw["error"]
    if error is None or not error.get("retryable") or attempt == policy.max_attempts:
        return None
    wait_s = policy.delay_s(attempt, error.get("retry_after_s"))
    failed.append({**error, "started_at": raw["started_at"], "elapsed_s": raw["end_offset_ns"] / 1e9, "wait_s": wait_s})
    return wait_s


def _finished(raw: dict[str, Any], failed: list[dict[str, Any]]) -> dict[str, Any]:
    raw["attempts"] = len(failed) + 1
    raw["failed_attempts"] = failed
    return raw


class RequestStopped(Exception):
    """The run was asked to stop while this request waited to be retried: no further attempt was made, and
    the request is left unrecorded (a resume sends it again)."""


WAIT_SLICE_S = 0.05  # how soon a retry wait notices a stop request


def _never() -> bool:
    return False


def execute(backend: Backend, prompt: Prompt, policy: RetryPolicy,
            stop: Callable[[], bool] = _never) -> dict[str, Any]:
    """Run a request, retrying retryable failures under `policy`; the result records every failed attempt.
    When `stop()` turns true during a wait before a retry, raises `RequestStopped` at once."""
    failed: list[dict[str, Any]] = []
    for attempt in range(1, policy.max_attempts + 1):
        raw = timed_stream(backend, prompt)
        wait_s = _next_wait(raw, attempt, policy, failed)
        if wait_s is None:
            break
        deadline = time.monotonic() + wait_s
        while (left_s := deadline - time.monotonic()) > 0 and not stop():
            time.sleep(min(left_s, WAIT_SLICE_S))
        if stop():
            raise RequestStopped(f"stopped during a {wait_s:g} s wait before attempt {attempt + 1}")
    return _finished(raw, failed)


async def execute_async(backend: Any, prompt: Prompt, policy: RetryPolicy,
                        stop: Callable[[], bool] = _never) -> dict[str, Any]:
    """`execute` over a backend's asyncio stream."""
    failed: list[dict[str, Any]] = []
    for attempt in range(1, policy.max_attempts + 1):
        raw = await timed_stream_async(backend, prompt)
        wait_s = _next_wait(raw, attempt, policy, failed)
        if wait_s is None:
            break
        deadline = time.monotonic() + wait_s
        while (left_s := deadline - time.monotonic()) > 0 and not stop():
            await asyncio.sleep(min(left_s, WAIT_SLICE_S))
        if stop():
            raise RequestStopped(f"stopped during a {wait_s:g} s wait before attempt {attempt + 1}")
    return _finished(raw, failed)

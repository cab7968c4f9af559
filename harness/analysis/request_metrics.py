"""Per-request metrics derived from a raw record; the one place where these definitions live.

A streamed token is any non-empty chunk, answer or reasoning (`reasoning_offsets_ns`); t_first / t_last are
the first / last of them, and N_streamed the output tokens that were streamed (below).
- TTFT = t(first streamed token of any kind, reasoning included) - t(request start)
- TTFAT (time to first answer token) = t(first non-empty answer chunk) - t(request start)
- E2E = t(end of stream) - t(request start)
- ITL (per request) = (t_last - t_first) / (N_streamed - 1)
- TPOT = (E2E - TTFT) / (N_streamed - 1)
- output speed = (N_streamed - 1) / (t_last - t_first) tokens/s: tokens actually streamed over the streamed
  window, never more
- end-to-end output rate = N_out / E2E tokens/s, the provider's whole count over the whole request (hidden
  reasoning included); reported under its own name, never as output speed
- prompt speed = N_in / TTFT tokens/s (prefill dominates TTFT for a local runtime)

N_streamed: a local runtime (`output_tokens_source` `runtime`) streams every token it counts, and a count
made with a tokenizer or from chunks covers only what was streamed, so N_streamed = N_out. A provider's
count (`provider`) may include tokens it did not stream: reasoning it kept hidden (`reasoning_tokens` with
no reasoning chunks), so N_streamed = N_out - reasoning_tokens; and when that still exceeds the UTF-8 bytes
of all streamed text (every streamed token carries at least one byte), the count covers tokens that were
never streamed and N_streamed is unknown: output speed, ITL and TPOT are then None.

A metric that its definition cannot give (no content, a single output token) is None, never 0.
"""

from __future__ import annotations

from typing import Any

NS_PER_S = 1e9
METRIC_NAMES = ("ttft_s", "ttfat_s", "e2e_s", "itl_s", "tpot_s", "output_tok_per_s", "e2e_output_tok_per_s",
                "prompt_tok_per_s")


def _nonempty(offsets: list[int] | None, chars: list[int] | None) -> list[int]:
    return [t for t, n in zip(offsets or [], chars or []) if n > 0]


def streamed_tokens(record: dict[str, Any]) -> int | None:
    """N_streamed: the output tokens that reached the client in the stream, or None when unknown."""
    n_out = record.get("output_tokens")
    if n_out is None or record.get("output_tokens_source") != "provider":
        return n_out  # counted by the runtime that streamed each token, or from the streamed text itself
    reasoning_streamed = bool(_nonempty(record.get("reasoning_offsets_ns"), record.get("reasoning_chars")))
    hidden = 0 if reasoning_streamed else record.get("reasoning_tokens") or 0
    visible = n_out - hidden
    streamed_bytes = len((record.get("output_text") or "").encode()) + len((record.get("reasoning_text") or "").encode())
    return visible if 0 <= visible <= streamed_bytes else None


def request_metrics(record: dict[str, Any]) -> dict[str, float | None]:
    """TTFT, TTFAT, E2E, ITL, TPOT and speeds of one record, in seconds and tokens per second."""
    answer = _nonempty(record.get("chunk_offsets_ns"), record.get("chunk_chars"))
    reasoning = _nonempty(record.get("reasoning_offsets_ns"), record.get("reasoning_chars"))
    n_in, n_out = record.get("input_tokens"), record.get("output_tokens")
    end_ns = record.get("end_offset_ns")
    out: dict[str, float | None] = dict.fromkeys(METRIC_NAMES, None)
    if record.get("error") is None and end_ns is not None:
        out["e2e_s"] = end_ns / NS_PER_S
    if not (answer or reasoning) or record.get("error") is not None:
        return out
    t_first = min(answer[:1] + reasoning[:1])
    t_last = max(answer[-1:] + reasoning[-1:])
    out["ttft_s"] = t_first / NS_PER_S
    if answer:
        out["ttfat_s"] = answer[0] / NS_PER_S
    if n_in:
        out["prompt_tok_per_s"] = n_in / out["ttft_s"]
    if n_out and out["e2e_s"]:
        out["e2e_output_tok_per_s"] = n_out / out["e2e_s"]
    n_streamed = streamed_tokens(record)
    if n_streamed is not None and n_streamed > 1:
        if t_last > t_first:
            out["itl_s"] = (t_last - t_first) / NS_PER_S / (n_streamed - 1)
            out["output_tok_per_s"] = (n_streamed - 1) / ((t_last - t_first) / NS_PER_S)
        if out["e2e_s"] is not None:
            out["tpot_s"] = (out["e2e_s"] - out["ttft_s"]) / (n_streamed - 1)
    return out


def chunk_gaps_s(record: dict[str, Any]) -> list[float]:
    """Gaps between consecutive streamed chunks (answer or reasoning) of one record, in seconds (pooled across
    records for ITL distributions; a chunk may carry several tokens, so these are chunk gaps, not per-token
    latencies)."""
    content = sorted(_nonempty(record.get("chunk_offsets_ns"), record.get("chunk_chars"))
                     + _nonempty(record.get("reasoning_offsets_ns"), record.get("reasoning_chars")))
    return [(b - a) / NS_PER_S for a, b in zip(content, content[1:])]

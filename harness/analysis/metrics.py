"""Per-request metrics derived from a raw record; the one place where these definitions live.

- TTFT = t(first non-empty content chunk) - t(request start)
- E2E = t(end of stream) - t(request start)
- ITL (per request) = (t_last - t_first) / (N_out - 1), t_first/t_last = first/last content chunk
- TPOT = (E2E - TTFT) / (N_out - 1)
- output speed = (N_out - 1) / (t_last - t_first) tokens/s
- prompt speed = N_in / TTFT tokens/s (prefill dominates TTFT for a local runtime)

A metric that its definition cannot give (no content, a single output token) is None, never 0.
"""

from __future__ import annotations

from typing import Any

NS_PER_S = 1e9


def request_metrics(record: dict[str, Any]) -> dict[str, float | None]:
    """TTFT, E2E, ITL, TPOT and speeds of one record, in seconds and tokens per second."""
    offsets = record.get("chunk_offsets_ns") or []
    chars = record.get("chunk_chars") or []
    content = [t for t, n in zip(offsets, chars) if n > 0]
    n_in, n_out = record.get("input_tokens"), record.get("output_tokens")
    end_ns = record.get("end_offset_ns")
    out: dict[str, float | None] = dict.fromkeys(
        ("ttft_s", "e2e_s", "itl_s", "tpot_s", "output_tok_per_s", "prompt_tok_per_s"), None
    )
    if record.get("error") is None and end_ns is not None:
        out["e2e_s"] = end_ns / NS_PER_S
    if not content or record.get("error") is not None:
        return out
    t_first, t_last = content[0], content[-1]
    out["ttft_s"] = t_first / NS_PER_S
    if n_in:
        out["prompt_tok_per_s"] = n_in / out["ttft_s"]
    if n_out is not None and n_out > 1:
        if t_last > t_first:
            out["itl_s"] = (t_last - t_first) / NS_PER_S / (n_out - 1)
            out["output_tok_per_s"] = (n_out - 1) / ((t_last - t_first) / NS_PER_S)
        if out["e2e_s"] is not None:
            out["tpot_s"] = (out["e2e_s"] - out["ttft_s"]) / (n_out - 1)
    return out


def chunk_gaps_s(record: dict[str, Any]) -> list[float]:
    """Gaps between consecutive content chunks of one record, in seconds (pooled across records for ITL
    distributions; a chunk may carry several tokens, so these are chunk gaps, not per-token latencies)."""
    content = [t for t, n in zip(record.get("chunk_offsets_ns") or [], record.get("chunk_chars") or []) if n > 0]
    return [(b - a) / NS_PER_S for a, b in zip(content, content[1:])]

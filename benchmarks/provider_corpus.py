"""Every case of the provider-stream corpus through both request paths, one line each: preset, usage dialect,
the cost the provider's documentation gives, the cost each path recorded, and whether all agree. A last
column says whether genai-prices' own `extract_usage` reads the same billing classes from the case's usage
(where it does not, the harness's reading is the one that follows the provider's documentation).

    PYTHONPATH=. .venv/bin/python benchmarks/provider_corpus.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.backends.usage_dialects import chunk_usage
from tests.integration.provider_streams import CASES, Case, matches, record_view, run_case

GENAI_PROVIDER = {"anthropic": "anthropic", "gemini": "google", "xai": "x-ai", "azure_openai": "azure"}


def _usage_reply(case: Case) -> dict | None:
    """The case's usage as a non-streamed reply would carry it (what genai-prices' extractors take)."""
    usage: dict = {}
    for event in case.body.split(b"\n\n"):
        data = b"".join(line[6:] for line in event.split(b"\n") if line.startswith(b"data: "))
        if not data or data == b"[DONE]":
            continue
        payload = json.loads(data)
        found = chunk_usage(payload) or (payload.get("message") or {}).get("usage") or (
            payload.get("usage") if payload.get("type") == "message_delta" else None)
        if found:
            usage.update(found)
    if not usage:
        return None
    if case.preset == "anthropic":
        return {"type": "message", "model": case.model, "usage": usage}
    return {"object": "chat.completion", "model": case.model, "usage": usage}


def genai_prices_reading(case: Case) -> str:
    """Whether genai-prices' extract_usage reads the case's billing classes as the provider documents them."""
    import genai_prices

    reply = _usage_reply(case)
    if reply is None or case.input_tokens is None:
        return "-"
    provider = GENAI_PROVIDER.get(case.preset, case.preset)
    extracted = None
    for flavor in ("chat", "default"):
        try:
            extracted = genai_prices.extract_usage(reply, provider_id=provider, api_flavor=flavor).usage
            break
        except Exception as exc:  # noqa: BLE001 - genai-prices raises ValueError/KeyError/StopIteration variously
            error = f"{type(exc).__name__}"
    if extracted is None:
        return f"cannot read it ({error})"
    wrong = [name for name, want in (("input_tokens", case.input_tokens), ("output_tokens", case.output_tokens),
                                     ("cache_read_tokens", case.cache_read_tokens),
                                     ("cache_write_tokens", case.cache_write_tokens))
             if (getattr(extracted, name, None) or 0) != (want or 0)]
    return "agrees" if not wrong else "differs: " + ", ".join(
        f"{name} {getattr(extracted, name, None) or 0} (documented {getattr(case, name) or 0})" for name in wrong)


def _cost(value: object) -> str:
    return f"${float(value):.10f}".rstrip("0").rstrip(".") if value is not None else "none"


def main() -> int:
    header = (f"{'case':36} {'preset':17} {'dialect':21} {'expected':>18} {'sdk path':>18} {'loadgen path':>18} "
              f"{'equal':5}  {'provider states':22} genai-prices extract_usage")
    print(header)
    print("-" * len(header))
    failures = 0
    for case in CASES:
        sdk, load, _ = run_case(case)
        equal = matches(case, sdk) and matches(case, load) and record_view(sdk) == record_view(load)
        failures += not equal
        if case.error_class:
            expected, recorded = f"error {case.error_class}", [f"error {(r.get('error') or {}).get('error_class')}"
                                                               for r in (sdk, load)]
        elif case.unpriced:
            expected = "unknown (unpriced)"
            recorded = ["unknown (unpriced)" if r.get("cost_usd") is None and r.get("unpriced_usage") else
                        _cost(r.get("cost_usd")) for r in (sdk, load)]
        else:
            expected, recorded = _cost(case.expected_cost_usd), [_cost(r.get("cost_usd")) for r in (sdk, load)]
        extra = f" [{case.tier}]" if case.tier != "standard" else ""
        check = sdk.get("provider_cost_check")
        stated = (f"{_cost(check['provider_cost_usd'])} {'FLAGGED' if check['flagged'] else 'within 1%'}"
                  if check else "-")
        print(f"{case.name:36} {case.preset + extra:17} {case.dialect:21} {expected:>18} {recorded[0]:>18} "
              f"{recorded[1]:>18} {'yes' if equal else 'NO':5}  {stated:22} {genai_prices_reading(case)}")
    print(f"\n{len(CASES) - failures} of {len(CASES)} cases equal on both paths")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""Each hostile-input case of benchmarks/attack_cases_http.py as a test: the load client against servers
that never end an event, a chunk-size line or the trailers, drip-feed bytes, send a second response after
the first or break HTTP's number syntax; proxies of other schemes, ALL_PROXY, loopback; URL credentials
and HF_TOKEN in stored configuration, error texts and server logs; trace rows, GGUF headers, the digest
cache, template resource limits and dataset cards. A case fails by raising AssertionError (or by running
past its deadline: each is given FAST_S inside, and pytest's own run of it is timed here)."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "attack_cases_http.py"
_SPEC = importlib.util.spec_from_file_location("attack_cases_http", _PATH)
attack_cases_http = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(attack_cases_http)

CASES = attack_cases_http.cases()


@pytest.mark.parametrize("case", [case for _, case in CASES], ids=[name for name, _ in CASES])
def test_attack_case_holds(case):
    t0 = time.monotonic()
    outcome = case()
    assert isinstance(outcome, str) and outcome
    assert time.monotonic() - t0 < 30
    assert attack_cases_http.KEY not in outcome

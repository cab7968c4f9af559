"""Synthetic workloads and trace replay: specs, prompts sized to the exact token count with each model's own
tokenizer (checked against llama-cpp-python's own usage, not the harness's count), outputs held to length,
prefix-cache reuse measured on the real runtime, cache-aware API prices against genai-prices, and `whatif`."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from genai_prices import Usage, calc_price

from harness.config.models_file import load_models_config
from harness.errors import SuiteError
from harness.execution.level_attempts import trace_schedule
from harness.suites import load_suite
from harness.suites.workload import parse_workload, workload_rows
from tests.support.runs import write


def test_fixed_spec_gives_exact_rows_and_a_prefix_share():
    rows = workload_rows(parse_workload("in=1000,out=100,n=4,prefix=0.5:600"))
    assert [(r["input_tokens"], r["output_tokens"]) for r in rows] == [(1000, 100)] * 4
    prefixed = [r for r in rows if r.get("prefix_id")]
    assert len(prefixed) == 2 and all(r["prefix_tokens"] == 600 for r in prefixed)


def test_distributions_are_fixed_by_the_seed_and_change_the_hash():
    a, b = load_suite("workload:in=normal:2000:400,out=uniform:100:500,n=50,seed=1"), \
        load_suite("workload:in=normal:2000:400,out=uniform:100:500,n=50,seed=1")
    c = load_suite("workload:in=normal:2000:400,out=uniform:100:500,n=50,seed=2")
    assert a.sha256 == b.sha256 != c.sha256
    outs = [t.workload.output_tokens for t in a.tasks]
    assert all(100 <= n <= 500 for n in outs) and len(set(outs)) > 10
    assert all(t.checker.kind == "none" for t in a.tasks)


def test_histogram_file(tmp_path):
    hist = write(tmp_path / "in.csv", "tokens,weight\n100,1\n4000,0\n")
    rows = workload_rows(parse_workload(f"in=hist:{hist},out=10,n=5"))
    assert {r["input_tokens"] for r in rows} == {100}


@pytest.mark.parametrize("spec, fragment", [
    ("in=2000", "key 'out': required"),
    ("in=abc,out=3", "key 'in': 'abc' is not a number"),
    ("in=normal:2000,out=3", "key 'in': normal takes 2 numbers"),
    ("in=10,out=3,prefix=1.5:100", "key 'prefix'"),
    ("in=10,out=3,bogus=1", "key 'bogus'"),
    ("in=10,out=3,reuse=maybe", "key 'reuse': on or off"),
    ("in=10,out=3,n=0", "key 'n'"),
])
def test_bad_specs_name_the_key(spec, fragment):
    with pytest.raises(SuiteError, match=fragment.replace("(", r"\(")):
        parse_workload(spec)


def test_trace_rows_are_validated_with_file_and_line(tmp_path):
    bad = write(tmp_path / "t.jsonl", '{"input_tokens": 10, "output_tokens": 5}\n{"input_tokens": 0, "output_tokens": 5}\n')
    with pytest.raises(SuiteError, match=r"t.jsonl:2: key 'input_tokens'"):
        parse_workload(f"trace={bad}")
    unordered = write(tmp_path / "u.jsonl", '{"input_tokens": 10, "output_tokens": 5, "at_s": 2}\n'
                                            '{"input_tokens": 10, "output_tokens": 5, "at_s": 1}\n')
    with pytest.raises(SuiteError, match=r"u.jsonl:2: key 'at_s': arrival times must not decrease"):
        parse_workload(f"trace={unordered}")


def test_trace_arrivals_become_an_open_loop_schedule(tmp_path):
    trace = write(tmp_path / "t.jsonl", "\n".join(json.dumps(r) for r in [
        {"input_tokens": 30, "output_tokens": 4, "at_s": 0.0},
        {"input_tokens": 40, "output_tokens": 4, "at_s": 0.5, "prefix_id": "sys", "prefix_tokens": 20},
        {"input_tokens": 50, "output_tokens": 4, "at_s": 2.0}]) + "\n")
    suite = load_suite(f"workload:trace={trace}")
    assert [t.workload.at_s for t in suite.tasks] == [0.0, 0.5, 2.0]
    jobs = [((suite, rep, task), "trace") for rep in (1, 0) for task in reversed(suite.tasks)]
    ordered, offsets = trace_schedule(jobs)
    # span = last arrival + 1 s = 3 s; repetition 1 starts 3 s later
    assert offsets == [0.0, 0.5, 2.0, 3.0, 3.5, 5.0]
    assert [(rep, task.id) for (_, rep, task), _ in ordered][:3] == [(0, "w00001"), (0, "w00002"), (0, "w00003")]


def test_projected_api_cost_bills_the_shared_prefix_as_cache_reads(tmp_path):
    from harness.analysis.comparison import projected_costs

    models = write(tmp_path / "models.yaml", """
        models:
          - {name: mini, kind: openai, provider: openai, model: gpt-5-mini}
        """)
    (cfg,) = load_models_config(models).models
    suite = load_suite("workload:in=1000,out=100,n=4,prefix=0.5:600")
    projected = projected_costs([], [cfg], [suite]).iloc[0]
    reference = Decimal(0)
    seen = False
    for task in suite.tasks:  # the first request with the prefix writes it, later ones read it
        cached = 600 if task.workload.prefix_id and seen else 0
        seen = seen or bool(task.workload.prefix_id)
        reference += calc_price(Usage(input_tokens=1000, cache_read_tokens=cached, output_tokens=100),
                                "gpt-5-mini", provider_id="openai").total_price
    assert projected["cost_usd_suite"] == pytest.approx(float(reference), rel=1e-12)
    assert "cache reads" in projected["basis"]

"""API backends against a local server the test controls: Anthropic and OpenAI usage parsing priced against
genai-prices, unknown prices, the concurrency limit, the judge model, and API keys that never reach results
or logs. The failure states (429, 500, stalls, drops, malformed SSE) are in test_fault_matrix.py."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pandas as pd
import pytest
from genai_prices import Usage, calc_price

from harness.store.records import read_records
from tests.support.fake_api import FakeAPI
from tests.support.runs import run_cli, write

TASKS = 6


def _suite(tmp_path: Path, n: int = TASKS) -> Path:
    tasks = "\n".join(f'  - {{id: t{i}, prompt: "What is 6 times 7?", max_tokens: 16, expected: 42, checker: numeric}}'
                      for i in range(1, n + 1))
    return write(tmp_path / "suite.yaml", f"name: faults\nversion: 1\ntasks:\n{tasks}\n")


def _run(tmp_path: Path, entry: str, suite: Path, env: dict | None = None, args: tuple[str, ...] = ()):
    models = write(tmp_path / "models.yaml", "models:\n" + entry)
    out = tmp_path / "out"
    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        proc = run_cli("run", "--models", str(models), "--suite", str(suite), "--out", str(out),
                       "--report-dir", str(tmp_path / "reports"), *args)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    (run_dir,) = out.iterdir()
    return proc, run_dir, read_records(run_dir / "records.jsonl")


def test_anthropic_stream_usage_and_cost_match_genai_prices(tmp_path):
    usage = {"input_tokens": 25, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 50, "output_tokens": 15}
    with FakeAPI(usage=usage) as api:
        entry = (f"  - {{name: haiku, kind: anthropic, base_url: '{api.base_url}', model: claude-haiku-4-5,"
                 f" api_key_env: HARNESS_TEST_ANTHROPIC_KEY}}\n")
        proc, _, records = _run(tmp_path, entry, _suite(tmp_path, 2), {"HARNESS_TEST_ANTHROPIC_KEY": "sk-ant-test"})
        headers = api.requests[0]["headers"]
        assert "sk-ant-test" in (headers.get("x-api-key", ""), headers.get("authorization", "").removeprefix("Bearer "))
    assert proc.returncode == 0, proc.stderr
    for record in records:
        assert record["output_text"] == "The answer is 42." and record["finish_reason"] == "end_turn"
        assert (record["input_tokens"], record["cache_read_tokens"], record["cache_write_tokens"],
                record["output_tokens"]) == (175, 100, 50, 15)
        assert record["input_tokens_source"] == record["output_tokens_source"] == "provider"
        reference = calc_price(Usage(input_tokens=175, cache_read_tokens=100, cache_write_tokens=50, output_tokens=15),
                               "claude-haiku-4-5", provider_id="anthropic",
                               genai_request_timestamp=dt.datetime.fromisoformat(record["started_at"]))
        assert record["cost_usd"] == pytest.approx(float(reference.total_price), rel=1e-12)
        assert record["prices"]["source"].startswith("genai-prices ") and "anthropic/claude-haiku-4-5" in record["prices"]["source"]


def test_openai_usage_with_cached_and_reasoning_tokens_priced_like_genai_prices(tmp_path):
    usage = {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150,
             "prompt_tokens_details": {"cached_tokens": 64}, "completion_tokens_details": {"reasoning_tokens": 10}}
    with FakeAPI(usage=usage) as api:
        entry = (f"  - {{name: mini, kind: openai, provider: openai, base_url: '{api.base_url}/v1', model: gpt-5-mini,"
                 f" api_key_env: HARNESS_TEST_OPENAI_KEY}}\n")
        proc, _, records = _run(tmp_path, entry, _suite(tmp_path, 2), {"HARNESS_TEST_OPENAI_KEY": "sk-test"})
        body = api.requests[0]["body"]
    assert proc.returncode == 0, proc.stderr
    assert body["stream_options"] == {"include_usage": True} and body["max_completion_tokens"] == 16
    for record in records:
        assert (record["input_tokens"], record["cache_read_tokens"], record["output_tokens"],
                record["reasoning_tokens"]) == (120, 64, 30, 10)
        reference = calc_price(Usage(input_tokens=120, cache_read_tokens=64, output_tokens=30), "gpt-5-mini",
                               provider_id="openai",
                               genai_request_timestamp=dt.datetime.fromisoformat(record["started_at"]))
        assert record["cost_usd"] == pytest.approx(float(reference.total_price), rel=1e-12)


def test_unknown_price_leaves_cost_unknown_and_warns_once(tmp_path):
    with FakeAPI(usage={"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}) as api:
        entry = f"  - {{name: house, kind: openai, base_url: '{api.base_url}/v1', model: in-house-7b}}\n"
        proc, _, records = _run(tmp_path, entry, _suite(tmp_path, 3))
    assert proc.returncode == 0
    assert all(r["cost_usd"] is None and r["prices"] is None for r in records)
    assert proc.stderr.count("no price for model 'house'") == 1


# the load generator on one client process: a re-run with more (a flagged level) would replay the script
@pytest.mark.parametrize("args", [(), ("--profile", "synchronous", "--client-processes", "1")],
                         ids=["one-at-a-time", "load-generator"])
def test_api_key_never_reaches_results_or_output(tmp_path, args):
    secret = "sk-live-DO-NOT-LEAK-7c1f9a2b"
    with FakeAPI([{"do": "echo_key"}], usage={"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}) as api:
        entry = (f"  - {{name: leaky, kind: openai, provider: openai, base_url: '{api.base_url}/v1',"
                 f" model: gpt-5-mini, api_key_env: HARNESS_TEST_SECRET_KEY}}\n")
        proc, run_dir, records = _run(tmp_path, entry, _suite(tmp_path, 2), {"HARNESS_TEST_SECRET_KEY": secret}, args)
        assert api.requests[0]["headers"]["authorization"] == f"Bearer {secret}"   # the key was really used
    assert records[0]["error"]["error_class"] == "auth" and "***" in records[0]["error"]["message"]
    assert records[1]["error"] is None
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert secret not in path.read_text(errors="replace"), path
    assert secret not in proc.stdout and secret not in proc.stderr
    # The report and its exports carry the error messages too; Parquet compresses text, so read it as a table.
    reports = {path.name.split(".", 1)[1]: path for path in (tmp_path / "reports").iterdir()}
    assert set(reports) == {"html", "summary.csv", "records.csv", "records.parquet"}, reports
    for kind in ("html", "summary.csv", "records.csv"):
        text = reports[kind].read_text()
        assert secret not in text, kind
    assert "invalid key Bearer ***" in reports["html"].read_text()   # the error is shown, redacted
    table = pd.read_parquet(reports["records.parquet"])
    assert len(table) == 2 and "auth" in set(table["error_class"])
    assert not table.astype(str).apply(lambda column: column.str.contains(secret, regex=False)).any().any()


def test_concurrency_limit_per_endpoint(tmp_path):
    with FakeAPI(usage={"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}, delay_s=0.3) as api:
        entry = f"  - {{name: wide, kind: openai, base_url: '{api.base_url}/v1', model: m, concurrency: 3}}\n"
        proc, _, records = _run(tmp_path, entry, _suite(tmp_path, 9))
    assert proc.returncode == 0, proc.stderr
    assert api.max_in_flight == 3                  # overlapping, and never more than the limit
    assert sorted(r["task_id"] for r in records) == sorted(f"t{i}" for i in range(1, 10))
    assert all(r["error"] is None for r in records)


def test_judge_checker_grades_with_the_judge_model_and_keeps_its_cost_apart(tmp_path):
    usage = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
    suite = write(tmp_path / "judged.yaml", """
        name: judged
        version: 1
        tasks:
          - {id: j1, prompt: "Name a primary colour.", max_tokens: 16, checker: {kind: judge, rubric: "Names red, yellow or blue."}}
          - {id: j2, prompt: "Name another primary colour.", max_tokens: 16, checker: {kind: judge, rubric: "Names red, yellow or blue."}}
        """)
    with FakeAPI(usage=usage, answer=["Red", "."]) as answerer, \
            FakeAPI(usage=usage, answer=["It names red.", "\nPASS"]) as grader:
        price = "cost: {input_usd_per_mtok: 1.0, output_usd_per_mtok: 2.0, source: test, as_of: 2026-12-01}"
        models = write(tmp_path / "models.yaml", f"""
            models:
              - {{name: answerer, kind: openai, base_url: '{answerer.base_url}/v1', model: a, {price}}}
              - {{name: grader, kind: openai, base_url: '{grader.base_url}/v1', model: g, {price}}}
            """)
        proc = run_cli("run", "--models", str(models), "--suite", str(suite), "--only", "answerer",
                       "--judge", "grader", "--out", str(tmp_path / "out"))
        grading_prompt = grader.requests[0]["body"]["messages"][0]["content"]
        without = run_cli("run", "--models", str(models), "--suite", str(suite), "--only", "answerer",
                          "--out", str(tmp_path / "out2"))
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (tmp_path / "out").iterdir()
    records = read_records(run_dir / "records.jsonl")
    assert [r["verdict"] for r in records] == ["correct", "correct"]
    assert "Name a primary colour." in grading_prompt and "Answer to grade:\nRed." in grading_prompt
    for record in records:
        assert record["cost_usd"] == pytest.approx((100 * 1.0 + 20 * 2.0) / 1e6)          # the answerer's own
        assert record["judge"]["model"] == "grader" and record["judge"]["cost_usd"] == pytest.approx(140 / 1e6)
    assert without.returncode == 0
    (run_dir,) = (tmp_path / "out2").iterdir()
    assert {r["verdict"] for r in read_records(run_dir / "records.jsonl")} == {"error"}

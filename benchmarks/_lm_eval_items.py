"""The items of the lm-eval conformance comparison (`vs_lm_eval.py`), written as a Hugging Face Hub cache in
the real on-disk layout, so that lm-eval (`datasets.load_dataset(path, name)`) and the harness (its pinned
revisions) read the same rows offline.

- openai/gsm8k, config `main`: 12 train rows (the exemplar pool) and 4 test rows, in GSM8K's format.
- cais/mmlu: configs `all` (what the harness loads) and one per subject (what lm-eval loads), each with
  test, validation and dev shards: 3 subjects, 2 test and 5 dev questions each.
- google/IFEval: one JSONL file, no configs (as published), 4 prompts with 1-3 instructions each.
Layout: `datasets--OWNER--NAME/{blobs/<sha256>, snapshots/<commit>/<file> -> blob, refs/main}`.
"""

# ruff: noqa: ISC004 - long item texts are written as implicitly joined lines inside tuples

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

GSM8K_REVISION = "740312add88f781978c0658806c59bc2815b9866"
MMLU_REVISION = "c30699e8356da336a370243923dbaf21066bb9fe"
IFEVAL_REVISION = "966cd89545d6b6acfd7638bc708b98261ca58e84"

GSM8K_TEST = [
    ("Janet's ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her "
     "friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck "
     "egg. How much in dollars does she make every day at the farmers' market?",
     "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\nShe makes 9 * 2 = $<<9*2=18>>18 every day at the "
     "farmer's market.\n#### 18"),
    ("A robe takes 2 bolts of blue fiber and half that much white fiber. How many bolts in total does it take?",
     "It takes 2/2=<<2/2=1>>1 bolt of white fiber\nSo the total amount of fabric is 2+1=<<2+1=3>>3 bolts of "
     "fabric\n#### 3"),
    ("James decides to run 3 sprints 3 times a week. He runs 60 meters each sprint. How many total meters does "
     "he run a week?", "He sprints 3*3=<<3*3=9>>9 times\nSo he runs 9*60=<<9*60=540>>540 meters\n#### 540"),
    ("Kylar went to the store to buy glasses for his new apartment. One glass costs $5, but every second glass "
     "costs only 60% of the price. Kylar wants to buy 16 glasses. How much does he need to pay for them?",
     "The discount price of one glass is 60/100 * 5 = $<<60/100*5=3>>3.\nIf every second glass is cheaper, that "
     "means Kylar is going to buy 16 / 2 = <<16/2=8>>8 cheaper glasses.\nSo for the cheaper glasses, Kylar is "
     "going to pay 8 * 3 = $<<8*3=24>>24.\nAnd for the regular-priced glasses, Kylar will pay 8 * 5 = "
     "$<<8*5=40>>40.\nSo in total Kylar needs to pay 24 + 40 = $<<24+40=64>>64 for the glasses he wants to "
     "buy.\n#### 64"),
]
GSM8K_TRAIN = [
    ("Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many "
     "clips did Natalia sell altogether in April and May?",
     "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips altogether in "
     "April and May.\n#### 72"),
    ("Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting. How much did "
     "she earn?", "Weng earns 12/60 = $<<12/60=0.2>>0.2 per minute.\nWorking 50 minutes, she earned 0.2 x 50 = "
     "$<<0.2*50=10>>10.\n#### 10"),
    ("Julie is reading a 120-page book. Yesterday, she was able to read 12 pages and today, she read twice as "
     "many pages as yesterday. If she wants to read half of the remaining pages tomorrow, how many pages should "
     "she read?", "Maila read 12 x 2 = <<12*2=24>>24 pages today.\nSo she was able to read a total of 12 + 24 = "
     "<<12+24=36>>36 pages since yesterday.\nThere are 120 - 36 = <<120-36=84>>84 pages left to be read.\nSince "
     "she wants to read half of the remaining pages tomorrow, then she should read 84/2 = <<84/2=42>>42 pages."
     "\n#### 42"),
    ("James writes a 3-page letter to 2 different friends twice a week. How many pages does he write a year?",
     "He writes each friend 3*2=<<3*2=6>>6 pages a week\nSo he writes 6*2=<<6*2=12>>12 pages every week\nThat "
     "means he writes 12*52=<<12*52=624>>624 pages a year\n#### 624"),
] + [(f"Tom has {3 + i} apples and buys {10 + 2 * i} more. How many apples does he have?",
      f"Tom has {3 + i} + {10 + 2 * i} = <<{3 + i}+{10 + 2 * i}={13 + 3 * i}>>{13 + 3 * i} apples.\n"
      f"#### {13 + 3 * i}") for i in range(8)]

MMLU_SUBJECTS = ("abstract_algebra", "anatomy", "philosophy")
MMLU_TEST = {
    "abstract_algebra": [("Find the order of the factor group Z_6/<3>.", ["2", "3", "6", "12"], 1),
                         ("Which of these is a field?", ["Z_4", "Z_6", "Z_7", "Z_8"], 2)],
    "anatomy": [("Which bone is in the upper arm?", ["femur", "humerus", "tibia", "skull"], 1),
                ("The heart has how many chambers?", ["two", "three", "four", "five"], 2)],
    "philosophy": [("Who wrote the Republic?", ["Aristotle", "Plato", "Kant", "Hume"], 1),
                   (" The categorical imperative is a concept of ", ["Hume", "Mill", "Kant", "Locke"], 2)],
}
MMLU_DEV = {subject: [(f"Practice question {i} about {subject.replace('_', ' ')}?",
                       [f"option {c} of {i}" for c in "wxyz"], i % 4) for i in range(5)]
            for subject in MMLU_SUBJECTS}

IFEVAL_ROWS = [
    {"key": 1000, "prompt": "Write a haiku about the sea in lowercase letters only.",
     "instruction_id_list": ["change_case:english_lowercase"], "kwargs": [{}]},
    {"key": 1001, "prompt": "Describe a cat in at least 40 words. Do not use any commas.",
     "instruction_id_list": ["length_constraints:number_words", "punctuation:no_comma"],
     "kwargs": [{"relation": "at least", "num_words": 40}, {}]},
    {"key": 1005, "prompt": "Answer with exactly 3 bullet points: why sleep matters. Use markdown bullet points "
     "such as:\n* This is a point.", "instruction_id_list": ["detectable_format:number_bullet_lists"],
     "kwargs": [{"num_bullets": 3}]},
    {"key": 1012, "prompt": "Write a short note to a friend. Wrap your entire response with double quotation "
     "marks and end it with the exact phrase \"Is there anything else I can help with?\".",
     "instruction_id_list": ["startend:quotation", "startend:end_checker"],
     "kwargs": [{}, {"end_phrase": "Is there anything else I can help with?"}]},
]


def _parquet(columns: dict[str, list]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table(columns), buffer)
    return buffer.getvalue()


def _put_repo(hub: Path, repo: str, revision: str, files: dict[str, bytes]) -> None:
    folder = hub / f"datasets--{repo.replace('/', '--')}"
    for relative, data in files.items():
        blob = folder / "blobs" / hashlib.sha256(data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = folder / "snapshots" / revision / relative
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (folder / "refs").mkdir(parents=True, exist_ok=True)
    (folder / "refs" / "main").write_text(revision)


def _card(configs: dict[str, tuple[str, ...]], title: str) -> bytes:
    body = "".join(f"- config_name: {name}\n  data_files:\n" + "".join(
        f"  - split: {split}\n    path: {name}/{split}-*\n" for split in splits) for name, splits in configs.items())
    return f"---\nlicense: mit\nconfigs:\n{body}---\n# {title}\n".encode()


def _mmlu_columns(subjects: tuple[str, ...], table: dict[str, list]) -> dict[str, list]:
    rows = [(q, s, c, a) for s in subjects for q, c, a in table[s]]
    return {"question": [r[0] for r in rows], "subject": [r[1] for r in rows], "choices": [r[2] for r in rows],
            "answer": [r[3] for r in rows]}


def build_cache(hub: Path) -> Path:
    """Write the three datasets into `hub` (an HF_HUB_CACHE folder); returns it."""
    gsm8k: dict[str, Any] = {"README.md": _card({"main": ("train", "test")}, "GSM8K (a few items, real layout)")}
    for split, rows in (("train", GSM8K_TRAIN), ("test", GSM8K_TEST)):
        gsm8k[f"main/{split}-00000-of-00001.parquet"] = _parquet({"question": [q for q, _ in rows],
                                                                  "answer": [a for _, a in rows]})
    _put_repo(hub, "openai/gsm8k", GSM8K_REVISION, gsm8k)
    splits = ("test", "validation", "dev")
    mmlu: dict[str, Any] = {"README.md": _card(dict.fromkeys(("all", *MMLU_SUBJECTS), splits),
                                               "MMLU (a few items, real layout)")}
    for name in ("all", *MMLU_SUBJECTS):
        subjects = MMLU_SUBJECTS if name == "all" else (name,)
        for split in splits:
            table = MMLU_DEV if split in ("dev", "validation") else MMLU_TEST
            mmlu[f"{name}/{split}-00000-of-00001.parquet"] = _parquet(_mmlu_columns(subjects, table))
    _put_repo(hub, "cais/mmlu", MMLU_REVISION, mmlu)
    ifeval = {"README.md": b"---\nlicense: apache-2.0\n---\n# IFEval (a few items, real layout: one JSONL file)\n",
              "ifeval_input_data.jsonl": "".join(json.dumps(r) + "\n" for r in IFEVAL_ROWS).encode()}
    _put_repo(hub, "google/IFEval", IFEVAL_REVISION, ifeval)
    return hub


def go_offline(hf_home: Path) -> None:
    """Point the Hub and datasets libraries at `hf_home`, offline (also when they were imported already)."""
    os.environ.update({"HF_HOME": str(hf_home), "HF_HUB_CACHE": str(hf_home / "hub"), "HF_HUB_OFFLINE": "1",
                       "HF_DATASETS_OFFLINE": "1", "HF_DATASETS_CACHE": str(hf_home / "datasets")})
    import datasets.config
    import huggingface_hub.constants

    huggingface_hub.constants.HF_HUB_CACHE = str(hf_home / "hub")
    huggingface_hub.constants.HF_HUB_OFFLINE = True
    datasets.config.HF_DATASETS_CACHE = Path(hf_home / "datasets")
    datasets.config.HF_HUB_OFFLINE = True


# What `datasets.load_dataset(repo, config)` prepares on its first, online load: (repo, config, split -> files).
PREPARED = [("openai/gsm8k", GSM8K_REVISION, "main", {"train": ["main/train-*"], "test": ["main/test-*"]}),
            *[("cais/mmlu", MMLU_REVISION, name, {s: [f"{name}/{s}-*"] for s in ("test", "validation", "dev")})
              for name in ("all", *MMLU_SUBJECTS)],
            ("google/IFEval", IFEVAL_REVISION, None, {"train": ["ifeval_input_data.jsonl"]})]


def prepare_datasets_cache(hf_home: Path) -> None:
    """Fill HF_DATASETS_CACHE as a first online `load_dataset(repo, config)` leaves it: the Arrow files and
    dataset_info.json that datasets' own packaged builder (parquet, json) writes from the snapshot's files,
    under `OWNER___NAME/CONFIG/0.0.0/COMMIT`. Offline, `datasets` finds a Hub dataset by its name only there
    (CachedDatasetModuleFactory); the Hub API it would ask online cannot be reached from here."""
    import shutil

    from datasets.naming import camelcase_to_snakecase
    from datasets.packaged_modules.json.json import Json
    from datasets.packaged_modules.parquet.parquet import Parquet

    scratch = hf_home / "prepare"
    for repo, revision, config, patterns in PREPARED:
        folder = hf_home / "hub" / f"datasets--{repo.replace('/', '--')}" / "snapshots" / revision
        files = {split: [str(p) for pattern in globs for p in sorted(folder.glob(pattern))]
                 for split, globs in patterns.items()}
        builder_cls = Json if next(iter(patterns.values()))[0].endswith(".jsonl") else Parquet
        name = repo.split("/")[-1]
        builder = builder_cls(cache_dir=str(scratch), dataset_name=name, config_name=config or "default",
                              data_files=files, hash=revision)
        builder.download_and_prepare()
        owner = repo.split("/")[0]
        target = (hf_home / "datasets" / f"{owner}___{camelcase_to_snakecase(name)}" / (config or "default")
                  / str(builder.config.version))
        target.mkdir(parents=True, exist_ok=True)
        shutil.move(builder.cache_dir, target / revision)
    shutil.rmtree(scratch, ignore_errors=True)

"""Dataset-backed suites: the Hub benchmarks read offline from a Hugging Face cache in its real layout (through
the real `datasets` and `huggingface_hub`), local data files, selection (--limit, --sample, --subject,
--shots) and what it does to the content hash, HumanEval from its package, and the errors a user sees."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from harness.errors import InputError, SuiteError
from harness.suites import load_suite, reload_suite
from harness.suites.dataset_rows import DatasetUnavailable
from harness.suites.selection import Selection
from tests.support.dataset_files import LOCAL_SUITE
from tests.support.hub_cache import GSM8K_REVISION, IFEVAL_ROWS, MMLU_TEST_SUBJECTS, build_hub_cache, offline_env
from tests.support.runs import REPO, write

BENCHMARKS = REPO / "harness" / "suites" / "datasets"


@pytest.fixture
def hf_home(tmp_path, monkeypatch):
    """A Hugging Face home holding the small datasets, offline; the libraries' import-time constants follow."""
    import datasets.config
    import huggingface_hub.constants

    home = tmp_path / "hf"
    build_hub_cache(home / "hub", gsm8k_revisions=(GSM8K_REVISION, "ab" * 20))
    for key, value in offline_env(home).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", Path(home / "datasets"))
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    return home


def test_gsm8k_five_shot_from_the_cache(hf_home):
    suite = load_suite("gsm8k")
    assert len(suite.tasks) == 9 and suite.n_total == 9
    assert suite.dataset["dataset"] == "openai/gsm8k" and suite.dataset["revision"] == GSM8K_REVISION
    assert suite.dataset["split"] == "test" and suite.dataset["shots"] == 5 and suite.dataset["licence"] == "MIT"
    task = suite.tasks[0]
    assert task.expected.endswith("#### 13") and task.checker.kind == "gsm8k"
    # Chat: five exemplar turns (train questions, full worked answers), then the question.
    assert [m.role for m in task.messages] == ["user", "assistant"] * 5 + ["user"]
    assert all("####" in m.content for m in task.messages if m.role == "assistant")
    assert "Tom has 3 apples" in task.messages[-1].content
    # Completion: lm-evaluation-harness's "Question: ...\nAnswer: ..." blocks, stopped at the next question.
    text, stop = task.completion_prompt()
    assert text.count("Question:") == 6 and text.endswith("How many apples does he have?\nAnswer:")
    assert stop == ["Question:", "</s>", "<|im_end|>"]
    # Exemplars are drawn with the seed, per item: another item gets others, a reload the same.
    assert suite.tasks[1].messages[:10] != task.messages[:10]
    assert load_suite("gsm8k").sha256 == suite.sha256


def test_zero_shot_is_one_message_and_another_hash(hf_home):
    five, zero = load_suite("gsm8k"), load_suite("gsm8k", Selection(shots=0))
    assert len(zero.tasks[0].messages) == 1 and zero.tasks[0].completion_prompt()[0].count("Question:") == 1
    assert zero.dataset["shots"] == 0 and zero.sha256 != five.sha256
    assert zero.tasks[0].expected == five.tasks[0].expected


def test_mmlu_same_subject_exemplars_letters_and_categories(hf_home):
    suite = load_suite("mmlu")
    assert len(suite.tasks) == sum(MMLU_TEST_SUBJECTS.values())
    by_id = {t.id: t for t in suite.tasks}
    task = by_id["philosophy-00009"]
    assert task.category == "philosophy" and task.group == "humanities" and task.expected == "D"
    assert by_id["anatomy-00011"].group == "other" and by_id["abstract_algebra-00000"].group == "STEM"
    text, stop = task.completion_prompt()
    assert text.startswith("The following are multiple choice questions (with answers) about philosophy.\n\n")
    assert text.count("dev question") == 5 and "abstract algebra" not in text.split("\n\n", 1)[1]
    assert "dev question 0 about philosophy?\nA. philosophy option w" in text and stop == ["</s>", "\n"]
    assert text.endswith("D. philosophy option z\nAnswer:")
    assert [m.content for m in task.messages if m.role == "assistant"] == ["A", "B", "C", "D", "A"]
    # The chat form as lm-eval's --apply_chat_template builds it: the description as a system turn, the same
    # stop strings sent.
    assert task.messages[0].role == "system" and task.messages[1].content.startswith("dev question 0")
    assert task.messages[0].content == "The following are multiple choice questions (with answers) about philosophy.\n\n"
    assert task.chat_stop == ["</s>", "\n"] and task.messages[-1].content == text.rsplit("\n\n", 1)[1]


def test_mmlu_subject_filter_and_stratified_sample(hf_home):
    only = load_suite("mmlu", Selection(subjects=("anatomy",)))
    assert {t.category for t in only.tasks} == {"anatomy"} and only.n_total == 2
    sample = load_suite("mmlu", Selection(sample=6, seed=7))
    assert Counter(t.category for t in sample.tasks) == {"abstract_algebra": 3, "philosophy": 2, "anatomy": 1}
    assert sample.n_total == 12 and sample.selection["sample"] == 6
    with pytest.raises(InputError, match="'ethics' is not a subject of mmlu"):
        load_suite("mmlu", Selection(subjects=("ethics",)))


def test_sampling_is_deterministic_and_changes_the_hash(hf_home):
    full = load_suite("gsm8k")
    a, b = load_suite("gsm8k", Selection(sample=4, seed=1)), load_suite("gsm8k", Selection(sample=4, seed=1))
    c = load_suite("gsm8k", Selection(sample=4, seed=2))
    assert [t.id for t in a.tasks] == [t.id for t in b.tasks] and a.sha256 == b.sha256
    assert [t.id for t in a.tasks] != [t.id for t in c.tasks] and a.sha256 != c.sha256 != full.sha256
    # An item keeps its own exemplars whatever else the selection took.
    whole = {t.id: t for t in full.tasks}
    assert all(t.messages == whole[t.id].messages for t in a.tasks)
    limited = load_suite("gsm8k", Selection(limit=3))
    assert [t.id for t in limited.tasks] == ["00000", "00001", "00002"] and limited.n_total == 9
    # The manifest's record of the suite rebuilds exactly it (what --resume and the report do).
    info = {"source": a.source, "selection": a.selection}
    assert reload_suite(info).sha256 == a.sha256


def test_hash_covers_revision_and_template(hf_home, tmp_path):
    original = (BENCHMARKS / "gsm8k.yaml").read_text()
    other_revision = write(tmp_path / "gsm8k.yaml", original.replace(GSM8K_REVISION, "ab" * 20))
    other_template = write(tmp_path / "gsm8k-t.yaml", original.replace('chat: "Question: {{ question }}',
                                                                         'chat: "Q: {{ question }}'))
    base = load_suite("gsm8k")
    moved = load_suite(str(other_revision))
    assert moved.dataset["revision"] == "ab" * 20 and moved.tasks == base.tasks and moved.sha256 != base.sha256
    assert load_suite(str(other_template)).sha256 != base.sha256


def test_ifeval_rows_become_official_checker_tasks(hf_home):
    suite = load_suite("ifeval")
    assert [t.id for t in suite.tasks] == [str(r["key"]) for r in IFEVAL_ROWS]
    task = suite.tasks[1]
    assert task.expected["instruction_id_list"] == IFEVAL_ROWS[1]["instruction_id_list"]
    assert task.expected["prompt"] == IFEVAL_ROWS[1]["prompt"] and task.checker.kind == "ifeval_official"
    assert task.messages[-1].content == IFEVAL_ROWS[1]["prompt"]
    assert task.completion_prompt() == (IFEVAL_ROWS[1]["prompt"], [])  # no stop string cuts a long answer
    assert task.expected["kwargs"][0]["num_words"] == 40


def test_humaneval_ships_with_its_package():
    suite = load_suite("humaneval")
    assert len(suite.tasks) == 164 and suite.dataset["licence"] == "MIT"
    task = suite.tasks[0]
    assert task.id == "HumanEval-0" and set(task.expected) == {"prompt", "test", "entry_point", "task_id"}
    assert task.completion_prompt() == (task.expected["prompt"], ["\nclass", "\ndef", "\n#", "\nif", "\nprint"])
    assert task.expected["prompt"] in task.messages[0].content


def test_a_missing_dataset_names_itself_and_the_fetch_command(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DatasetUnavailable, match=r"dataset cais/mmlu \(revision c30699e8356d\) is not in the "
                                                 r"Hugging Face cache.*harness fetch mmlu"):
        load_suite("mmlu")




@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "csv"])
def test_a_suite_over_local_files(tmp_path, fmt):
    import pandas as pd

    frame = pd.DataFrame({"country": ["France", "Peru", "Japan"], "capital": ["Paris", "Lima", "Tokyo"]})
    data = tmp_path / f"capitals.{fmt}"
    {"parquet": lambda: frame.to_parquet(data), "jsonl": lambda: frame.to_json(data, orient="records", lines=True),
     "csv": lambda: frame.to_csv(data, index=False)}[fmt]()
    suite = load_suite(str(write(tmp_path / "capitals.yaml", LOCAL_SUITE.replace("DATA", data.name))))
    assert [t.id for t in suite.tasks] == ["france", "peru", "japan"]
    assert suite.tasks[1].expected == "Lima" and suite.tasks[1].completion_prompt()[1] == []
    assert suite.tasks[1].messages[0].content == "What is the capital of Peru? One word."


@pytest.mark.parametrize(("change", "message"), [
    (("{{ country }}?", "{{ nation }}?"), r"capitals.yaml: key 'prompt.chat': 'nation' is undefined"),
    (("expected: capital", "expected: city"), r"capitals.yaml: key 'expected': the rows have no field 'city'"),
    (("max_tokens: 8", "max_tokens: 8\nshots: 3"), r"capitals.yaml: key 'shots': unknown key"),
    (("checker: exact", "checker: {kind: exact, tolerance: 1}"), r"capitals.yaml: task 'france': checker exact"),
    (("source: {files: [DATA]}", "source: {hub: a/b, revision: main, split: test}"),
     r"capitals.yaml: key 'source.hub.revision'"),
    (("source: {files: [DATA]}", "source: {files: [gone.csv]}"), r"gone.csv: data file not found"),
])
def test_dataset_suite_errors_name_file_and_key(tmp_path, change, message):
    data = tmp_path / "capitals.jsonl"
    data.write_text('{"country": "France", "capital": "Paris"}\n')
    text = LOCAL_SUITE.replace(*change).replace("DATA", data.name)
    with pytest.raises((SuiteError, InputError), match=message):
        load_suite(str(write(tmp_path / "capitals.yaml", text)))

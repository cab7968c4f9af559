"""Benchmark figures from records: named scores aggregated by type with intervals, the sample size, MMLU by
category and subject, and the report's benchmark section over a run folder."""

from __future__ import annotations

import json

import pytest

from harness.analysis.scores import sample_label, score_metrics, subject_breakdown
from harness.report import build_report

MS = 1_000_000
SUITE = {"name": "ifeval", "sha256": "a" * 64, "source": "x.yaml", "version": 1, "n_tasks": 4, "n_total": 541,
         "selection": {"limit": None, "sample": 4, "seed": 3, "shots": None, "subjects": None},
         "dataset": {"dataset": "google/IFEval", "config": None, "revision": "966cd89545d6" + "0" * 28,
                     "split": "train", "licence": "Apache-2.0", "n_items": 541, "shots": 0}}


def _record(model: str, task: str, verdict: str, scores: dict | None, suite: str = "ifeval", subject=None,
            group=None, repetition: int = 0, cost: float = 0.001, checker: str = "ifeval_official") -> dict:
    return {"schema": 1, "run_id": "r", "model": model, "suite": suite, "suite_sha256": "a" * 64, "task_id": task,
            "repetition": repetition, "subject": subject, "subject_group": group, "error": None, "verdict": verdict,
            "scores": scores, "chunk_offsets_ns": [100 * MS, 120 * MS], "chunk_chars": [3, 4],
            "end_offset_ns": 150 * MS, "input_tokens": 20, "output_tokens": 2, "cost_usd": cost, "energy": None,
            "output_text": "x", "expected": None, "checker": checker, "started_at": None}


def _ifeval_records() -> list[dict]:
    # Task t1 has 3 instructions, the others 1: instruction-level accuracy pools them (4 of 6), prompt-level
    # averages tasks (1 of 4 all followed).
    return [
        _record("a", "t1", "correct", {"prompt_strict": True, "inst_strict": [True, True, True]}),
        _record("a", "t2", "incorrect", {"prompt_strict": False, "inst_strict": [False]}),
        _record("a", "t3", "incorrect", {"prompt_strict": False, "inst_strict": [True]}),
        _record("a", "t4", "incorrect", {"prompt_strict": False, "inst_strict": [False]}),
    ]


def test_scores_aggregate_by_type_with_intervals():
    rows = {r["metric"]: r for r in score_metrics(_ifeval_records(), {"suites": [SUITE]}).to_dict("records")}
    assert rows["accuracy"]["value"] == pytest.approx(0.25)
    assert rows["prompt_strict"]["value"] == pytest.approx(0.25)
    assert rows["inst_strict"]["value"] == pytest.approx(4 / 6), "a list of bools is pooled, not averaged per task"
    for row in rows.values():
        assert row["ci_low"] <= row["value"] <= row["ci_high"] and row["n_tasks"] == 4
        assert (row["n_selected"], row["n_total"]) == (4, 541)
    assert sample_label(4, 541) == "sample of 4 of 541" and sample_label(164, 164) == "164 items"


def test_repetitions_are_combined_inside_a_task_first():
    records = [_record("a", "t1", "correct", {"pass": True}, repetition=0, checker="humaneval"),
               _record("a", "t1", "incorrect", {"pass": False}, repetition=1, checker="humaneval"),
               _record("a", "t2", "correct", {"pass": True}, repetition=0, checker="humaneval"),
               _record("a", "t2", "correct", {"pass": True}, repetition=1, checker="humaneval")]
    rows = {r["metric"]: r for r in score_metrics(records, {"suites": []}).to_dict("records")}
    # HumanEval's verdict is named pass@1; its `pass` score, the same figure, is not listed twice.
    assert rows["pass@1"]["value"] == pytest.approx(0.75) and rows["pass@1"]["n_tasks"] == 2 and "pass" not in rows
    # pass@2 from 2 samples per problem: t1 (1 of 2 passed) -> 1, t2 -> 1 (Chen et al.'s estimator).
    assert rows["pass@2"]["value"] == pytest.approx(1.0) and "pass@5" not in rows


def test_humaneval_through_chat_is_labelled_as_the_harness_protocol():
    records = [_record("a", "t1", "correct", {"pass": True}, checker="humaneval")]
    for style, metric in (("chat", "pass@1 (harness chat protocol)"), ("completion", "pass@1")):
        manifest = {"suites": [], "models": {"a": {"config": {"prompt_style": style}}}}
        assert score_metrics(records, manifest)["metric"].tolist() == [metric]


def test_pass_at_k_follows_the_unbiased_estimator():
    # 5 samples per problem: p1 passes 1 of 5, p2 none. pass@2(p1) = 1 - C(4,2)/C(5,2) = 1 - 6/10 = 0.4.
    records = [_record("a", p, "correct" if (p == "p1" and r == 0) else "incorrect", {"pass": p == "p1" and r == 0},
                       repetition=r, checker="humaneval") for p in ("p1", "p2") for r in range(5)]
    rows = {r["metric"]: r for r in score_metrics(records, {"suites": []}).to_dict("records")}
    assert rows["pass@1"]["value"] == pytest.approx(0.1)
    assert rows["pass@2"]["value"] == pytest.approx(0.4 / 2) and rows["pass@5"]["value"] == pytest.approx(0.5)


def test_mmlu_accuracy_by_category_and_subject():
    records = [_record("a", f"s{i}", "correct" if i < 3 else "incorrect", None, suite="mmlu", subject=subject,
                       group=group)
               for i, (subject, group) in enumerate([("anatomy", "other"), ("philosophy", "humanities"),
                                                     ("virology", "other"), ("virology", "other"),
                                                     ("philosophy", "humanities")])]
    table = subject_breakdown(records)
    groups = {r["name"]: r for r in table[table["by"] == "group"].to_dict("records")}
    assert groups["other"]["accuracy"] == pytest.approx(2 / 3) and groups["other"]["n_tasks"] == 3
    assert groups["humanities"]["accuracy"] == pytest.approx(0.5)
    subjects = {r["name"]: r["accuracy"] for r in table[table["by"] == "subject"].to_dict("records")}
    assert subjects == {"anatomy": 1.0, "philosophy": 0.5, "virology": 0.5}


def test_report_has_a_benchmark_section_with_sample_size_and_separation(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    records = _ifeval_records() + [
        _record("b", t, "correct", {"prompt_strict": True, "inst_strict": [True]}) for t in ("t1", "t2", "t3", "t4")]
    (run / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    manifest = {"run_id": "r", "suites": [{**SUITE, "scoring": ["ifeval_official: prompt_strict"]}], "models": {"a": {"kind": "llama_cpp"}, "b": {"kind": "llama_cpp"}},
                "skipped_models": {}, "host": {}, "settings": {}}
    (run / "run.json").write_text(json.dumps(manifest))
    html = build_report([run], tmp_path / "report.html")[0].read_text()
    assert "ifeval (aaaaaaaaaaaa, sample of 4 of 541)" in html.split("</p>", 1)[0]
    section = html.split("<details class='section' id='benchmarks'>", 1)[1].split("</details>", 1)[0]
    assert "google/IFEval · train · 966cd89545d6" in section and "sample of 4 of 541 (--sample 4 --seed 3)" in section
    assert "scored by ifeval_official: prompt_strict" in section
    assert "inst_strict" in section and "66.7%" in section and "prompt_strict" in section
    assert "a − b" in section and "$0.004" in section  # a: 4 tasks × $0.001 over 1 correct

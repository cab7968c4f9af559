"""The answer sentences and the terminal layout, from summary tables given by hand: which model each
sentence names and why, money units, and names wrapped (never cut) when the table must fit 80 columns."""

from __future__ import annotations


def test_summary_of_a_run_without_records_is_one_clear_line(tmp_path):
    from tests.support.runs import run_cli

    (tmp_path / "run.json").write_text('{"run_id": "x", "models": {}, "suites": []}')
    (tmp_path / "records.jsonl").write_text("")
    proc = run_cli("summary", str(tmp_path))
    assert proc.returncode == 2 and proc.stderr.strip() == (
        f"error: {tmp_path / 'records.jsonl'}: no request has finished in this run yet: nothing to summarise")
    missing = run_cli("summary", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "not a run folder" in missing.stderr

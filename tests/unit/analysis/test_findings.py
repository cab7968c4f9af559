"""The answer sentences and the terminal layout, from summary tables given by hand: which model each
sentence names and why, money units, and names wrapped (never cut) when the table must fit 80 columns."""

from __future__ import annotations

import pandas as pd
from rich.console import Console

from harness.analysis.findings import findings
from harness.cli.summary_tables import money_unit, summary_tables, wrap_name
from harness.cli.summary_view import break_even_matrix_table, break_even_matrix_tables


def _row(model: str, accuracy: float, cost: float | None, n: int = 40) -> dict:
    correct = round(accuracy * n)
    return {"model": model, "accuracy": accuracy, "accuracy_ci_low": accuracy - 0.1, "accuracy_ci_high": accuracy + 0.1,
            "n_correct": correct, "n_scored": n, "cost_usd_per_task": cost,
            "cost_usd_per_correct": None if cost is None else cost * n / correct,
            "cost_usd_per_correct_ci_low": None, "cost_usd_per_correct_ci_high": None, "n_errors": 0,
            "n_checker_errors": 0, "ttft_p50_s": 0.1, "ttft_p90_s": 0.2, "output_tok_per_s_p50": 50.0,
            "e2e_p50_s": 1.0, "input_tokens": 1000.0, "output_tokens": 500.0, "energy_j_per_task": 3.0,
            "energy_source": "estimated"}


def _pair(a: str, b: str, diff: float, low: float, high: float) -> dict:
    return {"model_a": a, "model_b": b, "difference": diff, "ci_low": low, "ci_high": high,
            "separated": low > 0 or high < 0, "n_tasks": 40}


def _break_even(local: str, api: str, api_cost: float, verdict: str, n: float | None, basis: str = "measured") -> dict:
    return {"local_model": local, "api_model": api, "api_cost_basis": basis, "api_cost_usd_per_task": api_cost,
            "local_cost_usd_per_task": 1e-5, "break_even_tasks_per_day": n, "capacity_tasks_per_day": 100_000.0,
            "verdict": verdict, "idle_capacity_usd_per_day": 0.5, "utilisation": 0.5, "energy_source": "estimated"}


SUMMARY = pd.DataFrame([_row("big-api", 0.80, 0.002), _row("mid-api", 0.75, 0.0005), _row("local-a", 0.40, 0.00001)])


SEPARATION = pd.DataFrame([_pair("big-api", "mid-api", 0.05, -0.05, 0.15),      # not separated
                           _pair("big-api", "local-a", 0.40, 0.25, 0.55),       # separated
                           _pair("mid-api", "local-a", 0.35, 0.2, 0.5)])


def test_most_accurate_and_the_cheapest_model_the_interval_does_not_separate_from_it():
    found = {f.kind: f for f in findings(SUMMARY, SEPARATION, pd.DataFrame())}
    assert found["most_accurate"].models == ["big-api"] and "80% correct (32/40" in found["most_accurate"].text
    cheapest = found["cheapest_equivalent"]
    assert cheapest.models == ["mid-api", "big-api"]          # local-a is cheaper but separated
    assert "$0.000500 per task" in cheapest.text and "paired difference −5 points" in cheapest.text
    separated = SEPARATION.assign(ci_low=[0.01, 0.25, 0.2], separated=True)
    alone = {f.kind: f for f in findings(SUMMARY, separated, pd.DataFrame())}["cheapest_equivalent"]
    assert alone.models == ["big-api"] and "itself" in alone.text


def test_each_local_model_against_the_cheapest_api_it_beats_projected_marked():
    comparison = pd.DataFrame([
        _break_even("local-a", "big-api", 0.002, "local cheaper above this volume", 1_234.0),
        _break_even("local-a", "cheap-api", 0.00002, "local cheaper above this volume", 45_678.0, "projected"),
        _break_even("local-a", "cheapest-api", 0.000001, "api cheaper at any volume", None),
        _break_even("local-b", "big-api", 0.002, "beyond one machine's capacity", 250_000.0),
    ])
    local = [f for f in findings(SUMMARY, SEPARATION, comparison) if f.kind == "local_vs_api"]
    assert [f.models for f in local] == [["local-a", "cheap-api"], ["local-b", "big-api"]]
    assert local[0].projected and "cheap-api*" in local[0].text and "45,700 tasks/day" in local[0].text
    assert "did not run" in local[0].text
    assert not local[1].projected and "beats no API" in local[1].text and "beyond one machine's capacity" in local[1].text
    table = break_even_matrix_table(comparison[comparison["local_model"] == "local-a"])
    assert [c.header for c in table.columns][2:] == ["local-a\ncap. 100k/day"] and table.row_count == 3
    console = Console(width=80, record=True, color_system=None)
    console.print(table)
    rows = [line for line in console.export_text().splitlines() if line.startswith("│")]
    assert [r.split("│")[1].strip() for r in rows] == ["cheapest-api", "cheap-api*", "big-api"]   # cheapest first
    assert [r.split("│")[3].strip() for r in rows] == ["never", "≥ 45.7k/day", "≥ 1.23k/day"]


def test_money_unit_keeps_three_significant_digits():
    assert money_unit([0.5, 2.0]).per == "task"
    assert money_unit([0.0000162, 0.000178]).per == "1M tasks"
    assert money_unit([0.0015, 0.02]).fmt(0.0015) == "$1.50"
    assert money_unit([0.0000162]).fmt(0.0000162) == "$16.2"
    assert money_unit([0.000001, 0.05]).fmt(0.05) == "$50,000"


def test_long_names_wrap_at_separators_and_every_table_fits_80_columns():
    assert wrap_name("smollm2-135m-instruct-q4_1", 14) == "smollm2-135m-\ninstruct-q4_1"
    assert wrap_name("abcdefghijklmnopqrstuvwxyz", 10).replace("\n", "") == "abcdefghijklmnopqrstuvwxyz"
    rows = [_row("an-extremely-long-model-name-for-one-gguf-file.q4_k_m", 0.5, 0.00002), _row("short", 0.4, 0.003)]
    console = Console(width=80, record=True, color_system=None)
    tables = summary_tables(rows, "Summary · t", console)
    assert len(tables) >= 2                       # split by group (and within a group when it is still too wide)
    assert {t.title.rsplit(" · ", 1)[1] for t in tables} == {"quality and cost", "speed and energy"}
    for table in tables:
        console.print(table)
    text = console.export_text()
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80
    wide = Console(width=200, record=True, color_system=None)
    assert len(summary_tables(rows, "Summary · t", wide)) == 1      # room for one table: not split


def test_a_break_even_matrix_too_wide_for_the_terminal_splits_its_local_columns():
    locals_ = [f"local-model-number-{i}-q4_k_m" for i in range(4)]
    comparison = pd.DataFrame([_break_even(local, api, cost, "beyond one machine's capacity", 123_456.0)
                               for local in locals_ for api, cost in (("api-one", 0.002), ("api-two", 0.0001))])
    console = Console(width=80, record=True, color_system=None)
    tables = break_even_matrix_tables(comparison, console)
    assert len(tables) > 1 and sum(len(t.columns) - 2 for t in tables) == 4
    for table in tables:
        console.print(table)
    text = console.export_text()
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80
    assert text.count("beyond cap. (123k)") == 8


def test_compact_counts_never_show_an_exponent():
    from harness.cli.summary_view import compact_count

    assert [compact_count(v) for v in (0.4, 950, 999.6, 7_700, 999_499, 999_600, 1.2e6)] == \
        ["0.4", "950", "1k", "7.7k", "999k", "1M", "1.2M"]

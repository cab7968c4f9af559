"""The default terminal summary in a real pseudo-terminal of 120 columns, on a run shaped like `make bench`
(3 local models, the 7 default API models projected, the smoke suite's first tasks): at most 40 lines after the
progress bars, no line wider than the terminal, nothing cut with an ellipsis, every model's name whole on one line,
and every headline figure of the summary CSV whole in its model's row. `--full` prints every table."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from rich.cells import cell_len

from harness.formatting import money_unit, pct
from harness.report.data import load_report_data
from tests.e2e.bench_runs import bench_run, models_in  # noqa: F401 - bench_run is a fixture
from tests.e2e.test_terminal_summary import in_pty

pytestmark = pytest.mark.model
MAX_LINES = 40


def after_progress(screen: str) -> list[str]:
    """The lines printed after the progress bars (these go to stderr; stdout's first line names the run)."""
    lines = screen.rstrip("\n").splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"run \S+: ", line))
    return lines[start + 1:]


def check_compact(lines: list[str], run_dir, summary: pd.DataFrame, names: list[str], columns: int = 120) -> None:
    for line in lines:
        assert "…" not in line, f"something was cut: {line!r}"
        assert cell_len(line) <= columns, f"wider than {columns} columns: {line!r}"
    table = lines[next(i for i, line in enumerate(lines) if line.startswith("Models ·")):]
    rows = {}
    for name in names:   # every model, measured or projected, in its own row with its whole name
        shown = name if name in set(summary["model"]) else name + "*"
        # its row in the compact table (the break-even table below names the cheapest APIs again)
        rows[name] = next(line for line in table if line.split() and line.split()[0] == shown)
    projected = load_report_data([run_dir]).projected            # the table's unit spans projected APIs too
    unit = money_unit([*summary["cost_usd_per_task"], *projected["cost_usd_per_task"]])
    for record in summary.to_dict("records"):
        row = rows[record["model"]]
        interval = f"[{pct(record['accuracy_ci_low'])}–{pct(record['accuracy_ci_high'])}]"
        assert f"{pct(record['accuracy'])} {interval}" in row
        for figure in (unit.fmt(record["cost_usd_per_task"]), unit.fmt(record["cost_usd_per_correct"]),
                       f"{record['output_tok_per_s_p50']:.1f}"):
            assert f" {figure} " in f"{row} ", (figure, row)


def test_default_bench_summary_fits_one_screen(bench_run):  # noqa: F811
    run_dir, screen, summary, _ = bench_run
    lines = after_progress(screen)
    assert len(lines) <= MAX_LINES, "\n".join(lines)
    names = models_in(run_dir)
    assert len(names) == 10
    check_compact(lines, run_dir, summary, names)
    assert any(line.startswith("The answer · smoke") for line in lines)
    assert any("cheapest of 7 APIs" in line for line in lines)
    more = " ".join(line for line in lines if line.startswith("More:") or not line.startswith((" ", "─")))
    assert "More: harness summary" in more and "--full" in more and "report:" in more


def test_summary_again_at_120_columns_and_full(bench_run):  # noqa: F811
    run_dir, _, summary, _ = bench_run
    code, screen, stderr = in_pty(["summary", str(run_dir)], 120)
    assert code == 0, stderr
    lines = screen.rstrip("\n").splitlines()
    assert len(lines) <= MAX_LINES, "\n".join(lines)
    check_compact(lines, run_dir, summary, models_in(run_dir))
    code, full, stderr = in_pty(["summary", str(run_dir), "--full"], 120)
    assert code == 0, stderr
    for title in ("Summary · smoke", "Accuracy differences", "Projected cost at list price", "Break-even: tasks/day",
                  "Carbon: gCO2e per day", "Same weights, different runtimes", "The answer · smoke"):
        assert title in full
    assert len(full.splitlines()) > MAX_LINES

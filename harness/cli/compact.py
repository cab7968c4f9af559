"""The default terminal summary's one table: per model, accuracy with its interval, $ per task, $ per correct
task, output tok/s, J per task, gCO2e per task and errors, one line a model; API models that did not run follow,
projected and marked. It fits the terminal's width without cutting a name or a figure: model names wrap first,
then columns are dropped from the right of `DROP_ORDER`, and the caption says which (they are in `--full`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from harness.cli.summary_tables import NAME_MIN_WIDTH, carbon_cell, energy_cell, table_width, wrap_name
from harness.formatting import MISSING, MoneyUnit, failed_text, fixed, is_missing, money_unit, number_range, pct


@dataclass(frozen=True)
class CompactColumn:
    """A column of the compact table: header (with {per} / {per_correct} for the money unit), and its cell text
    for a measured row and for a projected (not run) row."""

    key: str
    header: str
    measured: Callable[[dict[str, Any], MoneyUnit], str]
    projected: Callable[[dict[str, Any], MoneyUnit], str]


def _accuracy(row: dict[str, Any], _: MoneyUnit) -> str:
    if is_missing(row["accuracy"]):
        return MISSING
    failed = failed_text(row, ", ")
    return f"{pct(row['accuracy'])} [{pct(row['accuracy_ci_low'])}–{pct(row['accuracy_ci_high'])}]{failed}"


def _projected(value: str) -> str:
    return value if value == MISSING else value + "*"


COLUMNS = [
    CompactColumn("accuracy", "accuracy\n[95% CI]", _accuracy, lambda r, u: "not run"),
    CompactColumn("cost", "$ per\n{per}", lambda r, u: u.fmt(r["cost_usd_per_task"]),
                  lambda r, u: _projected(u.fmt(r["cost_usd_per_task"]))),
    CompactColumn("cost_correct", "$ per\n{per_correct}", lambda r, u: u.fmt(r["cost_usd_per_correct"]),
                  lambda r, u: MISSING),
    CompactColumn("speed", "out tok/s\np50", lambda r, u: fixed(r["output_tok_per_s_p50"], ".1f"),
                  lambda r, u: MISSING),
    CompactColumn("energy", "J/task", lambda r, u: energy_cell(r),
                  lambda r, u: _projected(number_range(r.get("energy_j_per_task_min"),
                                                       r.get("energy_j_per_task_max")))),
    CompactColumn("carbon", "gCO2e/task", lambda r, u: carbon_cell(r),
                  lambda r, u: _projected(number_range(r.get("gco2e_per_task_min"), r.get("gco2e_per_task_max")))),
    CompactColumn("errors", "errors", lambda r, u: str(r["n_errors"] + r["n_checker_errors"]), lambda r, u: MISSING),
]
DROP_ORDER = ["carbon", "energy", "speed", "cost_correct"]   # the first to go when the table does not fit
COLUMN_NAMES = {"carbon": "gCO2e/task", "energy": "J/task", "speed": "out tok/s", "cost_correct": "$ per correct task"}


def _projected_rows(data: Any) -> list[dict[str, Any]]:
    carbon = {r["model"]: r for r in (data.projected_carbon.to_dict("records")
                                      if data.projected_carbon is not None else [])}
    return [{**carbon.get(r["model"], {}), **r} for r in data.projected.to_dict("records")]


def _title(data: Any) -> str:
    # a log-likelihood figure is not a generative one: the title says which form the accuracies are
    forms = {r.get("score_form") for r in data.records if r.get("score_form")}
    form = " · scored by log-likelihood" if forms == {"loglikelihood"} else \
        " · generative and log-likelihood scores" if "loglikelihood" in forms else ""
    if len(data.suite_info) == 1:
        info = data.suite_info[0]
        size = f" · {info['n_tasks']} tasks" if info.get("n_tasks") else ""
        return f"Models · {info['name']}{size}{form}"
    return "Models · all suites (" + ", ".join(s["name"] for s in data.suite_info) + ")" + form


def _table(data: Any, columns: list[CompactColumn], name_width: int | None, dropped: list[str]) -> Table:
    measured, projected = data.summary.to_dict("records"), _projected_rows(data)
    unit = money_unit([r["cost_usd_per_task"] for r in measured + projected])
    table = Table(title=_title(data), title_justify="left", box=box.SIMPLE_HEAD, show_edge=False,
                  collapse_padding=True)
    table.add_column("model", justify="left", no_wrap=True)
    for column in columns:
        table.add_column(column.header.format(per=unit.per, per_correct=unit.per_correct), justify="right",
                         no_wrap=True)

    def name(text: str) -> str:
        return text if name_width is None else wrap_name(text, name_width)

    for row in measured:
        table.add_row(name(row["model"]), *(c.measured(row, unit) for c in columns))
    for row in projected:
        table.add_row(name(row["model"] + "*"), *(c.projected(row, unit) for c in columns), style="italic")
    notes = []
    if projected:
        notes.append("* projected: did not run (no key); list price × this run's token counts, EcoLogits' range")
    if any(failed_text(r) for r in measured):
        notes.append("accuracy counts failed requests and checker errors as not correct; of answered: " + ", ".join(
            f"{r['model']} {pct(r['accuracy_of_answered'])}" for r in measured if failed_text(r)))
    if dropped:
        notes.append("not shown at this width: " + ", ".join(COLUMN_NAMES[k] for k in dropped) + " (see --full)")
    if notes:
        table.caption = "\n".join(notes)
        table.caption_justify = "left"
    return table


def compact_tables(data: Any, console: Console) -> list[Table]:
    """The compact table at `console.width`: names whole if it fits, else wrapped, else columns dropped."""
    if not len(data.summary) and not len(data.projected):
        return []
    columns, dropped = list(COLUMNS), []
    names = [*data.summary["model"], *(f"{name}*" for name in data.projected["model"])]
    longest = max(len(name) for name in names)
    while True:
        for name_width in (None, *range(longest - 1, NAME_MIN_WIDTH - 1, -1)):
            table = _table(data, columns, name_width, dropped)
            if table_width(console, table) <= console.width:
                return [table]
        droppable = [k for k in DROP_ORDER if k not in dropped]
        if not droppable:
            return [table]   # as narrow as it gets: rich folds the rest
        dropped.append(droppable[0])
        columns = [c for c in columns if c.key not in dropped]


def shown_path(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def more_line(run_dir: Path | None, report_path: Path | None) -> str:
    """Where the rest is: every table in the terminal (`--full`), and the report (charts and details)."""
    target = shown_path(run_dir) if run_dir is not None else "RUN_DIR"
    report = shown_path(report_path) if report_path is not None else f"harness report {target}"
    return f"More: harness summary {target} --full · report: {report}"

"""The terminal summary of a run: the answer in sentences, one compact table, the break-even row of the cheapest
APIs, and where the rest is; with `--full`, every table (summaries, benchmarks, paired differences, projected
costs, the whole break-even matrix and its carbon view, same weights, load levels).

`harness run` prints it when a run ends; `harness summary RUN_DIR [--full]` prints it again for any run folder.
Both read the run folder through `harness.report.data`, so the terminal and the report show the same figures.
Every table fits the terminal's width without cutting a name or a figure: names wrap, then columns are dropped
(and the table says which).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from harness.analysis.findings import API_CHEAPER, LOCAL_CHEAPER, SuiteAnswer, break_even_matrix
from harness.cli.compact import compact_tables, more_line
from harness.cli.summary_tables import (
    breakdown_table,
    carbon_break_even_table,
    failures_table,
    levels_table,
    projected_table,
    same_weights_table,
    scores_table,
    separation_table,
    summary_tables,
    table_width,
    wrap_name,
)
from harness.formatting import compact_count, money_unit

VERDICT_STYLE = {LOCAL_CHEAPER: "green", API_CHEAPER: "red"}   # anything else: beyond capacity (yellow)
CHEAPEST_APIS = 2   # break-even rows in the default summary (the whole matrix with --full)


def capacity_basis(row: dict[str, Any]) -> str:
    """Where a break-even row's capacity comes from: a measured level and its SLO, or batch 1."""
    basis = row.get("capacity_basis")
    return basis if isinstance(basis, str) and basis else "batch 1: one request at a time"


def break_even_cell(row: dict[str, Any]) -> tuple[str, str]:
    """The matrix cell for one local x API pair, and its style by verdict."""
    if row["verdict"] == LOCAL_CHEAPER:
        return f"≥ {compact_count(row['break_even_tasks_per_day'])}/day", VERDICT_STYLE[LOCAL_CHEAPER]
    if row["verdict"] == API_CHEAPER:
        return "never", VERDICT_STYLE[API_CHEAPER]
    return f"beyond cap. ({compact_count(row['break_even_tasks_per_day'])})", "yellow"


def break_even_matrix_table(comparison: Any, locals_only: list[str] | None = None,
                            n_apis: int | None = None) -> Table:
    """Compact break-even: one row per API (cheapest first; the `n_apis` cheapest when given), one column per
    local model (or those in `locals_only`); a cell is the daily volume from which the local model is cheaper,
    `never`, or beyond one machine's capacity."""
    locals_, apis, cells = break_even_matrix(comparison)
    locals_ = [name for name in locals_ if locals_only is None or name in locals_only]
    shown = apis if n_apis is None else apis[:n_apis]
    unit = money_unit([api["cost_usd_per_task"] for api in shown])
    title = "Break-even: tasks/day from which each local model (hardware held all day) is cheaper"
    if len(shown) < len(apis):
        title = (f"Break-even against the {len(shown)} cheapest of {len(apis)} APIs: tasks/day from which local is "
                 "cheaper")
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD if n_apis is not None else box.HEAVY_HEAD,
                  show_edge=n_apis is None)
    table.add_column("API", justify="left", no_wrap=True)
    table.add_column(f"$ per\n{unit.per}", justify="right", no_wrap=True)
    for local in locals_:
        capacity = cells[(local, apis[0]["model"])]["capacity_tasks_per_day"]
        table.add_column(f"{wrap_name(local, 18)}\ncap. {compact_count(capacity)}/day", justify="right", no_wrap=True)
    for api in shown:
        mark = "*" if api["projected"] else ""
        row = []
        for local in locals_:
            text, style = break_even_cell(cells[(local, api["model"])])
            row.append(f"[{style}]{text}[/]")
        table.add_row(api["model"] + mark, unit.fmt(api["cost_usd_per_task"]) + mark, *row)
    by_basis: dict[str, list[str]] = {}
    for local in locals_:
        by_basis.setdefault(capacity_basis(cells[(local, apis[0]["model"])]), []).append(local)
    # one line per basis: "cap. of every local model: batch 1 ..." when they were all measured alike
    bases = [f"cap. of {'every local model' if len(by_basis) == 1 and len(locals_) > 1 else ', '.join(names)}: "
             f"{basis}" for basis, names in by_basis.items()]
    utilisation = f"{comparison['utilisation'].iloc[0]:g}"
    if n_apis is None:
        table.caption = (f"≥ N/day: local cheaper from N tasks/day · never: the API is cheaper at any volume · beyond "
                         f"cap.: break-even above one machine's capacity · * projected API cost (did not run) · "
                         f"utilisation {utilisation}") + "".join(f"\n{basis}" for basis in bases)
    elif len(by_basis) == 1:  # one screen: a capacity basis every local model shares goes into the caption itself
        basis = next(iter(by_basis))
        basis = "at batch 1, no load level measured" if basis.startswith("batch 1") else f"({basis})"
        table.caption = (f"≥ N/day: local cheaper from N tasks/day · never: API always cheaper · beyond cap.: above one "
                         f"machine's capacity {basis} · * projected · util. {utilisation}")
    else:
        table.caption = (f"≥ N/day: local cheaper from N tasks/day · never: API always cheaper · beyond cap.: above one "
                         f"machine's capacity · * projected · utilisation {utilisation}") \
            + "".join(f"\n{basis}" for basis in bases)
    table.caption_justify = "left"
    return table


def break_even_matrix_tables(comparison: Any, console: Console, n_apis: int | None = None) -> list[Table]:
    """The compact matrix in as few tables as fit `console.width`: local models are split across tables
    when their columns do not all fit, so that no cell is cut."""
    locals_ = list(dict.fromkeys(comparison["local_model"]))
    tables, chunk = [], []
    for local in locals_:
        trial = break_even_matrix_table(comparison, [*chunk, local], n_apis)
        if chunk and table_width(console, trial) > console.width:
            tables.append(break_even_matrix_table(comparison, chunk, n_apis))
            chunk = []
        chunk.append(local)
    return [*tables, break_even_matrix_table(comparison, chunk, n_apis)]


def answer_block(answers: list[SuiteAnswer], projected_note: bool = True) -> Group:
    """The answer first, per suite: one sentence per finding (hanging bullets), projected ones in italics."""
    parts: list[Any] = []
    for answer in answers:
        table = Table.grid(padding=(0, 1))
        table.add_column(no_wrap=True)
        table.add_column(overflow="fold")
        for finding in answer.findings:
            table.add_row("•", Text(finding.text, style="italic" if finding.projected else ""))
        parts += [Text(f"The answer · {answer.suite}", style="bold"), table]
    if projected_note and any(f.projected for a in answers for f in a.findings):
        parts.append(Text("* projected: the API did not run (no key); priced at list price with this run's token "
                          "counts", style="dim"))
    return Group(*parts)


def print_scores(out: Console, suite: Any, records: list[dict], manifest: dict, per_suite: Any,
                    with_separation: bool) -> None:
    """A benchmark's metrics with intervals and $ per correct task, MMLU-style breakdowns, and (when the run
    has several suites) the paired separation of its models on this benchmark alone."""
    from harness.analysis.model_summary import accuracy_separation
    from harness.analysis.scores import form_label, sample_label, score_metrics, subject_breakdown

    cost = {row["model"]: row.get("cost_usd_per_correct") for row in per_suite.to_dict("records")}
    rows = [{**row, "cost_usd_per_correct": cost.get(row["model"])}
            for row in score_metrics(records, manifest).to_dict("records")]
    size = sample_label(len(suite.tasks), suite.n_total)
    shots = suite.dataset.get("shots")
    scoring = f" · scored by {', '.join(suite.scoring)}" if getattr(suite, "scoring", None) else ""
    out.print(scores_table(rows, f"Benchmark · {suite.name} · {size}" + (f" · {shots}-shot" if shots else "")
                           + f" · {form_label(records)}" + scoring))
    breakdown = subject_breakdown(records)
    if len(breakdown):
        out.print(breakdown_table(breakdown[breakdown["by"] == "group"].to_dict("records"),
                                  f"{suite.name} by category"))
        out.print(breakdown_table(breakdown[breakdown["by"] == "subject"].to_dict("records"),
                                  f"{suite.name} by subject"))
    differences = accuracy_separation(records) if with_separation else []
    if len(differences):
        out.print(separation_table(differences.to_dict("records")))


def print_summary(out: Console, data: Any, full: bool = False, run_dir: Path | None = None,
                  report_path: Path | None = None) -> None:
    """The default summary (`print_compact`), or with `full` every table (`print_full`)."""
    if full:
        print_full(out, data)
    else:
        print_compact(out, data, run_dir, report_path)


def print_compact(out: Console, data: Any, run_dir: Path | None, report_path: Path | None) -> None:
    """One screen: the answer in sentences, one compact table (measured models, then projected APIs), the
    break-even rows of the cheapest APIs, failed requests and load levels when the run has them, and one line
    naming where the rest is."""
    out.print(answer_block(data.answers, projected_note=False))   # the table below says what * means
    for table in compact_tables(data, out):
        out.print(table)
    if len(data.break_even):
        for table in break_even_matrix_tables(data.break_even, out, CHEAPEST_APIS):
            out.print(table)
    failures = failures_table(data.records)   # what failed, and why, is never left to --full
    if failures is not None:
        out.print(failures)
    if len(data.levels):                      # a load run's own figures
        slos = (data.manifests[0].get("settings") or {}).get("slos")
        out.print(levels_table(data.levels.to_dict("records"), bool(slos)))
    out.print(more_line(run_dir, report_path), highlight=False, overflow="fold")


def print_full(out: Console, data: Any) -> None:
    """Per-suite and overall summaries (with each benchmark's figures and each workload's shape), failed
    requests, model separation, projected API costs and carbon, the break-even matrix and its carbon view,
    other comparisons, and last (so that it is on screen when the run ends) the answer in sentences."""
    from harness.analysis.emissions import VOLUMES_PER_DAY
    from harness.analysis.scores import sample_label

    info_by_name = {info["name"]: info for info in data.suite_info}
    suites = {s.name: s for s in data.suites if s is not None}
    manifest = data.manifests[0] if data.manifests else {}
    workloads = []
    for answer in data.answers:  # each suite's summary was computed for its answer
        info = info_by_name.get(answer.suite, {})
        size = sample_label(info.get("n_tasks"), info.get("n_total"))
        title = f"Summary · {answer.suite}" + (f" · {size}" if size else "") + \
            f" · sha256 {info.get('sha256', '?')[:12]}"
        for table in summary_tables(answer.summary.to_dict("records"), title, out):
            out.print(table)
        suite = suites.get(answer.suite)
        if suite is not None and suite.dataset is not None:
            records = [r for r in data.records if r.get("suite") == suite.name]
            print_scores(out, suite, records, manifest, answer.summary, len(data.suite_info) > 1)
        if str(info.get("source", "")).startswith("workload:"):
            workloads.append(info.get("description"))
            out.print(f"workload: {info.get('description')} (unscored: cost and speed only)", highlight=False)
    if len(data.suite_info) > 1:
        names = ", ".join(s["name"] for s in data.suite_info)
        for table in summary_tables(data.summary.to_dict("records"), f"Summary · all suites ({names})", out):
            out.print(table)
    failures = failures_table(data.records)
    if failures is not None:
        out.print(failures)
    if len(data.separation):
        out.print(separation_table(data.separation.to_dict("records")))
    if len(data.projected):
        carbon = data.projected_carbon.to_dict("records") if data.projected_carbon is not None else None
        out.print(projected_table(data.projected.to_dict("records"), carbon))
    for note in data.price_notes:
        out.print(f"price data: {note}", highlight=False, style="dim")
    if len(data.break_even):
        for shape in workloads:
            out.print(f"break-even at the workload: {shape}", highlight=False)
        for table in break_even_matrix_tables(data.break_even, out):
            out.print(table)
    if data.carbon_break_even is not None and len(data.carbon_break_even):
        out.print(carbon_break_even_table(data.carbon_break_even.to_dict("records"), VOLUMES_PER_DAY))
    if len(data.same_weights):
        out.print(same_weights_table(data.same_weights.to_dict("records")))
    if len(data.levels):
        slos = (data.manifests[0].get("settings") or {}).get("slos")
        out.print(levels_table(data.levels.to_dict("records"), bool(slos)))
    out.print(answer_block(data.answers))


def terminal_console() -> Console:
    """stdout as a rich console: the terminal's width, or $COLUMNS, or 120 columns when piped."""
    return Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 120)

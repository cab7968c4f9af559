"""`harness whatif RUN --workload SPEC --tasks-per-day N`: a finished run re-priced at another shape and volume."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness.analysis.reprice import fit_local, whatif_table
from harness.config.kinds import API_KINDS
from harness.config.models_file import load_models_config
from harness.errors import EXIT_OK, InputError, SuiteError
from harness.formatting import usd
from harness.store.manifest import MANIFEST_FILE, read_manifest
from harness.store.records import RECORDS_FILE, read_records
from harness.suites.workload import parse_workload, workload_rows


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


_usd = usd


def _break_even(row: dict) -> str:
    if row["kind"] != "local" or row["cheapest_api"] is None:
        return "–"
    even, verdict = row["cheapest_api_break_even_tasks_per_day"], row["break_even_verdict"]
    if _missing(even):
        return f"never ({verdict}) vs {row['cheapest_api']}"
    text = f"{even:,.0f} tasks/day vs {row['cheapest_api']}"
    return text if verdict.startswith("local cheaper") else f"{text}: {verdict}"


def execute(args: argparse.Namespace) -> int:
    """Print local vs API cost per task and per day at the asked shape, with the fit's error."""
    run_dir = Path(args.run)
    if not (run_dir / MANIFEST_FILE).is_file():
        raise InputError(f"{run_dir}: not a run folder (no {MANIFEST_FILE})")
    if not args.tasks_per_day > 0:
        raise InputError(f"--tasks-per-day: must be > 0, got {args.tasks_per_day:g}")
    try:
        spec = parse_workload(args.workload)
    except SuiteError as exc:
        raise InputError(str(exc)) from None
    manifest = read_manifest(run_dir)
    records = read_records(run_dir / RECORDS_FILE) if (run_dir / RECORDS_FILE).is_file() else []
    fits = fit_local(records, manifest)
    if not fits:
        raise InputError(f"{run_dir}: no local model with finished requests to fit per-token costs from")
    models_file = Path(args.models or manifest["models_file"])
    apis = [m for m in load_models_config(models_file).models if m.kind in API_KINDS and not m.self_hosted]
    table = whatif_table(fits, manifest, apis, workload_rows(spec), args.tasks_per_day)
    out = Console(width=None)
    view = Table(title=f"What if · {spec.describe()} · {args.tasks_per_day:,.0f} tasks/day · from run {manifest['run_id']}")
    view.add_column("model", overflow="fold")
    for column in ("kind", "$/task", "$/day", "s/task", "J/task"):  # figures never wrap: the notes below do
        view.add_column(column, no_wrap=True, justify="left" if column == "kind" else "right")
    for row in table.to_dict("records"):
        per_day = _usd(row["cost_usd_per_day"])
        if row["kind"] == "local" and _missing(row["cost_usd_per_day"]) and not _missing(row["task_s"]):
            per_day = "beyond capacity"
        view.add_row(row["model"], row["kind"], _usd(row["cost_usd_per_task"]), per_day,
                     "–" if _missing(row["task_s"]) else f"{row['task_s']:.2f}",
                     "–" if _missing(row["energy_j_per_task"]) else f"{row['energy_j_per_task']:.1f}")
    out.print(view)
    for row in table.to_dict("records"):
        even = f"; break-even {_break_even(row)}" if row["kind"] == "local" else ""
        out.print(f"  {row['model']}: {row['basis']}{even}", highlight=False)
    print("Local figures are projected from the run's measured per-token time and power (docs/guides/workloads.md); "
          "API figures are list prices at the shape's token counts, shared prefixes billed as cache reads.")
    return EXIT_OK

"""`harness compare`: did anything regress from a baseline run to a current run? Exit 3 if so."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from harness.analysis.model_summary import records_frame
from harness.analysis.regress import compare_runs, parse_min_effects
from harness.cli.summary_tables import comparison_table
from harness.errors import EXIT_OK, EXIT_REGRESSION, InputError
from harness.report import build_report
from harness.store.manifest import MANIFEST_FILE, read_manifest
from harness.store.records import RECORDS_FILE, read_records


def _frame(run_dir: Path):
    run_dir = Path(run_dir)
    if not (run_dir / MANIFEST_FILE).is_file():
        raise InputError(f"{run_dir}: not a run folder (no {MANIFEST_FILE})")
    try:  # a run stopped before it opened records.jsonl has no records yet
        manifest = read_manifest(run_dir)
        records = read_records(run_dir / RECORDS_FILE) if (run_dir / RECORDS_FILE).exists() else []
    except (OSError, ValueError) as exc:
        raise InputError(f"{run_dir}: cannot read the run: {exc}") from None
    if not records:
        raise InputError(f"{run_dir / RECORDS_FILE}: the run has no records (it stopped before its first request "
                         "finished): nothing to compare")
    return manifest, records_frame(records, manifest)



def compare(baseline: Path, current: Path, min_effect: str | None, output: Path | None) -> int:
    """Print the comparison, optionally write the current run's report with it; 3 on a regression."""
    try:
        effects = parse_min_effects(min_effect)
    except ValueError as exc:
        raise InputError(f"--min-effect: {exc}") from None
    base_manifest, base = _frame(baseline)
    current_manifest, frame = _frame(current)
    base_suites = sorted((s["name"], s["sha256"]) for s in base_manifest.get("suites", []))
    if base_suites != sorted((s["name"], s["sha256"]) for s in current_manifest.get("suites", [])):
        raise InputError(f"{baseline} and {current} ran different suites: a comparison would mislead")
    comparison = compare_runs(base, frame, effects)
    Console(width=140).print(comparison_table(comparison.to_dict("records"), f"{current} against {baseline}"))
    if output is not None:
        build_report([current], output, comparison=comparison, baseline=str(baseline))
        print(f"report:   {output}")
    regressed = comparison[comparison["verdict"] == "regressed"]
    for row in regressed.to_dict("records"):
        print(f"regression: {row['model']} {row['metric']} {row['change']:+.3g}", file=sys.stderr)
    return EXIT_REGRESSION if len(regressed) else EXIT_OK



def execute(args: argparse.Namespace) -> int:
    """Compare CURRENT_RUN with BASELINE_RUN; 3 on a regression."""
    return compare(args.baseline, args.current, args.min_effect, args.output)



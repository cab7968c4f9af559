"""`harness compare`, `harness trend` and `harness nightly`: catch a regression the morning after, without
crying wolf on a noisy runner, and show the trend over weeks.

`nightly` is the whole job in one command: run the suite with repetitions (and its report), compare with
the stored baseline run, put the comparison at the top of the report, rebuild the trend page, and exit
3 on a regression. The first night has no baseline: its run becomes the baseline. `--update-baseline`
replaces the baseline with a run that did not regress.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from rich.console import Console

from harness.analysis.frames import records_frame
from harness.analysis.regress import compare_runs, parse_min_effects
from harness.cli.console import comparison_table
from harness.cli.settings import energy_and_cost_settings
from harness.errors import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_OUTPUT_UNWRITABLE,
    EXIT_REGRESSION,
    InputError,
    RunLocked,
)
from harness.report import build_report
from harness.report.trend import build_trend
from harness.store.manifest import MANIFEST_FILE, read_manifest
from harness.store.records import RECORDS_FILE, read_records
from harness.store.runlock import LockHeld, RunLock


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


def cmd_compare(args: argparse.Namespace) -> int:
    return compare(args.baseline, args.current, args.min_effect, args.output)


def cmd_trend(args: argparse.Namespace) -> int:
    print(build_trend(args.results_dir, args.output, args.reports_dir))
    return EXIT_OK


def cmd_nightly(args: argparse.Namespace) -> int:
    """Run, compare with the baseline, report, trend; exit 3 on a regression."""
    args.resume, args.retry_failed, args.no_report, args.judge = None, False, False, None
    energy, overrides = energy_and_cost_settings(args)
    baseline = Path(args.baseline)
    # The baseline is compared with and may be replaced: a run resumed into it, or another nightly, must not
    # be writing it meanwhile. Checked before anything runs; held until this nightly ends.
    lock = None
    if (baseline / MANIFEST_FILE).is_file():
        try:
            lock = RunLock(baseline).acquire()
        except LockHeld as exc:
            raise RunLocked(f"--baseline {exc}; wait for it to end, or stop it") from None
        except OSError:
            pass  # a read-only baseline: nothing can write it meanwhile either
    try:
        return _nightly(args, energy, overrides, baseline)
    finally:
        if lock is not None:
            lock.release()


def _nightly(args: argparse.Namespace, energy, overrides, baseline: Path) -> int:
    from harness.cli.run_command import execute_run

    code, run_dir = execute_run(args, energy, overrides)
    if run_dir is None or code in (EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OUTPUT_UNWRITABLE) or code > 128:
        return code  # bad input, stopped by a signal (128 + its number) or by an unwritable results folder
    status = code
    if not (baseline / MANIFEST_FILE).is_file():
        if baseline.exists():
            raise InputError(f"--baseline {baseline}: exists but is not a run folder")
        shutil.copytree(run_dir, baseline)
        print(f"no baseline yet: {run_dir} is now the baseline ({baseline})")
    else:
        result = compare(baseline, run_dir, args.min_effect, Path(args.report_dir) / f"{run_dir.name}.html")
        if result == EXIT_REGRESSION:
            status = EXIT_REGRESSION
        elif args.update_baseline:
            shutil.rmtree(baseline)
            shutil.copytree(run_dir, baseline)
            print(f"baseline updated to {run_dir}")
    print(f"trend:    {build_trend(Path(args.out), Path(args.report_dir) / 'trend.html', Path(args.report_dir))}")
    return status

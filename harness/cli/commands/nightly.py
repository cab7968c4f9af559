"""`harness nightly`: catch a regression the morning after, without crying wolf on a noisy runner, and show
the trend over weeks.

`nightly` is the whole job in one command: run the suite with repetitions (and its report), compare with
the stored baseline run, put the comparison at the top of the report, rebuild the trend page, and exit
3 on a regression. The first night has no baseline: its run becomes the baseline. `--update-baseline`
replaces the baseline with a run that did not regress.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from harness.cli.commands.compare import compare
from harness.errors import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OUTPUT_UNWRITABLE,
    EXIT_REGRESSION,
    InputError,
    RunLocked,
)
from harness.report.trend_page import build_trend
from harness.store.manifest import MANIFEST_FILE
from harness.store.runlock import LockHeld, RunLock


def execute(args: argparse.Namespace) -> int:
    """Run, compare with the baseline, report, trend; exit 3 on a regression."""
    from harness.cli.commands.run import spec_from_args

    args.resume, args.retry_failed, args.no_report, args.judge = None, False, False, None
    spec_from_args(args)  # every flag checked before the baseline is locked
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
        return _nightly(args, baseline)
    finally:
        if lock is not None:
            lock.release()


def _nightly(args: argparse.Namespace, baseline: Path) -> int:
    from harness.cli.commands.run import execute_run

    code, run_dir = execute_run(args)
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

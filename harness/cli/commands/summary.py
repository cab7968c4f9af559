"""`harness summary`: print a run's terminal summary again."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.summary_view import print_summary, terminal_console
from harness.errors import EXIT_OK, InputError
from harness.store.records import RECORDS_FILE


def execute(args: argparse.Namespace) -> int:
    """Print the terminal summary of a finished (or interrupted) run folder again."""
    from harness.report.data import load_report_data

    records = Path(args.run_dir) / RECORDS_FILE
    if records.is_file() and not records.read_bytes().strip():
        raise InputError(f"{records}: no request has finished in this run yet: nothing to summarise")
    run_dir = Path(args.run_dir)
    print_summary(terminal_console(), load_report_data([run_dir], tier=getattr(args, "tier", None)),
                  full=getattr(args, "full", False), run_dir=run_dir, report_path=None)
    return EXIT_OK

"""`harness trend`: every run of the same suites over time, as one HTML page."""

from __future__ import annotations

import argparse

from harness.errors import EXIT_OK
from harness.report.trend_page import build_trend


def execute(args: argparse.Namespace) -> int:
    """Write the trend page over RESULTS_DIR and print its path."""
    print(build_trend(args.results_dir, args.output, args.reports_dir))
    return EXIT_OK

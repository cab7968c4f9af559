"""`harness report`: one HTML report (and CSV/Parquet exports) over one or more run folders."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.errors import EXIT_OK
from harness.report import build_report


def execute(args: argparse.Namespace) -> int:
    """Write one HTML report over the given runs, with exports beside it."""
    output = args.output or Path("reports") / f"{args.run_dirs[0].resolve().name}.html"  # `report .` too
    for path in build_report(args.run_dirs, output, args.allow_different_suites, tier=args.tier):
        print(path)
    return EXIT_OK

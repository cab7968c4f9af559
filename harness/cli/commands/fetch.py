"""`harness fetch`: put Hub benchmarks (or dataset suite files) into the Hugging Face cache."""

from __future__ import annotations

import argparse

from harness.errors import EXIT_OK


def execute(args: argparse.Namespace) -> int:
    """Put the named Hub benchmarks (or dataset suite files) into the Hugging Face cache."""
    from harness.suites.catalog import fetch_dataset

    for name in args.names:
        print(f"{name}: {fetch_dataset(name)}", flush=True)
    return EXIT_OK

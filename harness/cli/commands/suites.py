"""`harness suites`: the built-in suites and the recognised benchmarks (dataset suites)."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from harness.errors import EXIT_OK
from harness.suites import builtin_suites, dataset_suites, load_suite


def execute(args: argparse.Namespace) -> int:
    """List built-in suites with task counts and content hashes, and the recognised benchmarks with their
    source, revision, split, item count, licence and whether they can load here."""
    from harness.suites.catalog import describe_dataset

    table = Table(title="Built-in suites", title_justify="left")
    for header in ("name", "version", "tasks", "sha256", "description"):
        table.add_column(header)
    benchmarks = dataset_suites()
    for name in builtin_suites():
        if name in benchmarks:
            continue
        suite = load_suite(name)
        table.add_row(suite.name, str(suite.version), str(len(suite.tasks)), suite.sha256[:12], suite.description.strip())
    Console().print(table)
    table = Table(title="Benchmarks (dataset suites; harness fetch NAME puts a Hub dataset in the cache)",
                  title_justify="left")
    for header in ("name", "source", "revision", "split", "items", "licence", "sha256", "here"):
        table.add_column(header)
    for name, path in benchmarks.items():
        row = describe_dataset(path)
        table.add_row(name, row["source"], row["revision"], row["split"], row["items"], row["licence"], row["sha256"],
                      row["here"])
    Console().print(table)
    return EXIT_OK

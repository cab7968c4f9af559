"""`harness report`: one self-contained HTML file over one or more runs, with CSV and Parquet exports.

Stage rule: it may import analysis, suites, checkers, cost, energy, config, store, errors, host.
"""

from harness.report.build import (
    build_report,
)

__all__ = ["build_report"]

"""Build one report: load the runs, render the page, write it atomically with its CSV/Parquet exports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.store.atomic_files import atomic_write_text
from harness.store.records import paused_gc


def build_report(run_dirs: list[Path], out_path: Path, allow_different_suites: bool = False,
                 title: str | None = None, comparison: Any = None, baseline: str = "", data: Any = None,
                 tier: str | None = None) -> list[Path]:
    """Write the report and its exports; return the paths written, the HTML first. With `comparison`
    (a `harness.analysis.regress.compare_runs` table) the report opens with the comparison against `baseline`.
    `data`: these runs' `ReportData` when the caller has loaded it already; `tier`: API costs also projected
    in this service tier."""
    from harness.report.data import export_frames, load_report_data
    from harness.report.page import render

    with paused_gc():
        data = data if data is not None else load_report_data([Path(d) for d in run_dirs], allow_different_suites,
                                                                   tier=tier)
        out_path = Path(out_path)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        names = ", ".join(m.get("run_id", "?") for m in data.manifests)
        atomic_write_text(out_path, render(data, title or f"harness report · {names}", comparison, baseline))
        return [out_path, *export_frames(data, out_path)]

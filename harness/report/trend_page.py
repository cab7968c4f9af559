"""`harness trend`: every run of the same suites over time, per model, as one HTML page with an index of
runs linking to their reports. Runs are grouped by their suites' content hashes, so a changed suite
starts a new trend instead of bending an old one."""

from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import Any

from harness.analysis.model_summary import summarize
from harness.errors import InputError
from harness.report import page, svg
from harness.report.tables import _usd
from harness.store.atomic_files import atomic_write_text
from harness.store.manifest import MANIFEST_FILE, read_manifest
from harness.store.records import RECORDS_FILE, paused_gc, read_records

TREND_METRICS = (("output_tok_per_s_p50", "output tok/s (p50)", svg.fmt_number),
                 ("accuracy", "accuracy", lambda v: f"{v:.0%}"),
                 ("cost_usd_per_task", "$ per task", lambda v: _usd(v)),
                 ("energy_j_per_task", "J per task", svg.fmt_number))


def find_runs(results_dir: Path) -> list[Path]:
    """Run folders under `results_dir` (any depth of one), oldest first by run id."""
    runs = [p.parent for p in Path(results_dir).glob("*/" + MANIFEST_FILE) if (p.parent / RECORDS_FILE).exists()]
    return sorted(runs, key=lambda p: p.name)


def trend_data(results_dir: Path) -> dict[tuple, list[dict[str, Any]]]:
    """Suite signature -> [{run_dir, manifest, summary rows by model}], oldest first."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for run_dir in find_runs(results_dir):
        try:
            manifest = read_manifest(run_dir)
            records = read_records(run_dir / RECORDS_FILE, warn=None)
        except (OSError, ValueError):
            continue
        if not records or manifest.get("run_id") != run_dir.name:
            continue  # empty, or a copy of another run (a stored baseline)
        signature = tuple(sorted((s["name"], s["sha256"]) for s in manifest.get("suites", [])))
        rows = {r["model"]: r for r in summarize(records, manifest).to_dict("records")}
        groups.setdefault(signature, []).append({"run_dir": run_dir, "manifest": manifest, "rows": rows})
    return groups


def _report_link(run_dir: Path, reports_dir: Path | None, out_path: Path) -> str:
    if reports_dir is not None and (reports_dir / f"{run_dir.name}.html").exists():
        target = reports_dir / f"{run_dir.name}.html"
    else:
        target = run_dir / MANIFEST_FILE
    return escape(os.path.relpath(target, out_path.parent))


def render_trend(groups: dict[tuple, list[dict[str, Any]]], out_path: Path, reports_dir: Path | None) -> str:
    sections = []
    for signature, runs in groups.items():
        suites = ", ".join(f"{name} ({digest[:12]})" for name, digest in signature)
        labels = [r["run_dir"].name[4:13].replace("T", " ") for r in runs]  # MMDDTHHMM of the run id
        models = list(dict.fromkeys(m for r in runs for m in r["rows"]))
        charts = []
        for key, label, fmt in TREND_METRICS:
            series = [{"label": m, "color": svg.color(i),
                       "values": [None if (v := r["rows"].get(m, {}).get(key)) is None or v != v else v for r in runs]}
                      for i, m in enumerate(models)]
            charts.append(f"<figure>{svg.timeline(series, labels, label, f'{label} over runs', y_fmt=fmt)}"
                          f"<figcaption>{escape(label)} per model, one point per run (oldest left).</figcaption></figure>")
        index = "".join(
            f"<tr><td class='l'><a href='{_report_link(r['run_dir'], reports_dir, out_path)}'>{escape(r['run_dir'].name)}"
            f"</a></td><td class='l'>{escape(str(r['manifest'].get('status')))}</td>"
            f"<td class='l'>{escape(', '.join(r['rows']))}</td><td class='l label'>"
            f"{escape(str(r['manifest'].get('harness_git_commit')))}</td></tr>" for r in reversed(runs))
        sections.append(f"<section><h2>Suites {escape(suites)} · {len(runs)} runs</h2><div class='charts'>"
                        f"{''.join(charts)}</div><h3>Runs</h3><table><tr><th class='l'>run</th><th class='l'>status</th>"
                        f"<th class='l'>models</th><th class='l'>harness commit</th></tr>{index}</table></section>")
    body = "".join(sections) or "<p class='note'>No runs found.</p>"
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta http-equiv='Content-Security-Policy' content=\"{page.CSP}\"><title>harness trend</title>"
            f"<style>{page.STYLE}</style></head><body><main><h1>harness trend</h1>"
            f"<p class='lede'>Every run of the same suites, oldest to newest; a point per model and run.</p>"
            f"{body}</main></body></html>")


def build_trend(results_dir: Path, out_path: Path, reports_dir: Path | None = None) -> Path:
    """Write the trend page for every run under `results_dir`."""
    if not Path(results_dir).is_dir():
        raise InputError(f"{results_dir}: no such results folder")
    with paused_gc():
        groups = trend_data(Path(results_dir))
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_path, render_trend(groups, out_path, reports_dir))
    return out_path

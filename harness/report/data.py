"""Everything the report shows, computed from run folders (records + manifests) and nothing else.

Several runs are merged side by side when their suites match (same content hashes); a model name that
appears in more than one run is suffixed with its run's position (`name #2`). Suites are reloaded from
their recorded source for the prompts of the drill-down, and only when the content hash still matches.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from harness.analysis.comparison import break_even, projected_costs, same_weights
from harness.analysis.emissions import carbon_break_even, projected_carbon
from harness.analysis.findings import SuiteAnswer, suite_answers
from harness.analysis.load_levels import level_summary
from harness.analysis.model_summary import accuracy_separation, records_frame, summarize_frame
from harness.analysis.price_notes import price_data_notes
from harness.config.kinds import KINDS
from harness.errors import InputError, SuiteError
from harness.store.atomic_files import atomic_path
from harness.store.manifest import MANIFEST_FILE, read_manifest
from harness.store.records import RECORDS_FILE, read_records
from harness.suites import Suite, reload_suite


@dataclass
class ReportData:
    """Merged runs and the tables derived from them."""

    run_dirs: list[Path]
    manifests: list[dict[str, Any]]
    records: list[dict[str, Any]]
    manifest: dict[str, Any]                     # merged: models and skipped models of every run
    suites: list[Suite | None]
    suite_info: list[dict[str, Any]]
    summary: pd.DataFrame
    frame: pd.DataFrame
    projected: pd.DataFrame
    break_even: pd.DataFrame
    separation: pd.DataFrame
    same_weights: pd.DataFrame
    levels: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    carbon_break_even: pd.DataFrame | None = None   # gCO2e/day at each volume, local against each API estimate
    projected_carbon: pd.DataFrame | None = None    # EcoLogits' projection for API models that did not run
    answers: list[SuiteAnswer] = field(default_factory=list)   # the answer first, per suite
    price_notes: list[str] = field(default_factory=list)   # where genai-prices lacks a price or the provider differs


def _load_run(run_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if not (run_dir / MANIFEST_FILE).is_file():
        raise InputError(f"{run_dir}: not a run folder (no {MANIFEST_FILE})")
    try:  # a run stopped before it opened records.jsonl has no records yet
        records = read_records(run_dir / RECORDS_FILE) if (run_dir / RECORDS_FILE).exists() else []
        return read_manifest(run_dir), records
    except (ValueError, OSError) as exc:
        raise InputError(f"{run_dir}: cannot read the run: {exc}") from None


def _suite_key(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((s["name"], s["sha256"]) for s in manifest.get("suites", []))


def _reload_suite(info: dict[str, Any], notes: list[str]) -> Suite | None:
    try:
        suite = reload_suite(info)
    except (SuiteError, OSError, KeyError):
        notes.append(f"suite {info['name']}: its file {info.get('source')} is gone; prompts are not shown")
        return None
    if suite.sha256 != info["sha256"]:
        notes.append(f"suite {info['name']}: its file changed since the run; prompts are not shown")
        return None
    return suite


def load_report_data(run_dirs: list[Path], allow_different_suites: bool = False, tier: str | None = None) -> ReportData:
    """Read and merge runs; refuse runs of different suites unless `allow_different_suites`. With `tier`,
    projected API costs are also given in that service tier (beside the list price)."""
    loaded = [_load_run(Path(d)) for d in run_dirs]
    if not any(records for _, records in loaded):
        raise InputError(f"{', '.join(str(Path(d) / RECORDS_FILE) for d in run_dirs)}: no records (the run stopped "
                         "before its first request finished): nothing to report")
    keys = [_suite_key(m) for m, _ in loaded]
    if len({tuple(k) for k in keys}) > 1 and not allow_different_suites:
        described = "; ".join(f"{d}: {', '.join(f'{n} {h[:12]}' for n, h in k)}" for d, k in zip(run_dirs, keys))
        raise InputError(f"the runs are of different suites ({described}); comparing them would mislead. "
                         "Pass --allow-different-suites to merge them anyway")
    seen: dict[str, int] = {}
    merged: dict[str, Any] = {"models": {}, "skipped_models": {}, "host": loaded[0][0].get("host", {})}
    records: list[dict[str, Any]] = []
    for position, (manifest, run_records) in enumerate(loaded, 1):
        rename = {}
        for name in [*manifest.get("models", {}), *manifest.get("skipped_models", {})]:
            seen[name] = seen.get(name, 0) + 1
            rename[name] = name if seen[name] == 1 else f"{name} #{position}"
        for name, entry in manifest.get("models", {}).items():
            merged["models"][rename[name]] = entry
        for name, entry in manifest.get("skipped_models", {}).items():
            merged["skipped_models"][rename[name]] = entry
        records += [{**r, "model": rename.get(r["model"], r["model"])} for r in run_records]
    notes = [f"run {d}: no records (it stopped before its first request finished)"
             for d, (_, run_records) in zip(run_dirs, loaded) if not run_records]
    suite_info = list({(s["name"], s["sha256"]): s for m, _ in loaded for s in m.get("suites", [])}.values())
    suites = [_reload_suite(info, notes) for info in suite_info]
    frame = records_frame(records, merged)
    summary = summarize_frame(frame, merged)
    skipped_cfgs = []
    for name, entry in merged["skipped_models"].items():
        config = entry.get("config")
        if config and config.get("kind") in KINDS:
            skipped_cfgs.append(KINDS[config["kind"]].config.model_validate({**config, "name": name.split(" #")[0]}))
    projected = projected_costs(frame, skipped_cfgs, [s for s in suites if s is not None], tier=tier)
    projected_c = projected_carbon(frame, skipped_cfgs, [s for s in suites if s is not None])
    levels = level_summary(frame, merged, loaded[0][0].get("settings", {}).get("slos") or {})
    comparison, separation = break_even(summary, merged, projected, levels), accuracy_separation(frame)
    return ReportData(
        run_dirs=[Path(d) for d in run_dirs], manifests=[m for m, _ in loaded], records=records, manifest=merged,
        suites=suites, suite_info=suite_info, summary=summary, frame=frame,
        projected=projected, break_even=comparison,
        separation=separation, same_weights=same_weights(summary, merged, records),
        levels=levels, notes=notes,
        carbon_break_even=carbon_break_even(summary, merged, projected_c), projected_carbon=projected_c,
        answers=suite_answers(frame, merged, skipped_cfgs, suites, (summary, separation, comparison)),
        price_notes=price_data_notes(records, projected),
    )


def export_frames(data: ReportData, html_path: Path) -> list[Path]:
    """Summary CSV and records as Parquet and CSV beside the HTML file; returns the paths written."""
    stem = html_path.with_suffix("")
    written = []
    summary_path = stem.parent / f"{stem.name}.summary.csv"
    with atomic_path(summary_path) as tmp:
        data.summary.to_csv(tmp, index=False)
    written.append(summary_path)
    texts = pd.DataFrame([{
        "run_id": r.get("run_id"), "started_at": r.get("started_at"), "expected": json.dumps(r.get("expected")),
        "output_text": r.get("output_text"), "error_type": (r.get("error") or {}).get("type"),
        "error_class": (r.get("error") or {}).get("error_class"), "finish_reason": r.get("finish_reason"),
        "score_form": r.get("score_form") or ("generative" if r.get("checker") else None),
    } for r in data.records])
    table = pd.concat([data.frame.reset_index(drop=True), texts], axis=1)
    csv_path = stem.parent / f"{stem.name}.records.csv"
    parquet_path = stem.parent / f"{stem.name}.records.parquet"
    try:
        import pyarrow as pa
        import pyarrow.csv
        import pyarrow.parquet
    except ImportError:
        with atomic_path(csv_path) as tmp:
            table.to_csv(tmp, index=False)
        data.notes.append("no Parquet export: pyarrow is not installed (pip install 'harness[report]')")
        return [*written, csv_path]
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    with atomic_path(csv_path) as tmp:
        pyarrow.csv.write_csv(arrow, tmp)  # several times faster than pandas' writer on 100k rows
    with atomic_path(parquet_path) as tmp:
        pyarrow.parquet.write_table(arrow, tmp)
    return [*written, parquet_path, csv_path]

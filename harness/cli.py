"""Command line: `harness run`, `harness report`, `harness models`, `harness suites`.

Exit codes: 0 done with no failed request; 1 done, but some requests or models failed (recorded);
2 bad input (nothing run); 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness import __version__
from harness.backends import backend_availability
from harness.config import load_models_config
from harness.console import TerminalProgress, break_even_table, projected_table, separation_table, summary_table
from harness.costmodel import DEFAULT_ELECTRICITY_USD_PER_KWH, DEFAULT_PUE, CostOverrides
from harness.energy.select import ENERGY_CHOICES, EnergySettings
from harness.errors import (
    EXIT_BAD_INPUT,
    EXIT_FAILURES_RECORDED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    InputError,
    ModelSourceError,
)
from harness.pricing import API_KINDS
from harness.providers import missing_key_env, resolve_endpoint
from harness.records import RECORDS_FILE, read_records
from harness.report import build_report
from harness.runner import Runner
from harness.sources import locate_weights, weights_availability
from harness.suites import builtin_suites, load_suite

DEFAULT_MODELS_FILE = "models.yaml"


def _models_file(args: argparse.Namespace) -> Path:
    return Path(args.models or os.environ.get("HARNESS_MODELS") or DEFAULT_MODELS_FILE)


def _energy_and_cost_settings(args: argparse.Namespace) -> tuple[EnergySettings, CostOverrides]:
    checks = [("--idle-seconds", args.idle_seconds, 0 <= args.idle_seconds <= 600),
              ("--cpu-w-per-core", args.cpu_w_per_core, args.cpu_w_per_core is None or args.cpu_w_per_core > 0),
              ("--electricity-usd-per-kwh", args.electricity_usd_per_kwh,
               args.electricity_usd_per_kwh is None or args.electricity_usd_per_kwh >= 0),
              ("--pue", args.pue, args.pue is None or args.pue >= 1),
              ("--hardware-usd-per-hour", args.hardware_usd_per_hour,
               args.hardware_usd_per_hour is None or args.hardware_usd_per_hour >= 0),
              ("--utilisation", args.utilisation, args.utilisation is None or 0 < args.utilisation <= 1)]
    for flag, value, ok in checks:
        if not ok:
            raise InputError(f"{flag}: value {value} is out of range")
    energy = EnergySettings(meter=args.energy, idle_s=args.idle_seconds, cpu_w_per_core=args.cpu_w_per_core)
    overrides = CostOverrides(args.electricity_usd_per_kwh, args.pue, args.hardware_usd_per_hour, args.utilisation)
    return energy, overrides


def _judge_client(config, name: str):
    from harness.judging import JudgeClient

    (cfg,) = config.select([name])
    if cfg.kind in API_KINDS and missing_key_env(cfg):
        raise InputError(f"--judge {name}: set {missing_key_env(cfg)} to use it as the judge")
    return JudgeClient(cfg)


def cmd_run(args: argparse.Namespace) -> int:
    """Validate everything, then run the suite over the selected models and print the summary."""
    models_file = _models_file(args)
    config = load_models_config(models_file)
    models = config.select(args.only)
    suites = [load_suite(name) for name in args.suite]
    names = [suite.name for suite in suites]
    if len(set(names)) != len(names):
        raise InputError(f"--suite: a suite is given twice ({', '.join(names)})")
    if args.repeat < 1:
        raise InputError(f"--repeat: must be at least 1, got {args.repeat}")
    energy, cost_overrides = _energy_and_cost_settings(args)
    judge = _judge_client(config, args.judge) if args.judge else None
    skipped = {}
    for model in models:
        key_env = missing_key_env(model) if model.kind in API_KINDS else None
        if key_env:
            skipped[model.name] = {"reason": f"set {key_env} to run it", "config": model.model_dump(mode="json")}
            print(f"skipping model '{model.name}': set {key_env} to run it", file=sys.stderr)
    runnable = [m for m in models if m.name not in skipped]
    if not runnable:
        reasons = "; ".join(entry["reason"] for entry in skipped.values())
        raise InputError(f"{models_file}: no selected model can run here ({reasons})")
    try:  # missing or truncated weights stop the run here, before any model loads
        weights = {m.name: locate_weights(m) for m in runnable if m.kind == "llama_cpp"}
    except ModelSourceError as exc:
        raise ModelSourceError(f"{models_file}: {exc}") from None
    out = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 120)
    runner = Runner(suites, runnable, models_file, Path(args.out), repeat=args.repeat, argv=sys.argv,
                    weights=weights, skipped=skipped, energy=energy, cost_overrides=cost_overrides, judge=judge)
    described = ", ".join(f"{s.name} ({len(s.tasks)} tasks)" for s in suites)
    out.print(f"run {runner.run_id}: {described} × {args.repeat}, {len(runnable)} model(s)", highlight=False)
    try:
        with TerminalProgress() as progress:
            runner.progress = progress
            result = runner.run()
    except KeyboardInterrupt:
        print(f"\ninterrupted; partial results in {runner.run_dir}", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if judge is not None:
            judge.close()
    from harness.analysis import accuracy_separation, summarize  # pandas loads only for the summary
    from harness.comparison import break_even, projected_costs

    records = read_records(result.run_dir / RECORDS_FILE)
    summary = summarize(records, runner.manifest)
    for suite in suites:
        per_suite = summarize([r for r in records if r["suite"] == suite.name], runner.manifest)
        out.print(summary_table(per_suite.to_dict("records"), f"Summary · {suite.name} · sha256 {suite.sha256[:12]}"))
    if len(suites) > 1:
        out.print(summary_table(summary.to_dict("records"), f"Summary · all suites ({', '.join(names)})"))
    differences = accuracy_separation(records)
    if len(differences):
        out.print(separation_table(differences.to_dict("records")))
    projected = projected_costs(records, [m for m in models if m.name in skipped], suites) if skipped else None
    if projected is not None:
        out.print(projected_table(projected.to_dict("records")))
    comparison = break_even(summary, runner.manifest, projected)
    if len(comparison):
        out.print(break_even_table(comparison.to_dict("records")))
    print(f"records:  {result.run_dir / RECORDS_FILE}\nmanifest: {result.run_dir / 'run.json'}", flush=True)
    if not args.no_report:
        report_path = Path(args.report_dir) / f"{runner.run_id}.html"
        build_report([result.run_dir], report_path)
        print(f"report:   {report_path}", flush=True)
    for name in result.failed_models:
        print(f"model '{name}' failed: {runner.manifest['models'][name]['error']['message']}", file=sys.stderr)
    return EXIT_FAILURES_RECORDED if result.n_errors else EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
    """List configured models and whether each can run here, with the reason when not."""
    config = load_models_config(_models_file(args))
    table = Table(title=f"Models in {config.source_path}", title_justify="left")
    for header in ("name", "kind", "prompt", "can run", "detail"):
        table.add_column(header)
    for model in config.models:
        ok_runtime, runtime_reason = backend_availability(model.kind)
        if model.kind == "llama_cpp":
            ok_weights, weights_reason = weights_availability(model)
        else:
            key_env = missing_key_env(model)
            ok_weights = key_env is None
            weights_reason = f"set {key_env} to run it" if key_env else f"{model.model} at {resolve_endpoint(model).base_url}"
        ok = ok_runtime and ok_weights
        detail = runtime_reason if ok_weights and not ok_runtime else weights_reason
        table.add_row(model.name, model.kind, getattr(model, "prompt_style", "chat"), "[green]yes[/]" if ok else "[red]no[/]",
                      detail)
    Console().print(table)
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    """Write one HTML report over the given runs, with exports beside it."""
    output = args.output or Path("reports") / f"{args.run_dirs[0].name}.html"
    for path in build_report(args.run_dirs, output, args.allow_different_suites):
        print(path)
    return EXIT_OK


def cmd_suites(args: argparse.Namespace) -> int:
    """List built-in suites with task counts and content hashes."""
    table = Table(title="Built-in suites", title_justify="left")
    for header in ("name", "version", "tasks", "sha256", "description"):
        table.add_column(header)
    for name in builtin_suites():
        suite = load_suite(name)
        table.add_row(suite.name, str(suite.version), str(len(suite.tasks)), suite.sha256[:12], suite.description.strip())
    Console().print(table)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `harness` command."""
    parser = argparse.ArgumentParser(prog="harness", description="Benchmark local and API language models "
                                     "on the same tasks: cost, energy, speed and correctness.")
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a suite over the configured models")
    run.add_argument("--models", help=f"models file (default: $HARNESS_MODELS or ./{DEFAULT_MODELS_FILE})")
    run.add_argument("--suite", nargs="+", default=["smoke"], metavar="NAME|PATH",
                     help="built-in suite names or suite files (default: smoke)")
    run.add_argument("--judge", metavar="MODEL", help="models.yaml entry that grades tasks using the judge checker")
    run.add_argument("--report-dir", default="reports", help="where the run's HTML report goes (default: reports)")
    run.add_argument("--no-report", action="store_true", help="write no HTML report")
    run.add_argument("--only", nargs="+", metavar="NAME", help="run only these models")
    run.add_argument("--repeat", type=int, default=1, help="run each task N times (default: 1)")
    run.add_argument("--out", default="results", help="folder for run outputs (default: results)")
    energy = run.add_argument_group("energy (see README: Energy)")
    energy.add_argument("--energy", choices=ENERGY_CHOICES, default="auto",
                        help="energy readers: auto (NVML for GPUs, RAPL or an estimate for CPUs), or insist on one")
    energy.add_argument("--idle-seconds", type=float, default=3.0, help="idle baseline per model (default: 3; 0: none)")
    energy.add_argument("--cpu-w-per-core", type=float, help="watts per logical CPU for the CPU estimate")
    cost = run.add_argument_group("local cost model (overrides models.yaml and the defaults)")
    cost.add_argument("--electricity-usd-per-kwh", type=float, help=f"default {DEFAULT_ELECTRICITY_USD_PER_KWH}")
    cost.add_argument("--pue", type=float, help=f"power usage effectiveness, >= 1 (default {DEFAULT_PUE})")
    cost.add_argument("--hardware-usd-per-hour", type=float, help="hardware cost per hour (amortised or rented)")
    cost.add_argument("--utilisation", type=float, help="share of the day the hardware is busy, in (0, 1]")
    run.set_defaults(func=cmd_run)

    models = sub.add_parser("models", help="list configured models and whether each can run here")
    models.add_argument("--models", help=f"models file (default: $HARNESS_MODELS or ./{DEFAULT_MODELS_FILE})")
    models.set_defaults(func=cmd_models)

    report = sub.add_parser("report", help="write an HTML report (and CSV/Parquet exports) over one or more runs")
    report.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", type=Path)
    report.add_argument("-o", "--output", type=Path, help="HTML file (default: reports/<first run id>.html)")
    report.add_argument("--allow-different-suites", action="store_true",
                        help="merge runs even when their suites differ")
    report.set_defaults(func=cmd_report)

    suites = sub.add_parser("suites", help="list built-in suites")
    suites.set_defaults(func=cmd_suites)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `harness` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except InputError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


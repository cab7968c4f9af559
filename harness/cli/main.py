"""Command line: `harness run`, `report`, `summary`, `compare`, `trend`, `nightly`, `models`, `suites`.

Exit codes: 0 done with no failed request; 1 done, but some requests or models failed (recorded);
2 bad input (nothing run); 3 a regression against the baseline (`compare`, `nightly`); 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness import __version__
from harness.backends import backend_availability
from harness.cli.settings import energy_and_cost_settings
from harness.config.models import has_gguf_source, load_models_config, models_file_path
from harness.config.providers import missing_key_env, resolve_endpoint
from harness.config.sources import source_status
from harness.cost.local import DEFAULT_ELECTRICITY_USD_PER_KWH, DEFAULT_PUE
from harness.energy.select import ENERGY_CHOICES
from harness.errors import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    InputError,
)
from harness.report import build_report
from harness.suites import benchmark_suites, builtin_suites, load_suite


def _whatif(args: argparse.Namespace) -> int:
    from harness.cli.whatif import cmd_whatif

    return cmd_whatif(args)


def cmd_run(args: argparse.Namespace) -> int:
    """Validate everything, then run (or resume) and print the summary (see `harness.cli.run_command`)."""
    from harness.cli.run_command import cmd_run as run

    if args.retry_failed and not args.resume:
        raise InputError("--retry-failed: only with --resume RUN_DIR")
    if args.resume:  # to tell the flags given with --resume from those left at their defaults
        args.run_defaults = vars(build_parser().parse_args(["run"]))
    energy, cost_overrides = energy_and_cost_settings(args)
    return run(args, energy, cost_overrides)


def _size(size_bytes: int | None) -> str:
    if size_bytes is None:
        return ""
    return f"{size_bytes / 1e9:.2f} GB" if size_bytes >= 1e9 else f"{size_bytes / 1e6:.1f} MB"


def cmd_models(args: argparse.Namespace) -> int:
    """List configured models: where each one's weights come from (resolved file, size, cached or what a run
    would download) or which endpoint it calls, and whether it can run here, with the reason when not."""
    config = load_models_config(models_file_path(args.models))
    table = Table(title=f"Models in {config.source_path}", title_justify="left")
    for header in ("name", "kind", "prompt", "source", "resolved file", "size", "weights", "can run", "detail"):
        table.add_column(header, overflow="fold")  # paths are shown whole, folded across lines when narrow
    for model in config.models:
        ok_runtime, runtime_reason = backend_availability(model.kind)
        if has_gguf_source(model) or getattr(model, "model_dir", None) is not None:
            status = source_status(model)
            source, resolved, size, state = status.source, status.file, _size(status.size_bytes), status.state
            ok_weights, weights_reason = status.ok, status.detail
        else:
            key_env = missing_key_env(model)
            source, resolved, size, state = f"endpoint {model.model}", resolve_endpoint(model).base_url or "", "", ""
            ok_weights = key_env is None
            weights_reason = f"set {key_env} to run it" if key_env else ""
        ok = ok_runtime and ok_weights
        detail = runtime_reason if ok_weights and not ok_runtime else weights_reason
        table.add_row(model.name, model.kind, getattr(model, "prompt_style", "chat"), source, resolved, size, state,
                      "[green]yes[/]" if ok else "[red]no[/]", detail)
    Console().print(table)
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    """Write one HTML report over the given runs, with exports beside it."""
    output = args.output or Path("reports") / f"{args.run_dirs[0].resolve().name}.html"  # `report .` too
    for path in build_report(args.run_dirs, output, args.allow_different_suites):
        print(path)
    return EXIT_OK


def cmd_summary(args: argparse.Namespace) -> int:
    """Print the terminal summary of a run folder (see `harness.cli.summary`)."""
    from harness.cli.summary import cmd_summary as summary

    return summary(args)


def cmd_suites(args: argparse.Namespace) -> int:
    """List built-in suites with task counts and content hashes, and the recognised benchmarks with their
    source, revision, split, item count, licence and whether they can load here."""
    from harness.suites.catalog import describe_benchmark

    table = Table(title="Built-in suites", title_justify="left")
    for header in ("name", "version", "tasks", "sha256", "description"):
        table.add_column(header)
    benchmarks = benchmark_suites()
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
        row = describe_benchmark(path)
        table.add_row(name, row["source"], row["revision"], row["split"], row["items"], row["licence"], row["sha256"],
                      row["here"])
    Console().print(table)
    return EXIT_OK


def cmd_fetch(args: argparse.Namespace) -> int:
    """Put the named Hub benchmarks (or dataset suite files) into the Hugging Face cache."""
    from harness.suites.catalog import fetch_benchmark

    for name in args.names:
        print(f"{name}: {fetch_benchmark(name)}", flush=True)
    return EXIT_OK


MIN_EFFECT_HELP = ("smallest change that counts, per metric: tok_s=0.2,ttft=0.2,accuracy=0.05,cost=0.2,energy=0.2 "
                   "(relative; accuracy in points/100; these are the defaults)")


def _nightly(name: str, args: argparse.Namespace) -> int:
    from harness.cli import nightly

    return getattr(nightly, name)(args)


def _add_run_arguments(parser: argparse.ArgumentParser, default_repeat: int) -> None:
    parser.add_argument("--models", help="models file (default: $HARNESS_MODELS or ./models.yaml)")
    parser.add_argument("--suite", nargs="+", metavar="NAME|PATH",
                        help="built-in suite names or suite files (default: smoke, unless --workload is given)")
    parser.add_argument("--workload", metavar="SPEC", help="a synthetic workload (unscored; cost and speed at a token "
                        "mix): in=2000,out=300[,prefix=0.7:4096][,n=20][,seed=0][,reuse=on] or trace=FILE.jsonl "
                        "(README: Workloads)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these models")
    pick = parser.add_argument_group("part of a suite (recorded in the manifest; changes the suite's hash)")
    pick.add_argument("--limit", type=int, metavar="N", help="the first N items of each suite")
    pick.add_argument("--sample", type=int, metavar="N", help="N items drawn with --seed (by subject, in proportion, "
                      "where the suite has subjects)")
    pick.add_argument("--seed", type=int, default=0, help="seed of --sample (default: 0)")
    pick.add_argument("--subject", nargs="+", metavar="SUBJECT", help="only these subjects (e.g. MMLU's anatomy)")
    pick.add_argument("--shots", type=int, metavar="K", help="few-shot exemplars per item (0: zero-shot; default: "
                      "the suite's own, e.g. 5 for gsm8k and mmlu)")
    parser.add_argument("--repeat", type=int, default=default_repeat,
                        help=f"run each task N times (default: {default_repeat})")
    parser.add_argument("--out", default="results", help="folder for run outputs (default: results)")
    parser.add_argument("--report-dir", default="reports", help="where the HTML report goes (default: reports)")
    parser.add_argument("--profile", metavar="PROFILE", help="load profile for server endpoints (kind openai): "
                        "synchronous | concurrent:N | sweep:1,2,4,8 | poisson:RATE[:BURSTINESS]")
    parser.add_argument("--slo", metavar="SPEC", help="service-level objectives for goodput: ttft_ms=..,itl_ms=..,e2e_ms=..")
    energy = parser.add_argument_group("energy (see README: Energy)")
    energy.add_argument("--energy", choices=ENERGY_CHOICES, default="auto",
                        help="energy readers: auto (NVML for GPUs, RAPL or an estimate for CPUs), or insist on one")
    energy.add_argument("--idle-seconds", type=float, default=3.0, help="idle baseline per model (default: 3; 0: none)")
    energy.add_argument("--cpu-w-per-core", type=float, help="watts per logical CPU for the CPU estimate")
    cost = parser.add_argument_group("local cost model (overrides models.yaml and the defaults)")
    cost.add_argument("--electricity-usd-per-kwh", type=float, help=f"default {DEFAULT_ELECTRICITY_USD_PER_KWH}")
    cost.add_argument("--pue", type=float, help=f"power usage effectiveness, >= 1 (default {DEFAULT_PUE})")
    cost.add_argument("--hardware-usd-per-hour", type=float, help="hardware cost per hour (amortised or rented)")
    cost.add_argument("--utilisation", type=float, help="share of the day the hardware is busy, in (0, 1]")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `harness` command."""
    parser = argparse.ArgumentParser(prog="harness", description="Benchmark local and API language models "
                                     "on the same tasks: cost, energy, speed and correctness.")
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a suite over the configured models")
    _add_run_arguments(run, default_repeat=1)
    run.add_argument("--judge", metavar="MODEL", help="models.yaml entry that grades tasks using the judge checker")
    run.add_argument("--resume", type=Path, metavar="RUN_DIR",
                     help="continue an interrupted run with its own models, suites and settings")
    run.add_argument("--retry-failed", action="store_true", help="with --resume: run the failed requests again")
    run.add_argument("--no-report", action="store_true", help="write no HTML report")
    run.add_argument("--full", action="store_true", help="print every summary table, not the one-screen summary")
    spread = run.add_argument_group("spreading a run (README: Several machines)")
    spread.add_argument("--client-processes", type=int, metavar="N", help="split each load level between N client "
                        "processes (default: chosen per level from its size and the cores); with --ray, N client actors")
    spread.add_argument("--ray", metavar="ADDRESS", help="run local models' sessions, and load levels' clients, on "
                        "this Ray cluster (host:port, or auto); needs harness[ray] on every node")
    run.set_defaults(func=cmd_run)

    compare = sub.add_parser("compare", help="did anything regress from a baseline run to a current run? (exit 3 if so)")
    compare.add_argument("baseline", type=Path, metavar="BASELINE_RUN")
    compare.add_argument("current", type=Path, metavar="CURRENT_RUN")
    compare.add_argument("--min-effect", metavar="SPEC", help=MIN_EFFECT_HELP)
    compare.add_argument("-o", "--output", type=Path, help="also write CURRENT_RUN's report with the comparison on top")
    compare.set_defaults(func=lambda args: _nightly("cmd_compare", args))

    trend = sub.add_parser("trend", help="every run of the same suites over time, as one HTML page")
    trend.add_argument("results_dir", type=Path, metavar="RESULTS_DIR")
    trend.add_argument("-o", "--output", type=Path, default=Path("reports/trend.html"))
    trend.add_argument("--reports-dir", type=Path, default=Path("reports"), help="where the runs' reports are, to link")
    trend.set_defaults(func=lambda args: _nightly("cmd_trend", args))

    nightly = sub.add_parser("nightly", help="run with repetitions, compare with the baseline, report, trend "
                                             "(exit 3 on a regression)")
    _add_run_arguments(nightly, default_repeat=3)
    nightly.add_argument("--baseline", default="results/baseline", help="the baseline run folder (default: "
                         "results/baseline; the first run becomes it)")
    nightly.add_argument("--update-baseline", action="store_true", help="a run that did not regress becomes the baseline")
    nightly.add_argument("--min-effect", metavar="SPEC", help=MIN_EFFECT_HELP)
    nightly.set_defaults(func=lambda args: _nightly("cmd_nightly", args))

    models = sub.add_parser("models", help="list configured models and whether each can run here")
    models.add_argument("--models", help="models file (default: $HARNESS_MODELS or ./models.yaml)")
    models.set_defaults(func=cmd_models)

    report = sub.add_parser("report", help="write an HTML report (and CSV/Parquet exports) over one or more runs")
    report.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", type=Path)
    report.add_argument("-o", "--output", type=Path, help="HTML file (default: reports/<first run id>.html)")
    report.add_argument("--allow-different-suites", action="store_true",
                        help="merge runs even when their suites differ")
    report.set_defaults(func=cmd_report)

    whatif = sub.add_parser("whatif", help="re-price a finished run at another workload shape and daily volume")
    whatif.add_argument("run", metavar="RUN_DIR", help="a run folder (results/...)")
    whatif.add_argument("--workload", required=True, metavar="SPEC", help="the shape to price, as for run --workload")
    whatif.add_argument("--tasks-per-day", type=float, required=True, help="daily volume for the per-day figures")
    whatif.add_argument("--models", help="models file with the API models to price (default: the run's own)")
    whatif.set_defaults(func=_whatif)

    summary = sub.add_parser("summary", help="print a run's terminal summary again: tables, break-even, the answer")
    summary.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    summary.add_argument("--full", action="store_true", help="every table (the default is one screen: the answer, "
                         "one compact table, the break-even rows of the cheapest APIs)")
    summary.set_defaults(func=cmd_summary)

    suites = sub.add_parser("suites", help="list built-in suites and benchmarks")
    suites.set_defaults(func=cmd_suites)

    fetch = sub.add_parser("fetch", help="download Hub benchmarks (gsm8k, mmlu, ifeval) into the Hugging Face cache")
    fetch.add_argument("names", nargs="+", metavar="NAME|PATH", help="benchmark names or dataset suite files")
    fetch.set_defaults(func=cmd_fetch)
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


"""Command line: `harness run`, `report`, `summary`, `compare`, `trend`, `nightly`, `models`, `suites`.

Exit codes: 0 done with no failed request; 1 done, but some requests or models failed (recorded);
2 bad input (nothing run; also a run held by another process); 3 a regression against the baseline
(`compare`, `nightly`); 74 stopped because the results folder could not be written (disk full, read-only);
130 interrupted by Ctrl-C, 143 by SIGTERM, 129 by SIGHUP (128 + the signal's number).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import threading
import traceback
from pathlib import Path

from harness.cost.local import DEFAULT_ELECTRICITY_USD_PER_KWH, DEFAULT_PUE
from harness.cost.service_tiers import TIERS
from harness.energy.meter_setup import ENERGY_CHOICES
from harness.errors import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OUTPUT_UNWRITABLE,
    InputError,
)
from harness.version import __version__

TIER_HELP = ("also project API costs in this service tier (batch, flex, priority) beside the list price, in the "
             "projected-cost table and the break-even matrix; priced from genai-prices, else the harness's dated table")
MIN_EFFECT_HELP = ("smallest change that counts, per metric: tok_s=0.2,ttft=0.2,accuracy=0.05,cost=0.2,energy=0.2 "
                   "(relative; accuracy in points/100; these are the defaults)")


def _add_run_arguments(parser: argparse.ArgumentParser, default_repeat: int) -> None:
    parser.add_argument("--models", help="models file (default: $HARNESS_MODELS or ./models.yaml)")
    parser.add_argument("--suite", nargs="+", metavar="NAME|PATH",
                        help="built-in suite names or suite files (default: smoke, unless --workload is given)")
    parser.add_argument("--workload", metavar="SPEC", help="a synthetic workload (unscored; cost and speed at a token "
                        "mix): in=2000,out=300[,prefix=0.7:4096][,n=20][,seed=0][,reuse=on] or trace=FILE.jsonl "
                        "(docs/guides/workloads.md)")
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
    parser.add_argument("--code-isolation", choices=("best-effort", "required"), default="best-effort",
                        help="model-written code (HumanEval, python_tests): 'required' refuses to run it without user "
                        "and network namespaces; 'best-effort' (default) runs it and records what isolation there was "
                        "(docs/code-sandbox.md)")
    parser.add_argument("--out", default="results", help="folder for run outputs (default: results)")
    parser.add_argument("--report-dir", default="reports", help="where the HTML report goes (default: reports)")
    parser.add_argument("--profile", metavar="PROFILE", help="load profile for server endpoints (kind openai) and in-process models: "
                        "synchronous | concurrent:N | sweep:1,2,4,8 | poisson:RATE[:BURSTINESS] | capacity[:p90|p99][:MAX] "
                        "(the highest concurrency meeting --slo, found by search) | capacity:rate[:p90|p99][:MAX_RPS] "
                        "(the highest Poisson arrival rate meeting --slo that the engine keeps up with; "
                        "docs/guides/capacity.md)")
    parser.add_argument("--slo", metavar="SPEC", help="service-level objectives for goodput: ttft_ms=..,itl_ms=..,e2e_ms=..")
    energy = parser.add_argument_group("energy (docs/guides/energy-cost-carbon.md)")
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
    run.add_argument("--tier", choices=TIERS[1:], help=TIER_HELP)
    spread = run.add_argument_group("spreading a run (docs/guides/ray.md)")
    spread.add_argument("--client-processes", type=int, metavar="N", help="split each load level between N client "
                        "processes (default: chosen per level from its size and the cores); with --ray, N client actors")
    spread.add_argument("--client-watch-lag-ms", type=float, metavar="MS", help="flag a load level whose client "
                        "event loop's p99 lag exceeds MS (default 10); a server endpoint's flagged level is run again "
                        "with twice the client processes unless --client-processes fixes them (docs/guides/capacity.md)")
    spread.add_argument("--ray", metavar="ADDRESS", help="run local models' sessions, and load levels' clients, on "
                        "this Ray cluster (host:port, or auto); needs harness[ray] on every node")

    compare = sub.add_parser("compare", help="did anything regress from a baseline run to a current run? (exit 3 if so)")
    compare.add_argument("baseline", type=Path, metavar="BASELINE_RUN")
    compare.add_argument("current", type=Path, metavar="CURRENT_RUN")
    compare.add_argument("--min-effect", metavar="SPEC", help=MIN_EFFECT_HELP)
    compare.add_argument("-o", "--output", type=Path, help="also write CURRENT_RUN's report with the comparison on top")

    trend = sub.add_parser("trend", help="every run of the same suites over time, as one HTML page")
    trend.add_argument("results_dir", type=Path, metavar="RESULTS_DIR")
    trend.add_argument("-o", "--output", type=Path, default=Path("reports/trend.html"))
    trend.add_argument("--reports-dir", type=Path, default=Path("reports"), help="where the runs' reports are, to link")

    nightly = sub.add_parser("nightly", help="run with repetitions, compare with the baseline, report, trend "
                                             "(exit 3 on a regression)")
    _add_run_arguments(nightly, default_repeat=3)
    nightly.add_argument("--baseline", default="results/baseline", help="the baseline run folder (default: "
                         "results/baseline; the first run becomes it)")
    nightly.add_argument("--update-baseline", action="store_true", help="a run that did not regress becomes the baseline")
    nightly.add_argument("--min-effect", metavar="SPEC", help=MIN_EFFECT_HELP)

    models = sub.add_parser("models", help="list configured models and whether each can run here")
    models.add_argument("--models", help="models file (default: $HARNESS_MODELS or ./models.yaml)")

    report = sub.add_parser("report", help="write an HTML report (and CSV/Parquet exports) over one or more runs")
    report.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", type=Path)
    report.add_argument("-o", "--output", type=Path, help="HTML file (default: reports/<first run id>.html)")
    report.add_argument("--allow-different-suites", action="store_true",
                        help="merge runs even when their suites differ")
    report.add_argument("--tier", choices=TIERS[1:], help=TIER_HELP)

    whatif = sub.add_parser("whatif", help="re-price a finished run at another workload shape and daily volume")
    whatif.add_argument("run", metavar="RUN_DIR", help="a run folder (results/...)")
    whatif.add_argument("--workload", required=True, metavar="SPEC", help="the shape to price, as for run --workload")
    whatif.add_argument("--tasks-per-day", type=float, required=True, help="daily volume for the per-day figures")
    whatif.add_argument("--models", help="models file with the API models to price (default: the run's own)")

    summary = sub.add_parser("summary", help="print a run's terminal summary again: tables, break-even, the answer")
    summary.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    summary.add_argument("--full", action="store_true", help="every table (the default is one screen: the answer, "
                         "one compact table, the break-even rows of the cheapest APIs)")
    summary.add_argument("--tier", choices=TIERS[1:], help=TIER_HELP)

    sub.add_parser("suites", help="list built-in suites and benchmarks")

    fetch = sub.add_parser("fetch", help="download Hub benchmarks (gsm8k, mmlu, ifeval) into the Hugging Face cache")
    fetch.add_argument("names", nargs="+", metavar="NAME|PATH", help="benchmark names or dataset suite files")
    return parser


def entry() -> None:
    """The `harness` command's process: `main()`, then exit with its code. After a stop by a signal or an
    unwritable results folder, once the run is marked and its servers stopped, requests cut in flight on
    worker threads are not waited for (the interpreter would join them, however long they stall)."""
    code = main()
    stray = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    if stray and (code >= 128 or code == EXIT_OUTPUT_UNWRITABLE):
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)
    sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `harness` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "run" and args.resume:  # to tell the flags given with --resume from those left at defaults
        args.run_defaults = vars(parser.parse_args(["run"]))
    try:
        return importlib.import_module(f"harness.cli.commands.{args.command}").execute(args)
    except InputError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


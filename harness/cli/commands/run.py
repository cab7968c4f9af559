"""`harness run`: turn the flags into a `RunSpec`, check everything (`harness.api.prepare`), run with progress
bars, print the summary, write the report; or resume a run.

The first Ctrl-C lets the request in flight finish and stops; a second stops at once. Either way the run
is marked `interrupted` and the exact command to resume it is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from pathlib import Path
from typing import Any

from harness import api
from harness.api import Plan
from harness.cli.progress import TerminalProgress
from harness.cli.summary_view import print_summary, terminal_console
from harness.errors import EXIT_FAILURES_RECORDED, EXIT_INTERRUPTED, EXIT_OK, InputError
from harness.execution.run_spec import RunSpec, build_spec
from harness.execution.runner import Runner
from harness.store.records import RECORDS_FILE

# Flag of each RunSpec setting, for messages that name what the user typed.
SPEC_FLAGS = {"suites": "--suite", "only": "--only", "limit": "--limit", "sample": "--sample", "seed": "--seed",
              "subjects": "--subject", "shots": "--shots", "repeat": "--repeat", "profile": "--profile",
              "slo": "--slo", "judge": "--judge", "client_processes": "--client-processes", "ray": "--ray",
              "out_dir": "--out", "report_dir": "--report-dir", "code_isolation": "--code-isolation", "models_file": "--models", "workload": "--workload",
              "energy.meter": "--energy", "energy.idle_s": "--idle-seconds", "energy.cpu_w_per_core": "--cpu-w-per-core",
              "cost.electricity_usd_per_kwh": "--electricity-usd-per-kwh", "cost.pue": "--pue",
              "cost.hardware_usd_per_hour": "--hardware-usd-per-hour", "cost.utilisation": "--utilisation"}


def spec_from_args(args: argparse.Namespace) -> RunSpec:
    """The `RunSpec` the `run` / `nightly` flags describe; `InputError` naming the flag when one is out of range."""
    values = {"suites": args.suite or [], "workload": args.workload, "models_file": args.models, "only": args.only,
              "limit": args.limit, "sample": args.sample, "seed": args.seed, "subjects": args.subject,
              "shots": args.shots, "repeat": args.repeat, "profile": args.profile, "slo": args.slo,
              "energy": {"meter": args.energy, "idle_s": args.idle_seconds, "cpu_w_per_core": args.cpu_w_per_core},
              "cost": {"electricity_usd_per_kwh": args.electricity_usd_per_kwh, "pue": args.pue,
                       "hardware_usd_per_hour": args.hardware_usd_per_hour, "utilisation": args.utilisation},
              "judge": getattr(args, "judge", None), "client_processes": getattr(args, "client_processes", None),
              "ray": getattr(args, "ray", None), "code_isolation": args.code_isolation, "out_dir": args.out, "report_dir": args.report_dir,
              "write_report": not getattr(args, "no_report", False)}
    return build_spec(values, SPEC_FLAGS)


# With --resume, the run goes on with its own settings. Flags that would change which requests are sent are
# refused; the others are ignored, and the warning says which.
RESUME_REFUSED = ("suite", "repeat", "only", "profile", "judge")
RESUME_IGNORED = ("out", "report_dir", "slo", "energy", "idle_seconds", "cpu_w_per_core", "electricity_usd_per_kwh",
                  "pue", "hardware_usd_per_hour", "utilisation")


def _flag(dest: str, value: Any) -> str:
    shown = " ".join(map(str, value)) if isinstance(value, list) else value
    return f"--{dest.replace('_', '-')} {shown}"


def resume_flags(args: argparse.Namespace) -> list[str]:
    """Refuse run-shaping flags given with --resume (`InputError`); return the ignored ones, as given. A flag
    counts as given when it differs from its default (`args.run_defaults`, set by the command line)."""
    defaults = getattr(args, "run_defaults", None) or {}
    given = [dest for dest in (*RESUME_REFUSED, *RESUME_IGNORED)
             if dest in defaults and getattr(args, dest, None) != defaults[dest]]
    refused = [_flag(dest, getattr(args, dest)) for dest in given if dest in RESUME_REFUSED]
    if refused:
        raise InputError(f"--resume {args.resume}: {', '.join(refused)}: a resumed run keeps its own models, suites, "
                         "repetitions and profile; drop the flag or start a new run")
    return [_flag(dest, getattr(args, dest)) for dest in given]


def plan_resume(args: argparse.Namespace) -> Plan:
    """The interrupted run's own plan (flags that would change it refused, ignored ones named)."""
    ignored = resume_flags(args)
    plan = api.plan_resume(args.resume, args.retry_failed, Path(args.models) if args.models else None)
    if plan.report_dir is None:  # a run from before the manifest kept its report folder
        plan.report_dir = Path(args.report_dir)
    if ignored:
        print(f"warning: --resume keeps the run's own settings; ignored: {', '.join(ignored)}", file=sys.stderr)
    return plan


def resume_command(run_dir: Path, failures: bool) -> str:
    """The exact command that continues this run."""
    return f"harness run --resume {run_dir}" + (" --retry-failed" if failures else "")


@contextlib.contextmanager
def graceful_interrupt(runner: Runner):
    """First Ctrl-C: finish the request in flight, then stop. Second: stop now."""
    def handler(signum: int, frame: Any) -> None:
        if runner.stop_requested:
            raise KeyboardInterrupt
        runner.stop_requested = True
        print("\nstopping after the request in flight (Ctrl-C again to stop now)", file=sys.stderr, flush=True)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def execute(args: argparse.Namespace) -> int:
    """`harness run`: validate everything, then run (or resume), summarise and report; returns the exit code."""
    if args.retry_failed and not args.resume:
        raise InputError("--retry-failed: only with --resume RUN_DIR")
    return execute_run(args)[0]


def execute_run(args: argparse.Namespace) -> tuple[int, Path | None]:
    """Check, run, summarise, report; returns the exit code and the run folder (None if nothing was run)."""
    if args.resume:
        plan, write_report = plan_resume(args), not args.no_report
        out_dir, client_processes, ray = Path(args.out), getattr(args, "client_processes", None), None
    else:
        spec = spec_from_args(args)
        plan, write_report = api.plan_new(spec), spec.write_report
        out_dir, client_processes, ray = spec.out_dir, spec.client_processes, spec.ray
    prepared = api.prepare(plan, out_dir, argv=sys.argv, client_processes=client_processes, ray=ray)
    runner = prepared.runner
    out = terminal_console()
    described = ", ".join(f"{s.name} ({len(s.tasks)} tasks)" for s in plan.suites)
    verb = "resuming" if plan.resume else "run"
    out.print(f"{verb} {runner.run_id}: {described} × {plan.repeat}, {len(prepared.runnable)} model(s)",
              highlight=False)
    try:
        with graceful_interrupt(runner), TerminalProgress() as progress:
            runner.progress = progress
            result = runner.run()
    except KeyboardInterrupt:
        print(f"\ninterrupted; records so far are in {runner.run_dir}\nto resume: "
              f"{resume_command(runner.run_dir, False)}", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED, runner.run_dir
    finally:
        prepared.close()
    from harness.report.data import load_report_data  # pandas loads only here

    data = load_report_data([result.run_dir])
    print_summary(out, data)
    print(f"records:  {result.run_dir / RECORDS_FILE}\nmanifest: {result.run_dir / 'run.json'}", flush=True)
    report_path = api.finish(prepared, result, write_report, data)
    if report_path is not None:
        print(f"report:   {report_path}", flush=True)
    for name in result.failed_models:
        print(f"model '{name}' failed: {runner.manifest['models'][name]['error']['message']}", file=sys.stderr)
    return (EXIT_FAILURES_RECORDED if result.n_errors else EXIT_OK), result.run_dir

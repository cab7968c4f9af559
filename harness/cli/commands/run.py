"""`harness run`: turn the flags into a `RunSpec`, check everything (`harness.api.prepare`), run with progress
bars, print the summary, write the report; or resume a run.

The first Ctrl-C (or SIGTERM, SIGHUP) lets the request in flight finish and stops; a second stops at once. Either
way the run is marked `interrupted` with the signal's name and the exact command to resume it is printed. A
results folder that stops taking writes (disk full, read-only) stops the run the same way, in one line.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from harness import api
from harness.api import Plan
from harness.cli.progress import TerminalProgress
from harness.cli.summary_view import print_summary, terminal_console
from harness.errors import (
    EXIT_FAILURES_RECORDED,
    EXIT_OK,
    EXIT_OUTPUT_UNWRITABLE,
    InputError,
    OutputUnwritable,
    exit_code_for_signal,
)
from harness.execution.run_spec import RunSpec, build_spec
from harness.execution.runner import Runner
from harness.store.records import RECORDS_FILE

# Flag of each RunSpec setting, for messages that name what the user typed.
SPEC_FLAGS = {"suites": "--suite", "only": "--only", "limit": "--limit", "sample": "--sample", "seed": "--seed",
              "subjects": "--subject", "shots": "--shots", "repeat": "--repeat", "profile": "--profile",
              "slo": "--slo", "judge": "--judge", "client_processes": "--client-processes", "ray": "--ray",
              "client_watch_lag_ms": "--client-watch-lag-ms",
              "out_dir": "--out", "report_dir": "--report-dir", "code_isolation": "--code-isolation", "tier": "--tier",
              "models_file": "--models", "workload": "--workload", "energy.meter": "--energy",
              "energy.idle_s": "--idle-seconds", "energy.cpu_w_per_core": "--cpu-w-per-core",
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
              "ray": getattr(args, "ray", None), "code_isolation": args.code_isolation,
              "tier": getattr(args, "tier", None), "out_dir": args.out, "report_dir": args.report_dir,
              "write_report": not getattr(args, "no_report", False)}
    if getattr(args, "client_watch_lag_ms", None) is not None:
        values["client_watch_lag_ms"] = args.client_watch_lag_ms
    return build_spec(values, SPEC_FLAGS)


# With --resume, the run goes on with its own settings. Flags that would change which requests are sent are
# refused; the others are ignored, and the warning says which.
RESUME_REFUSED = ("suite", "repeat", "only", "profile", "judge")
RESUME_IGNORED = ("out", "report_dir", "slo", "energy", "idle_seconds", "cpu_w_per_core", "electricity_usd_per_kwh",
                  "pue", "hardware_usd_per_hour", "utilisation", "client_watch_lag_ms")


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


# Signals that stop a run gracefully: Ctrl-C, and what supervisors send (CI timeouts, `docker stop`, Kubernetes,
# a closed terminal). The first lets the requests in flight finish; a second stops at once.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# After SIGTERM or SIGHUP a supervisor's kill follows (docker stop: 10 s later): the request in flight gets this
# long, then is cut as by a second signal, so that the run is still marked and its records closed.
STOP_GRACE_S = 8.0


@contextlib.contextmanager
def graceful_interrupt(runner: Runner):
    """First stop signal: finish the request in flight (SIGTERM/SIGHUP: for at most `STOP_GRACE_S`), then
    stop. Second: stop now. The first signal's name goes to `runner.stop_reason`."""
    timers: list[threading.Timer] = []

    def handler(signum: int, frame: Any) -> None:
        if runner.stop_requested:
            raise KeyboardInterrupt
        name = signal.Signals(signum).name
        runner.stop_requested = True
        runner.stop_reason = {"signal": name}
        if signum == signal.SIGINT:
            _say("\nstopping after the request in flight (Ctrl-C again to stop now)")
            return
        _say(f"\n{name}: stopping after the request in flight, at most {STOP_GRACE_S:g} s (send it again to stop now)")
        timer = threading.Timer(STOP_GRACE_S, _second_signal, (threading.main_thread().ident,))
        timer.daemon = True
        timer.start()
        timers.append(timer)

    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for timer in timers:
            timer.cancel()
        for signum, old in previous.items():
            signal.signal(signum, old)


def _say(message: str) -> None:
    try:
        print(message, file=sys.stderr, flush=True)
    except OSError:  # SIGHUP: the terminal may be gone; the stop must not fail on that
        pass


def _second_signal(thread_id: int) -> None:
    # To the main thread itself: a signal cuts the blocking read it may be in (EINTR), then the handler above
    # raises KeyboardInterrupt there. (`_thread.interrupt_main` would wait for that read to end.)
    signal.pthread_kill(thread_id, signal.SIGINT)


def stop_exit_code(runner: Runner) -> int:
    """The exit code of a run stopped by a signal: 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP."""
    name = (runner.stop_reason or {}).get("signal", "SIGINT")
    return exit_code_for_signal(signal.Signals[name])


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
        return stop_exit_code(runner), runner.run_dir
    except OutputUnwritable as exc:
        if getattr(args, "debug", False):
            traceback.print_exc()
        print(f"\nerror: {exc}; the run stopped, its records so far are valid; to resume once it can be written: "
              f"{resume_command(runner.run_dir, False)}", file=sys.stderr, flush=True)
        return EXIT_OUTPUT_UNWRITABLE, runner.run_dir
    finally:
        prepared.close()
    from harness.report.data import load_report_data  # pandas loads only here

    data = load_report_data([result.run_dir], tier=getattr(args, "tier", None))
    full = getattr(args, "full", False)
    try:  # written first, so that the summary can say where it is
        report_path = api.finish(prepared, result, write_report, data, tier=getattr(args, "tier", None))
    except OSError as exc:  # the run itself is complete: `harness report` writes the page later
        print_summary(out, data, full=full, run_dir=result.run_dir, report_path=None)
        print(f"error: {prepared.report_dir}: cannot write the report: [Errno {exc.errno}] {exc.strerror}; the run "
              f"is complete, write it later with: harness report {result.run_dir}", file=sys.stderr, flush=True)
        return EXIT_OUTPUT_UNWRITABLE, result.run_dir
    print_summary(out, data, full=full, run_dir=result.run_dir, report_path=report_path)
    print(f"records:  {result.run_dir / RECORDS_FILE}\nmanifest: {result.run_dir / 'run.json'}", flush=True)
    if report_path is not None:
        print(f"report:   {report_path}", flush=True)
    for name in result.failed_models:
        print(f"model '{name}' failed: {runner.manifest['models'][name]['error']['message']}", file=sys.stderr)
    return (EXIT_FAILURES_RECORDED if result.n_errors else EXIT_OK), result.run_dir

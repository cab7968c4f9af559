"""`harness run`: check everything, run, print the summary, write the report; or resume a run.

Everything that can be wrong with the input is found before any model loads: the models file, the
suites, weights files (missing or truncated), settings, and whether the results folder is writable.
The first Ctrl-C lets the request in flight finish and stops; a second stops at once. Either way the run
is marked `interrupted` and the exact command to resume it is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.analysis.levels import parse_slos
from harness.cli.progress import TerminalProgress
from harness.cli.summary import print_summary, terminal_console
from harness.config.engines import GGUF_ENGINES
from harness.config.models import has_gguf_source, load_models_config, models_file_path
from harness.config.providers import missing_key_env
from harness.config.redact import public_config
from harness.config.sources import locate_weights
from harness.cost.local import CostOverrides
from harness.cost.pricing import API_KINDS
from harness.energy.select import EnergySettings
from harness.errors import EXIT_FAILURES_RECORDED, EXIT_INTERRUPTED, EXIT_OK, InputError, ModelSourceError, SuiteError
from harness.report import build_report
from harness.run.loadgen import Level, parse_profile
from harness.run.resume import ResumeState, check_unchanged, prepare_resume
from harness.run.runner import Runner
from harness.store.fsutil import child_path
from harness.store.records import RECORDS_FILE
from harness.suites import load_suite, reload_suite
from harness.suites.selection import Selection


@dataclass
class Plan:
    """What a run will do, once every input has been checked."""

    models_file: Path
    config: Any
    models: list[Any]
    suites: list[Any]
    repeat: int
    energy: EnergySettings
    cost_overrides: CostOverrides
    judge_name: str | None
    resume: ResumeState | None = None
    skipped: dict[str, dict] = field(default_factory=dict)
    levels: list[Level] = field(default_factory=list)
    slos: dict[str, float] = field(default_factory=dict)
    report_dir: Path | None = None  # a resumed run's own; else --report-dir


def plan_new(args: argparse.Namespace, energy: EnergySettings, overrides: CostOverrides) -> Plan:
    """A new run from the command line."""
    models_file = models_file_path(args.models)
    config = load_models_config(models_file)
    selection = Selection(limit=args.limit, sample=args.sample, seed=args.seed, shots=args.shots,
                          subjects=tuple(args.subject) if args.subject else None)
    suite_names = args.suite or ([] if getattr(args, "workload", None) else ["smoke"])
    suites = load_suites(suite_names, selection)
    levels = parse_profile(args.profile) if args.profile else []
    if getattr(args, "workload", None):
        workload = load_suite(f"workload:{args.workload}")
        suites.append(workload)
        if not levels and all(t.workload.at_s is not None for t in workload.tasks):
            levels = [Level("trace")]  # server endpoints replay the trace's arrival times
    names = [suite.name for suite in suites]
    if len(set(names)) != len(names):
        raise InputError(f"--suite: a suite is given twice ({', '.join(names)})")
    if args.repeat < 1:
        raise InputError(f"--repeat: must be at least 1, got {args.repeat}")
    return Plan(models_file, config, config.select(args.only), suites, args.repeat, energy, overrides, args.judge,
                levels=levels, slos=parse_slos(args.slo))


def load_suites(names: list[str], selection: Selection) -> list[Any]:
    """The suites named on the command line, each with the selection applied (a suite that has no subjects
    or no exemplars for --subject or --shots is an error naming it)."""
    return [load_suite(name, selection) for name in names]


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
    """The interrupted run's own plan, checked against the current models file and suites."""
    ignored = resume_flags(args)
    state = prepare_resume(args.resume, args.retry_failed)
    if ignored:
        print(f"warning: --resume keeps the run's own settings; ignored: {', '.join(ignored)}", file=sys.stderr)
    settings = state.manifest.get("settings", {})
    models_file = Path(args.models or state.manifest["models_file"])
    config = load_models_config(models_file)
    models = config.select(settings["models"] + list(state.manifest.get("skipped_models", {})))
    suites = []
    for info in state.manifest["suites"]:
        try:
            suites.append(reload_suite(info))
        except SuiteError as exc:
            raise InputError(f"--resume {args.resume}: suite {info['name']}: {exc}") from None
    check_unchanged(state, models, suites)
    energy = EnergySettings(**settings.get("energy", {}))
    overrides = CostOverrides(**settings.get("cost_overrides", {}))
    return Plan(models_file, config, models, suites, settings["repeat"], energy, overrides, settings.get("judge"),
                resume=state, levels=[Level(**level) for level in settings.get("profile") or []],
                slos=settings.get("slos") or {},
                report_dir=Path(settings["report_dir"]) if settings.get("report_dir") else None)


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


def cmd_run(args: argparse.Namespace, energy: EnergySettings, overrides: CostOverrides) -> int:
    """Check, run, summarise, report; returns the exit code."""
    return execute_run(args, energy, overrides)[0]


def execute_run(args: argparse.Namespace, energy: EnergySettings, overrides: CostOverrides) -> tuple[int, Path | None]:
    """Check, run, summarise, report; returns the exit code and the run folder (None if nothing was run)."""
    plan = plan_resume(args) if args.resume else plan_new(args, energy, overrides)
    for model in plan.models:
        key_env = missing_key_env(model) if model.kind in API_KINDS else None
        if key_env:
            plan.skipped[model.name] = {"reason": f"set {key_env} to run it", "config": public_config(model)}
            print(f"skipping model '{model.name}': set {key_env} to run it", file=sys.stderr)
    runnable = [m for m in plan.models if m.name not in plan.skipped]
    if not runnable:
        reasons = "; ".join(entry["reason"] for entry in plan.skipped.values())
        raise InputError(f"{plan.models_file}: no selected model can run here ({reasons})")
    try:  # missing or truncated weights stop the run here, before any model loads
        weights = {m.name: locate_weights(m) for m in runnable if has_gguf_source(m)}
        for m in runnable:  # a preset's GGUF source is found (or fetched) now too, not when its server starts
            launch_model = getattr(getattr(m, "launch", None), "model", None)
            if launch_model is not None and not isinstance(launch_model, str) and m.launch.engine in GGUF_ENGINES:
                locate_weights(launch_model.model_copy(update={"name": m.name}))
    except ModelSourceError as exc:
        raise ModelSourceError(f"{plan.models_file}: {exc}") from None
    judge = None
    if plan.judge_name:
        from harness.run.judging import JudgeClient

        (judge_cfg,) = plan.config.select([plan.judge_name])
        if judge_cfg.kind in API_KINDS and missing_key_env(judge_cfg):
            raise InputError(f"--judge {plan.judge_name}: set {missing_key_env(judge_cfg)} to use it as the judge")
        judge = JudgeClient(judge_cfg)
    client_processes = getattr(args, "client_processes", None)
    if client_processes is not None and client_processes < 1:
        raise InputError(f"--client-processes {client_processes}: expected a whole number of at least 1")
    cluster = None
    if getattr(args, "ray", None):
        from harness.run.ray_cluster import RayCluster

        cluster = RayCluster(args.ray)
    runner = Runner(plan.suites, runnable, plan.models_file, Path(args.out), repeat=plan.repeat, argv=sys.argv,
                    weights=weights, skipped=plan.skipped, energy=plan.energy, cost_overrides=plan.cost_overrides,
                    judge=judge, resume=plan.resume, levels=plan.levels, client_processes=client_processes,
                    ray=cluster)
    report_dir = plan.report_dir or Path(args.report_dir).resolve()
    runner.manifest["settings"].update(slos=plan.slos, report_dir=str(report_dir))
    runner.manifest.setdefault("placement", []).append(
        {"client_processes": client_processes, "ray": cluster.facts if cluster is not None else None})
    try:
        runner.prepare()
    except OSError as exc:
        raise InputError(f"--out {args.out}: cannot write results there: {exc}") from None
    out = terminal_console()
    described = ", ".join(f"{s.name} ({len(s.tasks)} tasks)" for s in plan.suites)
    verb = "resuming" if plan.resume else "run"
    out.print(f"{verb} {runner.run_id}: {described} × {plan.repeat}, {len(runnable)} model(s)", highlight=False)
    try:
        with graceful_interrupt(runner), TerminalProgress() as progress:
            runner.progress = progress
            result = runner.run()
    except KeyboardInterrupt:
        print(f"\ninterrupted; records so far are in {runner.run_dir}\nto resume: "
              f"{resume_command(runner.run_dir, False)}", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED, runner.run_dir
    finally:
        if judge is not None:
            judge.close()
        if cluster is not None:
            cluster.close()
    from harness.report.data import load_report_data  # pandas loads only here

    data = load_report_data([result.run_dir])
    report_path = None if args.no_report else child_path(report_dir, runner.run_id, ".html")
    if report_path is not None:
        build_report([result.run_dir], report_path, data=data)
    print_summary(out, data, full=getattr(args, "full", False), run_dir=result.run_dir, report_path=report_path)
    print(f"records:  {result.run_dir / RECORDS_FILE}\nmanifest: {result.run_dir / 'run.json'}", flush=True)
    if report_path is not None:
        print(f"report:   {report_path}", flush=True)
    for name in result.failed_models:
        print(f"model '{name}' failed: {runner.manifest['models'][name]['error']['message']}", file=sys.stderr)
    return (EXIT_FAILURES_RECORDED if result.n_errors else EXIT_OK), result.run_dir

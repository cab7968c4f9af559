"""The Python API: `run(spec)` and `resume(run_dir)`, and the checked plan the command line runs too.

Everything that can be wrong with the input is found before any model loads: the models file, the suites,
weights files (missing or truncated), settings, and whether the results folder is writable. `prepare`
does those checks and returns a `PreparedRun` holding the runner; `run` prepares, runs and writes the
report, printing nothing. The command line (`harness.cli.commands.run`) adds progress bars, Ctrl-C and
SIGTERM handling and the terminal summary around the same `prepare`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.config.engines import GGUF_ENGINES
from harness.config.kinds import API_KINDS
from harness.config.model_config import ModelConfig, has_gguf_source
from harness.config.models_file import ModelsConfig, load_models_config, models_file_path
from harness.config.providers import missing_key_env
from harness.config.redact import public_config
from harness.config.sources import locate_weights
from harness.cost.local import CostOverrides
from harness.energy.meter_setup import EnergySettings
from harness.errors import InputError, ModelSourceError, SuiteError
from harness.execution.loadgen import Level
from harness.execution.rate_search import LevelSearch
from harness.execution.resume import ResumeState, check_unchanged, prepare_resume
from harness.execution.run_spec import RunSpec
from harness.execution.runner import Runner, RunResult
from harness.store.atomic_files import child_path
from harness.suites import Suite, load_suite, reload_suite
from harness.suites.selection import Selection


@dataclass
class Plan:
    """What a run will do, once every input has been checked."""

    models_file: Path
    config: ModelsConfig
    models: list[ModelConfig]
    suites: list[Suite]
    repeat: int
    energy: EnergySettings
    cost_overrides: CostOverrides
    judge_name: str | None
    resume: ResumeState | None = None
    skipped: dict[str, dict[str, Any]] = field(default_factory=dict)
    levels: list[Level] = field(default_factory=list)
    slos: dict[str, float] = field(default_factory=dict)
    report_dir: Path | None = None  # a resumed run's own; else the spec's
    spec: RunSpec | None = None
    code_isolation: str = "best-effort"
    search: LevelSearch | None = None  # --profile capacity
    watch_lag_ms: float = 10.0  # --client-watch-lag-ms


def plan_new(spec: RunSpec) -> Plan:
    """A new run's plan: the models file and the suites loaded and checked."""
    models_file = models_file_path(spec.models_file)
    config = load_models_config(models_file)
    selection = Selection(limit=spec.limit, sample=spec.sample, seed=spec.seed, shots=spec.shots,
                          subjects=tuple(spec.subjects) if spec.subjects else None)
    suites = [load_suite(name, selection) for name in spec.suite_names()]
    levels, search = spec.levels(), spec.capacity_search()
    if spec.workload:
        workload = load_suite(f"workload:{spec.workload}")
        suites.append(workload)
        if not levels and not search and all(t.workload is not None and t.workload.at_s is not None
                                             for t in workload.tasks):
            levels = [Level("trace")]  # server endpoints and in-process models replay the trace's arrival times
    names = [suite.name for suite in suites]
    if len(set(names)) != len(names):
        raise InputError(f"--suite: a suite is given twice ({', '.join(names)})")
    return Plan(models_file, config, config.select(spec.only), suites, spec.repeat, spec.energy.settings(),
                spec.cost.overrides(), spec.judge, levels=levels, slos=spec.slos(), report_dir=Path(spec.report_dir),
                spec=spec, code_isolation=spec.code_isolation, search=search, watch_lag_ms=spec.client_watch_lag_ms)


def plan_resume(run_dir: Path, retry_failed: bool = False, models_file: Path | None = None) -> Plan:
    """An interrupted run's own plan, checked against the current models file and suites."""
    state = prepare_resume(run_dir, retry_failed)
    settings = state.manifest.get("settings", {})
    if settings.get("capacity_search"):
        raise InputError(f"--resume {run_dir}: a capacity search chooses each level from the ones before it "
                         "and cannot be resumed; start a new run")
    models_path = Path(models_file or state.manifest["models_file"])
    config = load_models_config(models_path)
    models = config.select(settings["models"] + list(state.manifest.get("skipped_models", {})))
    suites = []
    for info in state.manifest["suites"]:
        try:
            suites.append(reload_suite(info))
        except SuiteError as exc:
            raise InputError(f"--resume {run_dir}: suite {info['name']}: {exc}") from None
    check_unchanged(state, models, suites)
    energy = EnergySettings(**settings.get("energy", {}))
    overrides = CostOverrides(**settings.get("cost_overrides", {}))
    return Plan(models_path, config, models, suites, settings["repeat"], energy, overrides, settings.get("judge"),
                resume=state, levels=[Level(**level) for level in settings.get("profile") or []],
                slos=settings.get("slos") or {},
                report_dir=Path(settings["report_dir"]) if settings.get("report_dir") else None,
                code_isolation=(settings.get("spec") or {}).get("code_isolation", "best-effort"),
                watch_lag_ms=(settings.get("spec") or {}).get("client_watch_lag_ms", 10.0))


@dataclass
class PreparedRun:
    """A checked run, its folder created and its manifest written, ready to `runner.run()`."""

    plan: Plan
    runner: Runner
    runnable: list[ModelConfig]
    report_dir: Path
    judge: Any = None
    cluster: Any = None

    def close(self) -> None:
        """Release the judge's client and the Ray cluster connection."""
        if self.judge is not None:
            self.judge.close()
        if self.cluster is not None:
            self.cluster.close()


def prepare(plan: Plan, out_dir: Path, argv: list[str] | None = None, client_processes: int | None = None,
            ray: str | None = None, warn: Any = None) -> PreparedRun:
    """Check what only a plan can tell (keys, weights, the judge), create the run folder and write the
    manifest. Models whose API key is not set are skipped, each with one line through `warn`."""
    warn = warn or (lambda message: print(message, file=sys.stderr))
    for model in plan.models:
        key_env = missing_key_env(model) if model.kind in API_KINDS else None
        if key_env:
            plan.skipped[model.name] = {"reason": f"set {key_env} to run it", "config": public_config(model)}
            warn(f"skipping model '{model.name}': set {key_env} to run it")
    runnable = [m for m in plan.models if m.name not in plan.skipped]
    if not runnable:
        reasons = "; ".join(entry["reason"] for entry in plan.skipped.values())
        raise InputError(f"{plan.models_file}: no selected model can run here ({reasons})")
    try:  # missing or truncated weights stop the run here, before any model loads
        weights = {m.name: locate_weights(m) for m in runnable if has_gguf_source(m)}
        for m in runnable:  # a preset's GGUF source is found (or fetched) now too, not when its server starts
            launch = m.launch
            launch_model = getattr(launch, "model", None)
            if launch is not None and launch_model is not None and not isinstance(launch_model, str) \
                    and launch.engine in GGUF_ENGINES:
                locate_weights(launch_model.model_copy(update={"name": m.name}))
    except ModelSourceError as exc:
        raise ModelSourceError(f"{plan.models_file}: {exc}") from None
    judge = None
    if plan.judge_name:
        from harness.execution.judging import JudgeClient

        (judge_cfg,) = plan.config.select([plan.judge_name])
        if judge_cfg.kind in API_KINDS and missing_key_env(judge_cfg):
            raise InputError(f"--judge {plan.judge_name}: set {missing_key_env(judge_cfg)} to use it as the judge")
        judge = JudgeClient(judge_cfg)
    cluster = None
    if ray:
        from harness.execution.ray_cluster import RayCluster

        cluster = RayCluster(ray)
    runner = Runner(plan.suites, runnable, plan.models_file, Path(out_dir), repeat=plan.repeat, argv=argv,
                    weights=weights, skipped=plan.skipped, energy=plan.energy, cost_overrides=plan.cost_overrides,
                    judge=judge, resume=plan.resume, levels=plan.levels, client_processes=client_processes,
                    ray=cluster, code_isolation=plan.code_isolation, search=plan.search,
                    watch_lag_ms=plan.watch_lag_ms)
    report_dir = (plan.report_dir or Path("reports")).resolve()
    runner.manifest["settings"].update(slos=plan.slos, report_dir=str(report_dir))
    if plan.spec is not None:
        runner.manifest["settings"]["spec"] = plan.spec.settings_dump()
    runner.manifest.setdefault("placement", []).append(
        {"client_processes": client_processes, "ray": cluster.facts if cluster is not None else None})
    prepared = PreparedRun(plan, runner, runnable, report_dir, judge, cluster)
    try:
        runner.prepare()
    except OSError as exc:
        prepared.close()
        where = f"--resume {runner.run_dir}" if plan.resume else f"--out {out_dir}"
        raise InputError(f"{where}: cannot write results there: {exc}") from None
    return prepared


def finish(prepared: PreparedRun, result: RunResult, write_report: bool, data: Any = None,
           tier: str | None = None) -> Path | None:
    """Write the run's report (unless not wanted); its path, or None."""
    if not write_report:
        return None
    from harness.report import build_report

    report_path = child_path(prepared.report_dir, prepared.runner.run_id, ".html")
    build_report([result.run_dir], report_path, data=data, tier=tier)
    return report_path


def run(spec: RunSpec, progress: Any = None) -> RunResult:
    """Run `spec` to the end and write its report; the run folder, record and error counts, and the report.

    Prints nothing but warnings (a model skipped for a missing key). `progress`: an object with the
    `harness.execution.runner.Progress` methods, for callers that want to follow the run."""
    prepared = prepare(plan_new(spec), spec.out_dir, argv=["harness.run(spec)"], client_processes=spec.client_processes,
                       ray=spec.ray)
    try:
        if progress is not None:
            prepared.runner.progress = progress
        result = prepared.runner.run()
    finally:
        prepared.close()
    result.report_path = finish(prepared, result, spec.write_report, tier=spec.tier)
    return result


def resume(run_dir: Path, retry_failed: bool = False, write_report: bool = True) -> RunResult:
    """Continue an interrupted run with its own models, suites and settings (see docs/guides/interrupted-runs.md)."""
    plan = plan_resume(Path(run_dir), retry_failed)
    settings = plan.resume.manifest.get("settings", {}) if plan.resume else {}
    prepared = prepare(plan, Path(settings.get("out_dir", Path(run_dir).parent)), argv=["harness.resume(run_dir)"])
    try:
        result = prepared.runner.run()
    finally:
        prepared.close()
    result.report_path = finish(prepared, result, write_report)
    return result

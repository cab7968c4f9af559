"""The runner: runs suites over models one model at a time, appending one record per request.

It owns the run folder: `records.jsonl` (appended and flushed per request) and `run.json` (rewritten
atomically at each step). A stop request (the first Ctrl-C) lets the request in flight finish and then
stops; the run is marked `interrupted` and can be resumed (`harness.execution.resume`). A model that fails to load
is recorded as failed — an error record for every request it owed — and the other models still run.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.checkers.sandbox_exec import probe_isolation
from harness.config.kinds import API_KINDS
from harness.config.redact import public_config
from harness.config.sources import Weights
from harness.cost.local import CostOverrides
from harness.energy.meter_setup import EnergySettings
from harness.errors import HarnessError, OutputUnwritable
from harness.execution.client_processes import NodeLost
from harness.execution.loadgen import Level
from harness.execution.rate_search import LevelSearch
from harness.execution.resume import ResumeState
from harness.execution.session import IN_PROCESS_KINDS, Job, ModelSession, describe_failure, failure_record
from harness.execution.session_context import Progress, SessionContext, SilentProgress, base_record
from harness.store.atomic_files import child_path
from harness.store.manifest import new_manifest, write_manifest
from harness.store.records import RECORDS_FILE, RecordWriter
from harness.store.runlock import RunLock
from harness.suites import Suite, Task

CODE_CHECKERS = ("python_tests", "humaneval")  # checkers that run model-written code in the sandbox





class RunStopped(KeyboardInterrupt):
    """The run stopped on request after finishing the requests in flight."""


# Errors that mean the output folder takes no more writes, whichever file was being written.
FULL_OR_READ_ONLY = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG)


def output_failure(exc: OSError, run_dir: Path) -> bool:
    """Whether `exc` is the run folder refusing writes (full, over quota, read-only, or its permissions taken
    away) rather than some other failure."""
    if exc.errno in FULL_OR_READ_ONLY:
        return True
    return exc.errno in (errno.EACCES, errno.EPERM) and str(exc.filename or "").startswith(str(run_dir))


@dataclass
class RunResult:
    """Where a run wrote its outputs and how it went."""

    run_dir: Path
    n_records: int = 0
    n_errors: int = 0
    failed_models: list[str] = field(default_factory=list)
    report_path: Path | None = None  # written by harness.api when the run asked for a report


def new_run_id(suite_names: list[str]) -> str:
    """A sortable, unique run id: UTC time, suite names and a short random suffix."""
    names = "+".join(suite_names)[:60]
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{names}-{secrets.token_hex(3)}"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Runner:
    """Runs suites over models, writing records.jsonl and run.json under `out_dir/<run_id>`."""

    def __init__(self, suites: list[Suite], models: list[Any], models_file: Path, out_dir: Path, repeat: int = 1,
                 argv: list[str] | None = None, progress: Progress | None = None, run_id: str | None = None,
                 weights: dict[str, Weights] | None = None, skipped: dict[str, dict] | None = None,
                 energy: EnergySettings | None = None, cost_overrides: CostOverrides | None = None,
                 judge: Any = None, resume: ResumeState | None = None, levels: list[Level] | None = None,
                 client_processes: int | None = None, ray: Any = None, search: LevelSearch | None = None,
                 code_isolation: str = "best-effort", watch_lag_ms: float = 10.0) -> None:
        self.suites = suites
        self.code_isolation = code_isolation  # "required": refuse to run model-written code without namespaces
        self.models = models
        self.weights = dict(weights or {})
        self.energy = energy or EnergySettings()
        self.cost_overrides = cost_overrides or CostOverrides()
        self.judge = judge  # a JudgeClient, or None: judge checkers then give verdict `error`
        self.repeat = repeat
        self.progress = progress or SilentProgress()
        self.stop_requested = False
        self.stop_reason: dict[str, Any] | None = None  # why it stops, for the manifest: {"signal": "SIGTERM"}
        self.lock: RunLock | None = resume.lock if resume else None
        self.levels = list(levels or [])  # load levels for server endpoints (`--profile`)
        self.search = search  # `--profile capacity`: levels chosen one at a time (run/capacity_search.py)
        self.client_processes = client_processes  # None: chosen per level (run/clients.py)
        self.watch_lag_ms = watch_lag_ms  # the self-watch's event-loop lag limit (--client-watch-lag-ms)
        self.ray = ray  # a RayCluster (run/ray_cluster.py): sessions and client actors on its nodes, or None
        self.done = set(resume.done) if resume else set()
        self.resumed = resume is not None
        if resume is not None:
            self.run_dir, self.manifest = resume.run_dir, resume.manifest
            self.run_id = self.manifest["run_id"]
            resumed = {"at": _now(), "command_line": list(argv or [])}
            if "stopped_by" in self.manifest:  # why the earlier session stopped stays, with this resume
                resumed["earlier_stop"] = self.manifest.pop("stopped_by")
            self.manifest.setdefault("resumed", []).append(resumed)
            self._prepared = True
            return
        self.run_id = run_id or new_run_id([s.name for s in suites])
        self.run_dir = child_path(out_dir, self.run_id)
        self.manifest = new_manifest(
            self.run_id, argv or [], suites, models_file,
            settings={"repeat": repeat, "models": [m.name for m in models], "out_dir": str(Path(out_dir).resolve()),
                      "energy": vars(self.energy), "cost_overrides": vars(self.cost_overrides),
                      "judge": judge.cfg.name if judge else None,
                      "profile": [vars(level) for level in self.levels] or None,
                      "capacity_search": search.settings() if search else None},
        )
        self.manifest["skipped_models"] = dict(skipped or {})  # name -> {"reason": ..., "config": ...}
        self._prepared = False

    def prepare(self) -> None:
        """Create the run folder and write the manifest; an OSError here means the folder is not writable."""
        if self._prepared:
            if self.resumed:  # the folder exists: is it still writable? (an OSError here, before any model loads)
                write_manifest(self.run_dir, self.manifest)
            return
        self.run_dir.mkdir(parents=True, exist_ok=False)
        self.lock = RunLock(self.run_dir).acquire()  # a new folder: nobody else can hold it yet
        write_manifest(self.run_dir, self.manifest)
        self._prepared = True

    def session_context(self) -> SessionContext:
        """What a model's session needs from this run (settings, its stop flag, the progress display)."""
        return SessionContext(run_id=self.run_id, run_dir=self.run_dir, energy=self.energy,
                              cost_overrides=self.cost_overrides, weights=self.weights, judge=self.judge,
                              progress=self.progress, client_processes=self.client_processes, ray=self.ray,
                              watch_lag_ms=self.watch_lag_ms,
                              stopping=lambda: self.stop_requested)

    def base_record(self, model_name: str, suite: Suite, task: Task, repetition: int) -> dict[str, Any]:
        """The identity fields every record starts with (and the task's subject, for per-subject figures)."""
        return base_record(self.run_id, model_name, suite, task, repetition)

    def _jobs(self, model_name: str, level: str = "") -> list[Job]:
        return [(suite, repetition, task) for suite in self.suites for repetition in range(self.repeat)
                for task in suite.tasks if (model_name, suite.name, task.id, repetition, level) not in self.done]

    def _profiled(self, cfg: Any) -> bool:
        """A profile applies to server endpoints and to in-process models (not to paid APIs other than through
        an OpenAI-compatible endpoint, nor to a model run on a Ray node)."""
        if not self.levels and self.search is None:
            return False
        return cfg.kind == "openai" or (cfg.kind in IN_PROCESS_KINDS and self.ray is None)

    def _pending(self, cfg: Any) -> int:
        if self._profiled(cfg) and self.search is not None:  # the number of levels is known at the end only
            return len(self._jobs(cfg.name, "concurrent:1")) * self.search.max_levels()
        if self._profiled(cfg):
            return sum(len(self._jobs(cfg.name, level.name)) for level in self.levels)
        return len(self._jobs(cfg.name))

    def _measure_bandwidth(self) -> None:
        host = self.manifest["host"]
        local = [m for m in self.models if m.kind not in API_KINDS]
        if local and "memory_bandwidth" not in host:
            from harness.energy.roofline import cpu_copy_bandwidth_gbs

            # as many threads as the most threaded model decodes with (its default: the usable cores)
            usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
            threads = max(m.n_threads or usable for m in local)
            bandwidth = host["memory_bandwidth"] = {"cpu": cpu_copy_bandwidth_gbs(threads)}
            if host.get("gpus"):
                from harness.energy.nvml import gpu_memory_bandwidth_gbs

                bandwidth["gpus"] = {f"gpu{g['index']}": {"gbs": gpu_memory_bandwidth_gbs(g["index"]),
                                                         "method": "NVML max memory clock x bus width x 2"}
                                     for g in host["gpus"]}

    def _check_code_isolation(self) -> None:
        """Probe the sandbox once when a suite runs model-written code; record it, warn, or refuse."""
        checkers = [t.checker for s in self.suites for t in s.tasks if t.checker.kind in CODE_CHECKERS]
        if not checkers:
            return
        required = self.code_isolation == "required" or any(getattr(c, "isolation", "") == "required" for c in checkers)
        facts = {**probe_isolation(), "setting": "required" if required else "best-effort"}
        self.manifest["code_isolation"] = facts
        if facts["isolated"]:
            return
        if required:
            self.manifest["status"] = "failed"
            write_manifest(self.run_dir, self.manifest)
            raise HarnessError(f"code isolation is required and unavailable here: {facts['summary']} "
                               "(docs/code-sandbox.md)")
        self.progress.warn(f"model-written code runs without namespace isolation: {facts['summary']}")
        write_manifest(self.run_dir, self.manifest)

    def run(self) -> RunResult:
        """Run every model over every task and repetition not yet recorded."""
        self.prepare()
        self._check_code_isolation()
        self.manifest["status"] = "running"
        result = RunResult(run_dir=self.run_dir)
        output_error: OSError | None = None
        try:
            self._measure_bandwidth()
            write_manifest(self.run_dir, self.manifest)
            with RecordWriter(self.run_dir / RECORDS_FILE) as writer:
                for model_cfg in self.models:
                    self._run_model(model_cfg, writer, result)
                    if self.stop_requested:
                        raise RunStopped()
        except KeyboardInterrupt:
            self.manifest["status"] = "interrupted"
            self.manifest["stopped_by"] = self.stop_reason or {"signal": "SIGINT"}
            raise
        except OSError as exc:
            if not output_failure(exc, self.run_dir):
                self.manifest["status"] = "failed"
                raise
            output_error = exc
            self.manifest["status"] = "interrupted"
            self.manifest["stopped_by"] = {"output_error": f"[Errno {exc.errno}] {exc.strerror}",
                                           "folder": str(self.run_dir)}
            raise OutputUnwritable(str(self.run_dir), exc) from exc
        except BaseException:
            self.manifest["status"] = "failed"
            raise
        else:
            self.manifest["status"] = "complete"
        finally:
            self.manifest["finished_at"] = _now()
            try:
                write_manifest(self.run_dir, self.manifest)
            except OSError:
                if output_error is None:
                    raise  # else: it says why only if it can be written; the records stand either way
            finally:
                if self.lock is not None:
                    self.lock.release()
        return result

    def _entry(self, cfg: Any) -> dict[str, Any]:
        entry = self.manifest["models"].get(cfg.name)
        fresh = {"kind": cfg.kind, "config": public_config(cfg), "status": "loading"}
        if entry is None:
            self.manifest["models"][cfg.name] = fresh
            return fresh
        entry["config"] = public_config(cfg)  # a run begun before values were redacted keeps none either
        # Resumed: this session's load, meter and idle baseline replace the earlier ones, which are kept.
        earlier = {k: entry.pop(k) for k in ("load", "load_s", "idle", "energy_meter", "energy_window") if k in entry}
        entry.setdefault("earlier_sessions", []).append(earlier)
        entry.update(status="loading")
        return entry

    def _run_model(self, cfg: Any, writer: RecordWriter, result: RunResult) -> None:
        n_pending = self._pending(cfg)
        if not n_pending:
            return
        entry = self._entry(cfg)
        self.progress.model_started(cfg.name, n_pending)
        remote = self.ray is not None and cfg.kind not in API_KINDS  # a local model, run on a cluster node
        context = self.session_context()
        session = self.ray.session(cfg, entry, context) if remote else ModelSession(cfg, entry, context)
        try:
            session.load()
        except Exception as exc:  # noqa: BLE001 - a model that fails to load must not stop the others
            session.close()
            levels = [level.name for level in self.levels] if self._profiled(cfg) else [""]
            owed = [(job, level) for level in levels for job in self._jobs(cfg.name, level)]
            self._fail_model(cfg, entry, owed, writer, result, describe_failure(exc, entry))
            return
        except BaseException:  # a second stop signal while it loads: its launched server is stopped too
            session.close()
            raise
        entry["status"] = "running"
        stop = lambda: self.stop_requested  # noqa: E731
        if self._profiled(cfg):
            search = self.search.fresh() if self.search is not None else None  # one per model
            records = session.level_records(self.levels, lambda level: self._jobs(cfg.name, level), stop, search)
        else:
            records = session.records(self._jobs(cfg.name), stop)
        # failures per (level, attempt): a level run again supersedes its earlier attempt's failures too
        failed: dict[tuple[str, int], int] = {}
        latest: dict[str, int] = {}
        try:
            write_manifest(self.run_dir, self.manifest)  # in here: a full disk must still stop its server
            for record in records:
                writer.write(record)
                result.n_records += 1
                where, attempt = record.get("level") or "", record.get("attempt") or 1
                latest[where] = max(latest.get(where, 1), attempt)
                if record["error"] is not None:
                    failed[(where, attempt)] = failed.get((where, attempt), 0) + 1
                self.progress.request_done(cfg.name, record)
        except NodeLost as exc:  # its node went away: what it owed is recorded as failed (resume retries it)
            self._fail_model(cfg, entry, [(job, "") for job in exc.owed], writer, result, exc.error)
            return
        finally:
            result.n_errors += sum(n for (where, attempt), n in failed.items() if attempt == latest[where])
            session.close()
            write_manifest(self.run_dir, self.manifest)
        if self.stop_requested:
            entry["status"] = "interrupted"
            self.progress.model_finished(cfg.name, "interrupted", None)
            return
        entry["status"] = "complete"
        write_manifest(self.run_dir, self.manifest)
        self.progress.model_finished(cfg.name, "complete", None)

    def _fail_model(self, cfg: Any, entry: dict[str, Any], owed: list[tuple[Job, str]], writer: RecordWriter,
                    result: RunResult, error: dict[str, Any]) -> None:
        """Record the failure once in the manifest and as an error record for every request it owed."""
        entry.update(status="failed", error=error)
        for (suite, repetition, task), level in owed:
            base = self.base_record(cfg.name, suite, task, repetition)
            if level:
                base["level"] = level
            writer.write(failure_record(base, task, error))
            result.n_records += 1
            result.n_errors += 1
        result.failed_models.append(cfg.name)
        write_manifest(self.run_dir, self.manifest)
        self.progress.model_finished(cfg.name, "failed", error["message"])

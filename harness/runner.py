"""The runner: loads each model, sends every task (through `harness.request`, which does all the timing),
checks each answer, prices it, and appends one record per request."""

from __future__ import annotations

import datetime as dt
import secrets
import time
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from harness.backends import Prompt, backend_class
from harness.checkers import run_checker
from harness.costmodel import CostOverrides, local_task_cost_usd, resolve_local_cost
from harness.energy import MeterError, window_total
from harness.energy.select import EnergySettings, build_meter, describe_meter
from harness.errors import BackendUnavailable, HarnessError, ModelLoadError, ModelSourceError
from harness.manifest import new_manifest, write_manifest
from harness.pricing import API_KINDS, RequestPricer
from harness.records import RECORD_SCHEMA, RECORDS_FILE, RecordWriter
from harness.request import execute
from harness.retry import RetryPolicy
from harness.sources import Weights, locate_weights
from harness.suites import Suite, Task


class Progress(Protocol):
    """What the runner tells the person watching (the terminal UI implements it)."""

    def model_started(self, model: str, n_requests: int) -> None: ...
    def request_done(self, model: str, record: dict[str, Any]) -> None: ...
    def model_finished(self, model: str, status: str, detail: str | None) -> None: ...
    def warn(self, message: str) -> None: ...


class SilentProgress:
    """A `Progress` that shows nothing (for tests and library use)."""

    def model_started(self, model: str, n_requests: int) -> None:
        pass

    def request_done(self, model: str, record: dict[str, Any]) -> None:
        pass

    def model_finished(self, model: str, status: str, detail: str | None) -> None:
        pass

    def warn(self, message: str) -> None:
        pass


@dataclass
class RunResult:
    """Where a run wrote its outputs and how it went."""

    run_dir: Path
    n_records: int = 0
    n_errors: int = 0
    failed_models: list[str] = field(default_factory=list)


def new_run_id(suite_names: list[str]) -> str:
    """A sortable, unique run id: UTC time, suite names and a short random suffix."""
    names = "+".join(suite_names)[:60]
    return f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}-{names}-{secrets.token_hex(3)}"


def build_prompt(task: Task, model_cfg: Any) -> Prompt:
    """The request a task becomes for a model: chat messages, or the completion form for base models."""
    if getattr(model_cfg, "prompt_style", "chat") == "completion":
        text, stop = task.completion_prompt()
        return Prompt(style="completion", max_tokens=task.max_tokens, text=text, stop=stop)
    return Prompt(style="chat", max_tokens=task.max_tokens, messages=[m.model_dump() for m in task.messages])


class Runner:
    """Runs suites over models, writing records.jsonl and run.json under `out_dir/<run_id>`."""

    def __init__(self, suites: list[Suite], models: list[Any], models_file: Path, out_dir: Path, repeat: int = 1,
                 argv: list[str] | None = None, progress: Progress | None = None, run_id: str | None = None,
                 weights: dict[str, Weights] | None = None, skipped: dict[str, dict] | None = None,
                 energy: EnergySettings | None = None, cost_overrides: CostOverrides | None = None,
                 judge: Any = None) -> None:
        self.suites = suites
        self.models = models
        self.weights = dict(weights or {})
        self.energy = energy or EnergySettings()
        self.cost_overrides = cost_overrides or CostOverrides()
        self.judge = judge  # a JudgeClient, or None: judge checkers then give verdict `error`
        self.repeat = repeat
        self.progress = progress or SilentProgress()
        self.run_id = run_id or new_run_id([s.name for s in suites])
        self.run_dir = Path(out_dir) / self.run_id
        self.manifest = new_manifest(
            self.run_id, argv or [], suites, models_file,
            settings={"repeat": repeat, "models": [m.name for m in models], "out_dir": str(out_dir),
                      "energy": vars(self.energy), "cost_overrides": vars(self.cost_overrides),
                      "judge": judge.cfg.name if judge else None},
        )
        self.manifest["skipped_models"] = dict(skipped or {})  # name -> {"reason": ..., "config": ...}

    def _base_record(self, model_name: str, suite: Suite, task: Task, repetition: int) -> dict[str, Any]:
        return {
            "schema": RECORD_SCHEMA, "run_id": self.run_id, "model": model_name, "suite": suite.name,
            "suite_sha256": suite.sha256, "task_id": task.id, "repetition": repetition,
        }

    def _jobs(self) -> list[tuple[Suite, int, Task]]:
        return [(suite, repetition, task) for suite in self.suites for repetition in range(self.repeat)
                for task in suite.tasks]

    def run(self) -> RunResult:
        """Run every model over every task and repetition; a model that fails does not stop the others."""
        self.run_dir.mkdir(parents=True, exist_ok=False)
        if any(m.kind not in API_KINDS for m in self.models):
            from harness.roofline import cpu_copy_bandwidth_gbs

            bandwidth = self.manifest["host"]["memory_bandwidth"] = {"cpu": cpu_copy_bandwidth_gbs()}
            if self.manifest["host"]["gpus"]:
                from harness.energy.nvml import gpu_memory_bandwidth_gbs

                bandwidth["gpus"] = {f"gpu{g['index']}": {"gbs": gpu_memory_bandwidth_gbs(g["index"]),
                                                         "method": "NVML max memory clock x bus width x 2"}
                                     for g in self.manifest["host"]["gpus"]}
        write_manifest(self.run_dir, self.manifest)
        result = RunResult(run_dir=self.run_dir)
        try:
            with RecordWriter(self.run_dir / RECORDS_FILE) as writer:
                for model_cfg in self.models:
                    self._run_model(model_cfg, writer, result)
        except KeyboardInterrupt:
            self.manifest["status"] = "interrupted"
            raise
        except BaseException:
            self.manifest["status"] = "failed"
            raise
        else:
            self.manifest["status"] = "complete"
        finally:
            self.manifest["finished_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
            write_manifest(self.run_dir, self.manifest)
        return result

    def _run_model(self, cfg: Any, writer: RecordWriter, result: RunResult) -> None:
        entry: dict[str, Any] = {"kind": cfg.kind, "config": cfg.model_dump(mode="json"), "status": "loading"}
        self.manifest["models"][cfg.name] = entry
        n_requests = len(self._jobs())
        self.progress.model_started(cfg.name, n_requests)
        backend = None
        try:
            weights = None
            if cfg.kind == "llama_cpp":
                weights = self.weights.get(cfg.name) or locate_weights(cfg)
                entry["weights"] = weights.describe()
            backend = backend_class(cfg.kind)(cfg, weights.path if weights else None)
            t0 = time.perf_counter_ns()
            entry["load"] = backend.load()
            entry["load_s"] = (time.perf_counter_ns() - t0) / 1e9
        except (ModelSourceError, BackendUnavailable, ModelLoadError, HarnessError) as exc:
            self._fail_model(cfg, entry, writer, result, exc)
            return
        except Exception as exc:  # noqa: BLE001 - an unexpected load failure must not stop other models
            entry["traceback"] = traceback.format_exc(limit=5)
            self._fail_model(cfg, entry, writer, result, exc)
            return
        try:
            meter, notes = build_meter(self.energy, entry["load"].get("device", "cpu"))
        except MeterError as exc:
            backend.close()
            self._fail_model(cfg, entry, writer, result, exc)
            return
        entry["energy_meter"] = describe_meter(meter, notes)
        entry["idle"] = meter.idle_power(self.energy.idle_s)
        entry["status"] = "running"
        write_manifest(self.run_dir, self.manifest)
        pricer = RequestPricer(cfg, self.progress.warn) if cfg.kind in API_KINDS else None
        local_cost = resolve_local_cost(getattr(cfg, "cost", None), self.cost_overrides) if pricer is None else None
        if local_cost is not None:
            entry["local_cost"] = local_cost.to_record()
        policy = RetryPolicy(max_attempts=getattr(cfg, "max_attempts", 1))
        jobs = self._jobs()
        concurrency = getattr(cfg, "concurrency", 1)

        def one(job: tuple[Suite, int, Task]) -> dict[str, Any]:
            suite, repetition, task = job
            record = self._base_record(cfg.name, suite, task, repetition)
            key = f"{suite.name}/{task.id}/{repetition}"
            if concurrency == 1:  # overlapping requests share one model-level window instead
                meter.begin(key)
            record.update(execute(backend, build_prompt(task, cfg), policy))
            record["energy"] = meter.end(key) if concurrency == 1 else None
            if pricer is not None:
                record["prices"], record["cost_usd"] = pricer.price(record)
            else:
                energy_j, source = window_total(record["energy"])
                record["local_cost"] = {"energy_source": source}
                record["cost_usd"] = local_task_cost_usd(local_cost, energy_j, record["end_offset_ns"] / 1e9)
            self._judge(task, record, getattr(cfg, "prompt_style", "chat") == "completion")
            return record

        def done(record: dict[str, Any]) -> None:
            writer.write(record)
            result.n_records += 1
            result.n_errors += record["error"] is not None
            self.progress.request_done(cfg.name, record)

        meter.begin("model")
        try:
            if concurrency == 1:
                for job in jobs:
                    done(one(job))
            else:  # records are written by this thread as requests finish, in completion order
                with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=cfg.name) as pool:
                    futures = [pool.submit(one, job) for job in jobs]
                    try:
                        for future in as_completed(futures):
                            done(future.result())
                    except BaseException:
                        pool.shutdown(wait=True, cancel_futures=True)
                        raise
        finally:
            entry["energy_window"] = meter.end("model")
            meter.close()
            backend.close()
        entry["status"] = "complete"
        write_manifest(self.run_dir, self.manifest)
        self.progress.model_finished(cfg.name, "complete", None)

    def _judge(self, task: Task, record: dict[str, Any], completion_style: bool) -> None:
        record["expected"] = task.expected
        record["checker"] = task.checker.kind
        if record["error"] is not None:
            record.update(verdict=None, extracted=None, verdict_detail=None, judge=None)
            return
        answer = record["output_text"]
        if completion_style and task.answer_prefix:
            answer = task.answer_prefix + answer
        verdict = run_checker(task.checker, answer, task.expected,
                              judge=self.judge.ask if self.judge else None, question=task.question)
        record.update(verdict=verdict.verdict, extracted=verdict.extracted, verdict_detail=verdict.detail,
                      judge=verdict.judge)

    def _fail_model(self, cfg: Any, entry: dict[str, Any], writer: RecordWriter, result: RunResult,
                    exc: BaseException) -> None:
        """Record the failure once in the manifest and as an error record for every request it owed."""
        error = {"type": type(exc).__name__, "message": str(exc)}
        entry.update(status="failed", error=error)
        for suite, repetition, task in self._jobs():
            record = self._base_record(cfg.name, suite, task, repetition)
            record.update(
                started_at=None, chunk_offsets_ns=[], chunk_chars=[], end_offset_ns=None,
                input_tokens=None, input_tokens_source=None, output_tokens=None, output_tokens_source=None,
                cache_read_tokens=0, cache_write_tokens=0, reasoning_tokens=None,
                finish_reason=None, output_text="", error=error, attempts=0, failed_attempts=[],
                prices=None, cost_usd=None, energy=None, judge=None,
                expected=task.expected, checker=task.checker.kind, verdict=None, extracted=None,
                verdict_detail=None,
            )
            writer.write(record)
            result.n_records += 1
            result.n_errors += 1
        result.failed_models.append(cfg.name)
        write_manifest(self.run_dir, self.manifest)
        self.progress.model_finished(cfg.name, "failed", str(exc))

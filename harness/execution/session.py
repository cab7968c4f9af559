"""One model's part of a run: load it, open its energy meter, send its requests, make its records.

Requests go through `harness.execution.request` (which alone reads the clock for latencies). Each record gets its
energy window, its cost (list price for an API, energy + hardware for a local model) and its verdict.
With `concurrency` > 1 (API endpoints), at most that many requests are in flight, submitted as earlier
ones finish, and records are written in completion order; those requests share one model-level energy
window.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any

from harness.backends import Backend, Prompt, backend_class
from harness.backends.api_common import api_key
from harness.checkers.sandbox_exec import register_secrets
from harness.checkers.scoring_identity import scoring_label
from harness.config.kinds import API_KINDS
from harness.config.model_config import has_gguf_source
from harness.config.redact import scrub, secret_values
from harness.config.sources import locate_weights
from harness.cost.carbon import resolve_grid
from harness.cost.local import local_task_cost_usd, resolve_local_cost
from harness.cost.pricing import RequestPricer, provider_cost_check
from harness.energy import EnergyMeter, MeterError, ecologits, window_total
from harness.energy.meter_setup import build_meter, describe_meter
from harness.errors import HarnessError, InputError
from harness.execution.client_processes import START_LEAD_S, ProcessClients, default_client_processes, split_level
from harness.execution.judging import judge_record
from harness.execution.level_attempts import IN_PROCESS_KINDS, run_levels
from harness.execution.loadgen import Level, arrival_offsets_s
from harness.execution.rate_search import LevelSearch
from harness.execution.request import RequestStopped, execute, timed_loglikelihood, unsent_raw
from harness.execution.retry import RetryPolicy
from harness.execution.serve import Server
from harness.execution.session_context import SessionContext
from harness.execution.sizing import PromptSizer
from harness.host import usable_cores
from harness.store.atomic_files import child_path
from harness.suites import Suite, Task

Job = tuple[Suite, int, Task]


def build_prompt(task: Task, model_cfg: Any) -> Prompt:
    """The request a task becomes for a model: chat messages, or the completion form for base models."""
    if getattr(model_cfg, "prompt_style", "chat") == "completion":
        text, stop = task.completion_prompt()
        return Prompt(style="completion", max_tokens=task.max_tokens, text=text, stop=stop)
    return Prompt(style="chat", max_tokens=task.max_tokens, messages=[m.model_dump() for m in task.messages],
                  stop=list(task.chat_stop or []))


class ModelSession:
    """A loaded model with its meter and pricer; `records(jobs)` yields one finished record per job."""

    def __init__(self, cfg: Any, entry: dict[str, Any], context: SessionContext) -> None:
        self.cfg = cfg
        self.entry = entry
        self.context = context
        register_secrets(secret_values(cfg))  # scrubbed from code checkers' output here and on a Ray node
        self.backend: Backend | None = None
        self.meter: EnergyMeter | None = None
        self.server: Server | None = None
        self.sizer: PromptSizer | None = None

    def _loaded(self) -> tuple[Backend, EnergyMeter]:
        """The backend and meter, which `load()` sets before any request is sent."""
        assert self.backend is not None and self.meter is not None, "requests are sent only after load()"
        return self.backend, self.meter

    def load(self) -> None:
        """Start its server (if launched), load weights and runtime, then the meter and its idle baseline;
        raises on any failure (and stops a started server)."""
        cfg, entry = self.cfg, self.entry
        if cfg.launch is not None:
            secrets = secret_values(cfg)
            self.server = Server(cfg.launch, cfg.base_url, child_path(self.context.run_dir, f"server-{cfg.name}", ".log"),
                                 cfg.model, secrets=secrets, api_key=api_key(cfg))
            entry["server"] = {"command": [scrub(part, secrets) for part in self.server.command],
                               "log": str(self.server.log_path)}
            if self.server.weights:
                entry["server"]["weights"] = self.server.weights
            entry["server"]["ready_s"] = self.server.start(self.context.stopping)
            entry["server"]["pid"] = self.server.pid
            cfg = self.cfg = cfg.model_copy(update={"base_url": self.server.base_url})
        weights = None
        if has_gguf_source(cfg):
            weights = self.context.weights.get(cfg.name) or locate_weights(cfg)
            entry["weights"] = weights.describe()
        self.backend = backend_class(cfg.kind)(cfg, weights.path if weights else None)
        t0 = time.perf_counter_ns()
        entry["load"] = self.backend.load()
        entry["load_s"] = (time.perf_counter_ns() - t0) / 1e9
        for warning in entry["load"].get("warnings", []):
            self.context.progress.warn(warning)
        self_hosted = cfg.self_hosted
        device = "server" if self_hosted else entry["load"].get("device", "cpu")
        self.meter, notes = build_meter(self.context.energy, device, self.server.pid if self.server else None)
        entry["energy_meter"] = describe_meter(self.meter, notes)
        entry["idle"] = self.meter.idle_power(self.context.energy.idle_s)
        self.pricer = RequestPricer(cfg, self.context.progress.warn) if cfg.kind in API_KINDS and not self_hosted else None
        self.local_cost = None
        self.impacts: ecologits.Mapping | None = None
        if self.pricer is None:
            self.local_cost = resolve_local_cost(cfg.cost, self.context.cost_overrides)
            entry["local_cost"] = self.local_cost.to_record()
            try:
                entry["carbon"] = resolve_grid(cfg.cost).to_record()
            except InputError as exc:  # EcoLogits' mix data missing: local carbon unavailable, the run goes on
                entry["carbon"] = {"source": "unavailable", "reason": str(exc)}
        else:
            self.impacts = ecologits.resolve(cfg.kind, cfg.provider, cfg.model,
                                             cfg.ecologits_model)
            entry["ecologits"] = ecologits.assumptions(self.impacts)
        self.policy = RetryPolicy(max_attempts=cfg.max_attempts)
        self.concurrency = cfg.concurrency

    def prompt_for(self, task: Task, record: dict[str, Any]) -> Prompt:
        """The request for a task; a workload task is sized to its token counts with this model's tokenizer
        (what was asked and how it was sized go into the record's `workload`)."""
        if task.workload is None:
            return build_prompt(task, self.cfg)
        if self.sizer is None:
            self.sizer = PromptSizer(self._loaded()[0], self.cfg.prompt_style)
        try:
            prompt, record["workload"] = self.sizer.build(task.id, task.workload)
        except ValueError as exc:
            raise HarnessError(f"model '{self.cfg.name}': workload task {task.id}: {exc}") from None
        return prompt

    def close(self) -> None:
        try:
            if self.meter is not None:
                self.meter.close()
            if self.backend is not None:
                self.backend.close()
        finally:
            if self.server is not None:
                self.server.stop()

    def _stop(self) -> bool:
        return self.context.stopping()

    def _one(self, job: Job) -> dict[str, Any] | None:
        """One request's record, or None when the run stopped while it waited for a retry."""
        suite, repetition, task = job
        cfg, (backend, meter) = self.cfg, self._loaded()
        record = self.context.base_record(cfg.name, suite, task, repetition)
        key = f"{suite.name}/{task.id}/{repetition}"
        if self.concurrency == 1:  # overlapping requests share the model-level window instead
            meter.begin(key)
        if task.choices is not None:
            try:
                record.update(self._scored(task))
            finally:
                energy = meter.end(key) if self.concurrency == 1 else None
            record["energy"] = energy
            return self._finish(task, record)
        prompt = self.prompt_for(task, record)
        try:
            record.update(execute(backend, prompt, self.policy, self._stop))
        except RequestStopped:
            return None
        finally:
            energy = meter.end(key) if self.concurrency == 1 else None
        record["energy"] = energy
        return self._finish(task, record)

    def _scored(self, task: Task) -> dict[str, Any]:
        """A log-likelihood task's observations: its choices scored after its completion prompt, where the
        backend can score (in-process llama.cpp and transformers); otherwise a failed request saying so."""
        backend = self._loaded()[0]
        if not backend.supports_loglikelihood:
            return {**unsent_raw({"type": "LoglikelihoodUnsupported", "retryable": False, "message":
                                  f"model '{self.cfg.name}' ({self.cfg.kind}) returns no log-probabilities: the "
                                  "log-likelihood form needs an in-process llama_cpp or transformers model; "
                                  "score this model with the generative suite instead"}), "loglikelihoods": None}
        assert task.completion is not None and task.choices is not None, "Task's validator: choices need a completion"
        return timed_loglikelihood(backend, task.completion, list(task.choices))

    def _finish(self, task: Task, record: dict[str, Any]) -> dict[str, Any]:
        """Price and check a finished request."""
        if self.pricer is not None:
            assert self.impacts is not None, "load() resolves an API model's EcoLogits mapping with its pricer"
            record["prices"], record["cost_usd"] = self.pricer.price(record)
            check = provider_cost_check(record.get("provider_cost_usd"), record["cost_usd"])
            if check is not None:
                record["provider_cost_check"] = check
            if record["error"] is not None:
                record["ecologits"] = {"source": "unavailable", "reason": "the request failed"}
            else:
                record["ecologits"] = ecologits.estimate(self.impacts, record.get("output_tokens"),
                                                         record["end_offset_ns"] / 1e9)
        else:  # a shared window (a load level) has no per-request energy: analysis attributes it
            energy_j, source = window_total(record["energy"])
            record["local_cost"] = {"energy_source": source}
            elapsed_s = record["end_offset_ns"] / 1e9 if record["end_offset_ns"] is not None else None
            assert self.local_cost is not None, "load() resolves a local model's cost parameters (no pricer)"
            record["cost_usd"] = local_task_cost_usd(self.local_cost, energy_j, elapsed_s) if elapsed_s is not None \
                else None
        judge_record(task, record, self.cfg.prompt_style == "completion", self.context.judge)
        return record

    def level_records(self, levels: Iterable[Level], jobs_for: Callable[[str], list[Job]],
                      stop: Callable[[], bool], search: LevelSearch | None = None) -> Iterator[dict[str, Any]]:
        """Run the load levels one after another, yielding records as they finish (level_attempts.py: on this
        process's asyncio client, or split between client processes or Ray client actors; a level whose
        client was the bottleneck is run again with more). With a capacity `search`, the levels are the
        search's, each chosen after the one before it was measured."""
        if search is not None:
            yield from self._searched(search, jobs_for, stop)
            return
        yield from run_levels(self, levels, jobs_for, stop)

    def _searched(self, search: LevelSearch, jobs_for: Callable[[str], list[Job]],
                  stop: Callable[[], bool]) -> Iterator[dict[str, Any]]:
        """The levels of a capacity search, each observed by the search once its records are in."""
        seen: list[dict[str, Any]] = []

        def levels() -> Iterator[Level]:
            for level in search.levels(len(jobs_for("concurrent:1"))):
                if stop():
                    return
                yield level
                # resumed when the level is over: its records have all been yielded, its stats written
                stats = self.entry.get("levels", {}).get(level.name)
                if stats is not None:  # the accepted attempt's records only (a level may have been run again)
                    attempt = stats.get("attempt", 1)
                    search.observe(level, stats, [r for r in seen if r.get("level") == level.name
                                                  and (r.get("attempt") or 1) == attempt])

        try:
            for record in self.level_records(levels(), jobs_for, stop):
                seen.append(record)
                yield record
        finally:
            self.entry["capacity_search"] = search.result()

    def _n_clients(self, level: Level, n_requests: int) -> int:
        if self.cfg.kind in IN_PROCESS_KINDS:  # the model lives in this process: its one client is here too
            return 1
        if self.context.client_processes:
            return self.context.client_processes
        if self.context.ray is not None:
            return self.context.ray.n_nodes
        return default_client_processes(level, n_requests, usable_cores())

    def _start_clients(self, n: int) -> Any:
        if self.context.ray is not None:
            return self.context.ray.clients(self.cfg, self.policy.max_attempts, n)
        return ProcessClients(self.cfg, self.policy.max_attempts, n)

    def _split_level(self, level: Level, jobs: list[tuple[Job, str]], offsets_s: list[float] | None, n_clients: int,
                     clients: Any, stop: Callable[[], bool], stats: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Prepare every request of the level here, run them on the clients, finish their records here."""
        prepared: list[tuple[dict[str, Any], Task]] = []
        items: list[tuple[int, Prompt]] = []
        for index, ((suite, repetition, task), level_name) in enumerate(jobs):
            record = {**self.context.base_record(self.cfg.name, suite, task, repetition), "level": level_name}
            items.append((index, self.prompt_for(task, record)))
            prepared.append((record, task))
        start_at_s = None
        if level.concurrency is None:  # an open loop: one schedule for all clients, started together
            if offsets_s is None:
                assert level.rate_per_s is not None, "a level with neither concurrency nor rate replays a trace"
                offsets_s = [float(x) for x in arrival_offsets_s(len(jobs), level.rate_per_s, level.burstiness)]
            start_at_s = time.time() + START_LEAD_S
        for raw in clients.run(split_level(level, items, n_clients, offsets_s, start_at_s), stop, stats):
            record, task = prepared[raw.pop("_index")]
            record["client"] = raw.pop("_client")  # which of the level's `clients` (manifest) sent it
            record.update(raw)
            record["energy"] = None
            yield self._finish(task, record)

    def records(self, jobs: list[Job], stop: Callable[[], bool]) -> Iterator[dict[str, Any]]:
        """Run `jobs`, yielding records as they finish; stop starting new ones once `stop()` is true."""
        meter = self._loaded()[1]
        meter.begin("model")
        try:
            if self.concurrency == 1:
                for job in jobs:
                    if stop():
                        return
                    record = self._one(job)
                    if record is not None:
                        yield record
                return
            pending: set = set()
            queue = iter(jobs)
            pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix=self.cfg.name)
            cut = True  # a second stop signal (KeyboardInterrupt) must not wait for the requests in flight
            try:
                while True:
                    while len(pending) < self.concurrency and not stop():
                        queued = next(queue, None)
                        if queued is None:
                            break
                        pending.add(pool.submit(self._one, queued))
                    if not pending:
                        cut = False
                        return
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        if (record := future.result()) is not None:
                            yield record
            finally:
                pool.shutdown(wait=not cut, cancel_futures=True)
        finally:
            self.entry["energy_window"] = meter.end("model")


def failure_record(base: dict[str, Any], task: Task, error: dict[str, Any]) -> dict[str, Any]:
    """The record of a request that could not be sent because its model failed to load."""
    return {**base, **unsent_raw(error), "prices": None, "cost_usd": None, "energy": None, "judge": None,
            "expected": task.expected, "checker": task.checker.kind, "scoring": scoring_label(task.checker),
            "score_form": task.score_form, "verdict": None, "extracted": None, "verdict_detail": None, "scores": None}


def describe_failure(exc: BaseException, entry: dict[str, Any]) -> dict[str, Any]:
    """The error stored for a model that failed to load (with a traceback when it was unexpected)."""
    if not isinstance(exc, (HarnessError, MeterError)):
        entry["traceback"] = traceback.format_exc(limit=5)
    return {"type": type(exc).__name__, "message": str(exc)}

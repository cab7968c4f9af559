"""A run spread over a Ray cluster (`harness run --ray ADDRESS`; the `harness[ray]` extra).

Two things go to the cluster; everything else (suites, prompts' identity, checking, pricing of APIs, the
records file, the manifest, the report) stays in the run's own process, the driver:
  local model sessions  each local model (llama_cpp, transformers) is loaded and run by an actor on a node
                        with the resources its entry asks for (`resources: {GPU: 1}`, `{CPU: 8}` or a custom
                        resource a node was started with). The energy meter is built on that node (NVML,
                        RAPL, or the estimate there), so a record's joules are that node's. Records stream
                        back as they finish; the node's facts go into the model's manifest entry.
  load generation       a profiled level's requests are split (run/clients.py) between client actors
                        spread over the nodes, each running the same client on its share. Per-request
                        times are measured on the actor's own clock (offsets from its own start stamp), so
                        they need no synchronised clocks; an open loop's shared start is converted to each
                        node's clock with the offset measured when the actor starts (the smallest of
                        several round trips), and each node's offset is recorded.
A node or actor lost mid-run leaves its model's (or share's) unfinished requests recorded as failed
(`node_lost` / `client_lost`); `harness run --resume RUN --retry-failed` sends them again. Every node
needs the same harness (and model files or caches) installed; the driver checks the version.
"""

from __future__ import annotations

import asyncio
import os
import queue
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.backends import backend_class
from harness.energy.roofline import cpu_copy_bandwidth_gbs
from harness.errors import HarnessError, InputError
from harness.execution.client_processes import NodeLost, Share, ShareTally, run_share
from harness.execution.judging import judge_record
from harness.execution.retry import RetryPolicy
from harness.execution.session import ModelSession
from harness.execution.session_context import SessionContext, SilentProgress
from harness.host import cpu_model, usable_cores
from harness.version import __version__

RECORD_BATCH_S = 0.2  # a remote session sends its finished records at least this often
CLOCK_SAMPLES = 5
CONNECT_TIMEOUT_S = 5.0
LOAD_TIMEOUT_S = 3600.0  # a feasible actor waits while other work holds its node's resources; not forever


def _ray():
    try:
        import ray
    except ImportError:
        raise InputError("--ray needs Ray: pip install 'harness[ray]'") from None
    return ray


def node_facts() -> dict[str, Any]:
    """Where this code runs: Ray node id and IP, host name, process, harness version, CPU model."""
    ray = _ray()
    context = ray.get_runtime_context()
    return {"node_id": context.get_node_id(), "ip": ray.util.get_node_ip_address(), "host": socket.gethostname(),
            "pid": os.getpid(), "harness_version": __version__, "cpu": cpu_model()}


class ClientWorker:
    """A Ray actor that runs shares of load levels against one endpoint (same client as a client process)."""

    def __init__(self, cfg: Any, max_attempts: int) -> None:
        self.backend = backend_class(cfg.kind)(cfg)
        self.backend.load()
        self.policy = RetryPolicy(max_attempts=max_attempts)
        self.loop = asyncio.new_event_loop()
        self.stopped = False

    def facts(self) -> dict[str, Any]:
        return node_facts()

    def clock_s(self) -> float:
        return time.time()

    def stop(self) -> None:
        self.stopped = True

    def run(self, share: Share) -> Iterator[Any]:
        """Yields batches of observations as they finish, then `{"stats": ...}`."""
        handoff: queue.Queue = queue.Queue()

        def body() -> None:
            try:
                stats = run_share(self.backend, self.policy, share, lambda: self.stopped,
                                  lambda batch: handoff.put(("records", batch)), self.loop)
                handoff.put(("stats", stats))
            except BaseException as exc:  # noqa: BLE001 - raised again in the generator
                handoff.put(("error", exc))

        threading.Thread(target=body, daemon=True).start()
        while True:
            kind, item = handoff.get()
            if kind == "records":
                yield item
            elif kind == "stats":
                yield {"stats": item}
                return
            else:
                raise item


class CollectingProgress(SilentProgress):
    """A `Progress` that shows nothing and keeps the warnings in `warnings` (for the driver's display)."""

    def __init__(self, warnings: list[str]) -> None:
        self.warnings = warnings

    def warn(self, message: str) -> None:
        self.warnings.append(message)


def node_context(run_id: str, energy: Any, cost_overrides: Any, warnings: list[str],
                 stopped: Callable[[], bool]) -> SessionContext:
    """A session's context on a node: weights are found on the node itself, judged tasks are judged again by
    the driver, warnings are collected for the driver's display, server logs go to a node-local folder."""
    progress = CollectingProgress(warnings)
    return SessionContext(run_id=run_id, run_dir=Path(tempfile.mkdtemp(prefix="harness-node-")), energy=energy,
                          cost_overrides=cost_overrides, progress=progress, stopping=stopped)


def node_energy(energy: Any, gpu_ids: list[Any]) -> Any:
    """The run's energy settings on a node: the GPUs Ray gave this actor are the ones metered (not every GPU
    of the node, which other jobs may be using), unless the run named GPUs itself."""
    if energy.gpu_indices is not None or not gpu_ids:
        return energy
    return replace(energy, gpu_indices=sorted(int(i) for i in gpu_ids))


class SessionWorker:
    """A Ray actor holding one local model's session on its node."""

    def __init__(self, cfg: Any, run_id: str, energy: Any, cost_overrides: Any) -> None:
        energy = node_energy(energy, _ray().get_gpu_ids())
        self.cfg, self.stopped = cfg, False
        self.warnings: list[str] = []
        self.context = node_context(run_id, energy, cost_overrides, self.warnings, lambda: self.stopped)
        self.entry: dict[str, Any] = {}
        self.session: ModelSession | None = None

    def load(self) -> dict[str, Any]:
        """Load the model and its meter here; the manifest entry's facts, with this node's."""
        self.session = ModelSession(self.cfg, self.entry, self.context)
        self.session.load()
        node = node_facts()
        if (self.entry.get("load") or {}).get("device") == "cpu":  # the roofline of this node, not the driver's
            threads = self.cfg.n_threads or usable_cores()
            node["memory_bandwidth"] = {"cpu": cpu_copy_bandwidth_gbs(threads)}
        return {**self.entry, "node": node, "warnings": list(self.warnings)}

    def stop(self) -> None:
        self.stopped = True

    def pid(self) -> int:
        return os.getpid()

    def run(self, jobs: list[Any]) -> Iterator[Any]:
        """Yields batches of finished records, then `{"entry": ...}` (the energy window and the rest)."""
        assert self.session is not None, "the driver calls load() before run()"
        batch, last = [], time.monotonic()
        for record in self.session.records(jobs, lambda: self.stopped):
            batch.append(record)
            if time.monotonic() - last >= RECORD_BATCH_S:
                yield batch
                batch, last = [], time.monotonic()
        if batch:
            yield batch
        yield {"entry": self.entry}

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


def _actor_options(resources: dict[str, float] | None) -> dict[str, Any]:
    asked = dict(resources or {})
    options: dict[str, Any] = {"num_cpus": asked.pop("CPU", 1), "max_concurrency": 2}
    if "GPU" in asked:
        options["num_gpus"] = asked.pop("GPU")
    if "memory" in asked:
        options["memory"] = asked.pop("memory")
    if asked:
        options["resources"] = asked
    return options


class RemoteSession:
    """A local model's session on a cluster node, with a ModelSession's interface (load, records, close)."""

    def __init__(self, cluster: RayCluster, cfg: Any, entry: dict[str, Any], context: SessionContext) -> None:
        self.cluster, self.cfg, self.entry, self.context = cluster, cfg, entry, context
        self.actor: Any = None  # a Ray actor handle (untyped), set by load()

    def load(self) -> None:
        ray = self.cluster.ray
        resources = self.cfg.resources
        self.entry["ray"] = {"resources": dict(resources or {})}
        options = _actor_options(resources)
        self.cluster.check_feasible(options)
        worker = ray.remote(SessionWorker).options(**options)
        self.actor = worker.remote(self.cfg, self.context.run_id, self.context.energy, self.context.cost_overrides)
        try:
            facts = ray.get(self.actor.load.remote(), timeout=LOAD_TIMEOUT_S)
        except ray.exceptions.GetTimeoutError:
            raise HarnessError(f"on the cluster: not loaded within {LOAD_TIMEOUT_S:g} s (are the nodes with "
                               f"{dict(resources or {})} busy?)") from None
        except ray.exceptions.RayError as exc:
            raise HarnessError(f"on the cluster: {_cause(exc)}") from None
        for warning in facts.pop("warnings", []):
            self.context.progress.warn(warning)
        self.entry["node"] = facts.pop("node")
        self.cluster.check_version(self.entry["node"])
        self.entry.update(facts)

    def records(self, jobs: list[Any], stop: Callable[[], bool]) -> Iterator[dict[str, Any]]:
        """The remote session's records as they come; `NodeLost` (after the records that did come) when its
        node or actor is lost, carrying the jobs still owed."""
        ray, judge = self.cluster.ray, self.context.judge
        completion = self.cfg.prompt_style == "completion"
        tasks = {(suite.name, task.id): task for suite, _, task in jobs}
        owed = {(suite.name, task.id, repetition): (suite, repetition, task) for suite, repetition, task in jobs}
        stream = self.actor.run.options(num_returns="streaming").remote(jobs)
        stopped = False
        while True:
            if stop() and not stopped:
                self.actor.stop.remote()
                stopped = True
            ready, _ = ray.wait([stream], timeout=0.1)
            if not ready:
                continue
            try:
                item = ray.get(next(stream))
            except StopIteration:
                return
            except ray.exceptions.RayError as exc:
                raise NodeLost(f"the node running '{self.cfg.name}' was lost: {_cause(exc)}", list(owed.values())) \
                    from None
            if isinstance(item, dict):
                self.entry.update(item["entry"])
                continue
            for record in item:
                owed.pop((record["suite"], record["task_id"], record["repetition"]), None)
                task = tasks[(record["suite"], record["task_id"])]
                if judge is not None and task.checker.kind == "judge":  # the node had no judge: judged here
                    judge_record(task, record, completion, judge)
                yield record

    def close(self) -> None:
        if self.actor is not None:
            try:
                self.cluster.ray.get(self.actor.close.remote(), timeout=60)
            except Exception:  # noqa: BLE001 - a lost actor has nothing left to close
                pass
            self.cluster.ray.kill(self.actor)
            self.actor = None


class RayClients:
    """Client actors spread over the cluster, with ProcessClients' interface (size, run, close)."""

    def __init__(self, cluster: RayCluster, cfg: Any, max_attempts: int, n: int) -> None:
        ray = self.ray = cluster.ray
        self.size = n
        worker = ray.remote(ClientWorker).options(num_cpus=1, max_concurrency=2, scheduling_strategy="SPREAD")
        self.actors = [worker.remote(cfg, max_attempts) for _ in range(n)]
        try:
            self.facts = ray.get([actor.facts.remote() for actor in self.actors])
        except ray.exceptions.RayError as exc:
            self.close()
            raise HarnessError(f"client actors could not start: {_cause(exc)}") from None
        for actor, facts in zip(self.actors, self.facts):
            facts["clock_offset_s"] = self._clock_offset_s(actor)
            cluster.check_version(facts)

    def _clock_offset_s(self, actor: Any) -> float:
        """The node's clock minus the driver's, from the round trip with the least delay."""
        best: tuple[float, float] | None = None
        for _ in range(CLOCK_SAMPLES):
            t0 = time.time()
            remote_s = self.ray.get(actor.clock_s.remote())
            t1 = time.time()
            if best is None or t1 - t0 < best[0]:
                best = (t1 - t0, remote_s - (t0 + t1) / 2)
        assert best is not None, "CLOCK_SAMPLES >= 1 round trips were made"
        return best[1]

    def run(self, shares: list[Share], stop: Callable[[], bool], stats: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """As ProcessClients.run, on the actors (one share each)."""
        ray, tally, streams = self.ray, ShareTally(shares), {}
        for number, share in enumerate(shares):
            if share.start_at_s is not None:  # the shared start, on this node's clock
                share = replace(share, start_at_s=share.start_at_s + self.facts[number]["clock_offset_s"])
            streams[self.actors[number].run.options(num_returns="streaming").remote(share)] = number
        stopped = False
        while streams:
            if stop() and not stopped:
                for actor in self.actors:
                    actor.stop.remote()
                stopped = True
            ready, _ = ray.wait(list(streams), num_returns=1, timeout=0.1)
            for stream in ready:
                number = streams[stream]
                try:
                    item = ray.get(next(stream))
                except StopIteration:
                    del streams[stream]
                    continue
                except ray.exceptions.RayError as exc:
                    del streams[stream]
                    message = f"client actor {number} on node {self.facts[number]['ip']} was lost: {_cause(exc)}"
                    yield from tally.lost(number, self.facts[number], message, stopped)
                    continue
                if isinstance(item, dict):
                    tally.clients[number] = {**self.facts[number], **item["stats"]}
                    continue
                for raw in item:
                    yield tally.got(number, raw)
        tally.fill(stats)

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor)
        self.actors = []


class RayCluster:
    """The connection to a Ray cluster for one run."""

    def __init__(self, address: str) -> None:
        ray = self.ray = _ray()
        host, _, port = address.rpartition(":")
        if host and port.isdigit():  # Ray itself retries an unreachable address for minutes
            try:
                socket.create_connection((host.removeprefix("ray://"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
            except OSError as exc:
                raise InputError(f"--ray {address}: no Ray cluster answers there ({exc})") from None
        try:
            ray.init(address=address, namespace="harness", log_to_driver=False, configure_logging=False)
        except Exception as exc:  # noqa: BLE001 - ConnectionError and Ray's own errors alike
            raise InputError(f"--ray {address}: cannot connect to the Ray cluster: {exc}") from None
        self.address = address
        nodes = [node for node in ray.nodes() if node.get("Alive")]
        self.n_nodes = len(nodes)
        self.facts = {"address": address, "ray_version": ray.__version__,
                      "nodes": [{"node_id": n["NodeID"], "ip": n["NodeManagerAddress"], "resources": n["Resources"]}
                                for n in nodes]}

    def check_feasible(self, options: dict[str, Any]) -> None:
        """`HarnessError` unless some node has every resource the actor `options` ask for (Ray would leave an
        infeasible actor pending forever)."""
        asked = {"CPU": options.get("num_cpus", 0), "GPU": options.get("num_gpus", 0),
                 "memory": options.get("memory", 0), **options.get("resources", {})}
        asked = {name: amount for name, amount in asked.items() if amount}
        for node in self.facts["nodes"]:
            if all(node["resources"].get(name, 0) >= amount for name, amount in asked.items()):
                return
        have = "; ".join(f"{node['ip']}: {_listed(node['resources'])}" for node in self.facts["nodes"])
        raise HarnessError(f"no node of the cluster has {_listed(asked)} (nodes: {have})")

    def check_version(self, facts: dict[str, Any]) -> None:
        if facts.get("harness_version") != __version__:
            raise HarnessError(f"node {facts.get('ip')} runs harness {facts.get('harness_version')}, the driver "
                               f"{__version__}: install the same version on every node")

    def session(self, cfg: Any, entry: dict[str, Any], context: SessionContext) -> RemoteSession:
        return RemoteSession(self, cfg, entry, context)

    def clients(self, cfg: Any, max_attempts: int, n: int) -> RayClients:
        """`n` client actors, one CPU each: at most as many as the cluster has CPUs (all run at once)."""
        cpus = int(sum(node["resources"].get("CPU", 0) for node in self.facts["nodes"]))
        return RayClients(self, cfg, max_attempts, max(1, min(n, cpus)))

    def close(self) -> None:
        self.ray.shutdown()


def _listed(resources: dict[str, float]) -> str:
    """`CPU 2, GPU 1, memory 22.2 GiB, h200 1`: a node's or an actor's resources, as people read them."""
    return ", ".join(f"{name} {amount / 2**30:.1f} GiB" if name == "memory" else f"{name} {amount:g}"
                     for name, amount in sorted(resources.items())
                     if not name.startswith("node:") and name != "object_store_memory")


def _cause(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"

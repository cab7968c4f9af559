"""`SessionContext`: what one model's session needs from the run it belongs to.

A `ModelSession` (harness.execution.session) loads one model and sends its requests; it reads the run's
settings, its stop flag and the progress display from this context, never from the runner itself, so the
same session runs under the local runner and on a Ray node (harness.execution.ray_cluster builds a context
there too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from harness.config.sources import Weights
from harness.cost.local import CostOverrides
from harness.energy.meter_setup import EnergySettings
from harness.store.records import RECORD_SCHEMA
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


def base_record(run_id: str, model_name: str, suite: Suite, task: Task, repetition: int) -> dict[str, Any]:
    """The identity fields every record starts with (and the task's subject, for per-subject figures)."""
    return {"schema": RECORD_SCHEMA, "run_id": run_id, "model": model_name, "suite": suite.name,
            "suite_sha256": suite.sha256, "task_id": task.id, "repetition": repetition,
            "subject": task.category, "subject_group": task.group}


@dataclass
class SessionContext:
    """The run as one model's session sees it."""

    run_id: str
    run_dir: Path  # where a launched server's log goes
    energy: EnergySettings
    cost_overrides: CostOverrides
    weights: dict[str, Weights] = field(default_factory=dict)  # located before the run (model name -> file)
    judge: Any = None  # a JudgeClient, or None: judge checkers then give verdict `error`
    progress: Progress = field(default_factory=SilentProgress)
    client_processes: int | None = None  # --client-processes (None: chosen per level)
    ray: Any = None  # a RayCluster, or None
    watch_lag_ms: float = 10.0  # --client-watch-lag-ms: event-loop lag p99 above which a level is flagged
    stopping: Callable[[], bool] = lambda: False  # whether the run was asked to stop

    def base_record(self, model_name: str, suite: Suite, task: Task, repetition: int) -> dict[str, Any]:
        """The identity fields every record of this run starts with."""
        return base_record(self.run_id, model_name, suite, task, repetition)

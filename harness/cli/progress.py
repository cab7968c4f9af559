"""The progress shown while a run goes: a bar per model on stderr, refreshed only when a request finishes
(no refresh thread competing with the model for CPU)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class TerminalProgress:
    """Implements the runner's `Progress` with one rich progress bar per model."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._progress = Progress(
            TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[status]}"), console=self.console, auto_refresh=False, transient=False,
        )
        self._bars: dict[str, Any] = {}
        # per model: (level, attempt) -> [correct, failed]; the tally counts each level's latest attempt only
        self._counts: dict[str, dict[tuple[str, int], list[int]]] = {}

    def __enter__(self) -> TerminalProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def model_started(self, model: str, n_requests: int) -> None:
        self._bars[model] = self._progress.add_task(model, total=n_requests, status="loading")
        self._counts[model] = {}
        self._progress.refresh()

    def request_done(self, model: str, record: dict[str, Any]) -> None:
        counts = self._counts[model].setdefault((record.get("level") or "", record.get("attempt") or 1), [0, 0])
        counts[0] += record.get("verdict") == "correct"
        counts[1] += record.get("error") is not None
        bar = self._bars[model]
        if (record.get("attempt") or 1) > 1:  # a level run again with more client processes: one more request
            total = next(task.total for task in self._progress.tasks if task.id == bar)
            self._progress.update(bar, total=(total or 0) + 1)
        self._progress.update(bar, advance=1, status=self._tally(model), refresh=True)

    def _tally(self, model: str) -> str:
        latest: dict[str, int] = {}
        for level, attempt in self._counts[model]:
            latest[level] = max(latest.get(level, 1), attempt)
        accepted = [n for (level, attempt), n in self._counts[model].items() if attempt == latest[level]]
        correct, failed = sum(n[0] for n in accepted), sum(n[1] for n in accepted)
        return f"{correct} correct" + (f" · [red]{failed} failed[/]" if failed else "")

    def warn(self, message: str) -> None:
        self._progress.console.print(f"[yellow]warning:[/] {message}", highlight=False)

    def model_finished(self, model: str, status: str, detail: str | None) -> None:
        bar = self._bars[model]
        if status == "failed":
            self._progress.update(bar, status=f"[red]failed: {detail}[/red]", refresh=True)
        elif status == "interrupted":
            self._progress.update(bar, status=f"{self._tally(model)} · [yellow]stopped[/]", refresh=True)
        else:
            self._progress.update(bar, status=f"{self._tally(model)} · done", refresh=True)

"""Terminal output: a progress bar per model while running, and the summary table at the end.

Progress goes to stderr and is refreshed only when a request finishes (no refresh thread competing with
the model for CPU); the summary table goes to stdout.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from harness.analysis.regress import describe_change


def _missing(value: Any) -> bool:
    return value is None or value != value  # None or NaN


def _fmt(value: Any, spec: str, scale: float = 1.0, unit: str = "") -> str:
    if _missing(value):
        return "–"
    if spec == "d":  # counts come back from pandas as floats when a column also holds gaps
        return format(int(round(value)), spec)
    return format(value * scale, spec) + unit


class TerminalProgress:
    """Implements the runner's `Progress` with one rich progress bar per model."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._progress = Progress(
            TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[status]}"), console=self.console, auto_refresh=False, transient=False,
        )
        self._bars: dict[str, Any] = {}
        self._correct: dict[str, int] = {}

    def __enter__(self) -> TerminalProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def model_started(self, model: str, n_requests: int) -> None:
        self._bars[model] = self._progress.add_task(model, total=n_requests, status="loading")
        self._correct[model] = 0
        self._progress.refresh()

    def request_done(self, model: str, record: dict[str, Any]) -> None:
        self._correct[model] += record.get("verdict") == "correct"
        status = f"{self._correct[model]} correct" + (" · error" if record.get("error") else "")
        self._progress.update(self._bars[model], advance=1, status=status, refresh=True)

    def warn(self, message: str) -> None:
        self._progress.console.print(f"[yellow]warning:[/] {message}", highlight=False)

    def model_finished(self, model: str, status: str, detail: str | None) -> None:
        bar = self._bars[model]
        if status == "failed":
            self._progress.update(bar, status=f"[red]failed: {detail}[/red]", refresh=True)
        else:
            self._progress.update(bar, status=f"{self._correct[model]} correct · done", refresh=True)


def summary_table(rows: list[dict[str, Any]], title: str) -> Table:
    """The per-model summary rows (from `analysis.summarize`) as a rich table (definitions in the README)."""
    table = Table(title=title, title_justify="left")
    for header in ("model", "accuracy [95% CI]", "TTFT p50", "TTFT p90", "out tok/s p50", "roofline", "E2E p50", "tokens in/out",
                   "J/task", "energy source", "$/task", "errors"):
        table.add_column(header, justify="left" if header in ("model", "energy source") else "right")
    for row in rows:
        accuracy = "–"
        if not _missing(row["accuracy"]):
            accuracy = f"{row['accuracy']:.0%} [{row['accuracy_ci_low']:.0%}–{row['accuracy_ci_high']:.0%}] " \
                       f"({row['n_correct']}/{row['n_scored']})"
        table.add_row(
            row["model"], accuracy,
            _fmt(row["ttft_p50_s"], ".0f", 1000, " ms"), _fmt(row["ttft_p90_s"], ".0f", 1000, " ms"),
            _fmt(row["output_tok_per_s_p50"], ".1f"), _fmt(row.get("roofline_share"), ".0%"),
            _fmt(row["e2e_p50_s"], ".2f", unit=" s"),
            f"{_fmt(row['input_tokens'], 'd')}/{_fmt(row['output_tokens'], 'd')}",
            _fmt(row["energy_j_per_task"], ".2f"), row["energy_source"],
            _usd(row["cost_usd_per_task"]), str(row["n_errors"] + row["n_checker_errors"]),
        )
    return table


def _usd(value: Any) -> str:
    return "–" if _missing(value) else f"${value:.6f}" if value < 0.01 else f"${value:.4f}"


def projected_table(rows: list[dict[str, Any]]) -> Table:
    """API models that did not run (no key): their cost for this suite at list price, marked as projected."""
    table = Table(title="Projected cost at list price (not measured: these models did not run)", title_justify="left",
                  style="dim")
    for header in ("model", "api model", "projected $/task", "projected $ suite", "basis", "prices"):
        table.add_column(header, justify="right" if "$" in header else "left")
    for row in rows:
        table.add_row(row["model"], row["api_model"], _usd(row["cost_usd_per_task"]) + "*",
                      _usd(row["cost_usd_suite"]) + "*", row["basis"], row["price_source"] or "no price found")
    return table


def break_even_table(rows: list[dict[str, Any]]) -> Table:
    """Tasks per day at which each local model and each API model cost the same (see README: Cost model)."""
    table = Table(title="Break-even: local (hardware held all day) against each API", title_justify="left")
    for header in ("local", "api", "api $/task", "local $/task", "break-even tasks/day", "capacity/day", "verdict",
                   "idle capacity $/day"):
        table.add_column(header, justify="left" if header in ("local", "api", "verdict") else "right")
    for row in rows:
        mark = "*" if row["api_cost_basis"] == "projected" else ""
        table.add_row(row["local_model"], row["api_model"] + mark, _usd(row["api_cost_usd_per_task"]) + mark,
                      _usd(row["local_cost_usd_per_task"]), _fmt(row["break_even_tasks_per_day"], ",.0f"),
                      _fmt(row["capacity_tasks_per_day"], ",.0f"), row["verdict"],
                      _usd(row["idle_capacity_usd_per_day"]))
    table.caption = f"* projected API cost; utilisation {rows[0]['utilisation']:g}" if rows else None
    return table


def separation_table(rows: list[dict[str, Any]]) -> Table:
    """Paired accuracy differences; rows whose interval includes 0 are marked as not separated."""
    table = Table(title="Accuracy differences (paired by task, 95% bootstrap interval)", title_justify="left")
    for header in ("model A", "model B", "A − B", "95% CI", "tasks", "separated?"):
        table.add_column(header, justify="left" if header.startswith("model") or header == "separated?" else "right")
    for row in rows:
        table.add_row(row["model_a"], row["model_b"], f"{row['difference']:+.0%}",
                      f"[{row['ci_low']:+.0%}, {row['ci_high']:+.0%}]", str(row["n_tasks"]),
                      "yes" if row["separated"] else "[yellow]no: the intervals do not separate them[/]")
    return table


def same_weights_table(rows: list[dict[str, Any]]) -> Table:
    """One GGUF through two runtimes: B/A ratios and how often greedy outputs agree."""
    table = Table(title="Same weights, different runtimes (ratios B / A)", title_justify="left")
    for header in ("A", "B", "weights", "out tok/s", "TTFT", "J/task", "$/task", "same output"):
        table.add_column(header, justify="left" if header in ("A", "B", "weights") else "right")
    for row in rows:
        agreement = "–" if _missing(row["output_agreement"]) else \
            f"{row['output_agreement']:.0%} of {row['n_compared']}"
        table.add_row(f"{row['model_a']} ({row['runtime_a']})", f"{row['model_b']} ({row['runtime_b']})",
                      row["weights_sha256"][:12], _fmt(row["output_tok_per_s_ratio"], ".2f", unit="×"),
                      _fmt(row["ttft_ratio"], ".2f", unit="×"), _fmt(row["energy_ratio"], ".2f", unit="×"),
                      _fmt(row["cost_ratio"], ".2f", unit="×"), agreement)
    return table


_VERDICT_STYLE = {"regressed": "bold red", "improved": "green", "unchanged": "", "not compared": "dim"}


def comparison_table(rows: list[dict[str, Any]], title: str) -> Table:
    """Baseline against current: change, 95% interval, minimum effect and verdict per model and metric."""
    table = Table(title=title, title_justify="left")
    for header in ("model", "metric", "baseline", "current", "change", "95% CI", "min effect", "verdict"):
        table.add_column(header, justify="left" if header in ("model", "metric", "verdict") else "right")
    for row in rows:
        change, interval, effect = describe_change(row)
        style = _VERDICT_STYLE.get(row["verdict"], "")
        table.add_row(row["model"], row["metric"], _fmt(row["baseline"], ".4g"), _fmt(row["current"], ".4g"), change,
                      interval, effect, f"[{style}]{row['verdict']}[/]" if style else row["verdict"])
    return table


def levels_table(rows: list[dict[str, Any]], with_goodput: bool) -> Table:
    """Per model and load level: throughput, latency percentiles, goodput, energy and cost per task."""
    table = Table(title="Load levels (server endpoints)", title_justify="left")
    headers = ["model", "level", "req/s", "out tok/s", "TTFT p50", "TTFT p99", "ITL p50", "E2E p50", "J/task", "$/task",
               "client CPU/req"]
    if with_goodput:
        headers.insert(4, "goodput/s")
    for header in headers:
        table.add_column(header, justify="left" if header in ("model", "level") else "right")
    for row in rows:
        cells = [row["model"], row["level"], _fmt(row["request_throughput_per_s"], ".2f"),
                 _fmt(row["output_tok_per_s_system"], ".1f"), _fmt(row["ttft_p50_s"], ".0f", 1000, " ms"),
                 _fmt(row["ttft_p99_s"], ".0f", 1000, " ms"), _fmt(row["itl_p50_s"], ".1f", 1000, " ms"),
                 _fmt(row["e2e_p50_s"], ".2f", unit=" s"), _fmt(row["energy_j_per_task"], ".2f"),
                 _usd(row["cost_usd_per_task"]), _fmt(row["client_cpu_ms_per_request"], ".2f", unit=" ms")]
        if with_goodput:
            cells.insert(4, _fmt(row["goodput_per_s"], ".2f"))
        table.add_row(*cells)
    return table

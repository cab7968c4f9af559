"""Terminal output: a progress bar per model while running, and the summary table at the end.

Progress goes to stderr and is refreshed only when a request finishes (no refresh thread competing with
the model for CPU); the summary table goes to stdout.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

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
        self._failed: dict[str, int] = {}

    def __enter__(self) -> TerminalProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def model_started(self, model: str, n_requests: int) -> None:
        self._bars[model] = self._progress.add_task(model, total=n_requests, status="loading")
        self._correct[model] = self._failed[model] = 0
        self._progress.refresh()

    def request_done(self, model: str, record: dict[str, Any]) -> None:
        self._correct[model] += record.get("verdict") == "correct"
        self._failed[model] += record.get("error") is not None
        self._progress.update(self._bars[model], advance=1, status=self._tally(model), refresh=True)

    def _tally(self, model: str) -> str:
        failed = self._failed[model]
        return f"{self._correct[model]} correct" + (f" · [red]{failed} failed[/]" if failed else "")

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


def summary_table(rows: list[dict[str, Any]], title: str) -> Table:
    """The per-model summary rows (from `analysis.summarize`) as a rich table (definitions in the README)."""
    table = Table(title=title, title_justify="left")
    for header in ("model", "accuracy [95% CI]", "TTFT p50", "TTFT p90", "out tok/s p50", "E2E p50", "tokens in/out",
                   "J/task", "energy source", "gCO2e/task", "carbon basis", "$/task", "errors"):
        table.add_column(header, justify="left" if header in ("model", "energy source", "carbon basis") else "right")
    for row in rows:
        accuracy = "–"
        if not _missing(row["accuracy"]):
            accuracy = f"{row['accuracy']:.0%} [{row['accuracy_ci_low']:.0%}–{row['accuracy_ci_high']:.0%}] " \
                       f"({row['n_correct']}/{row['n_scored']})"
        table.add_row(
            row["model"], accuracy,
            _fmt(row["ttft_p50_s"], ".0f", 1000, " ms"), _fmt(row["ttft_p90_s"], ".0f", 1000, " ms"),
            _fmt(row["output_tok_per_s_p50"], ".1f"), _fmt(row["e2e_p50_s"], ".2f", unit=" s"),
            f"{_fmt(row['input_tokens'], 'd')}/{_fmt(row['output_tokens'], 'd')}",
            energy_cell(row), row["energy_source"], carbon_cell(row), row.get("carbon_source", "unavailable"),
            _usd(row["cost_usd_per_task"]), str(row["n_errors"] + row["n_checker_errors"]),
        )
    return table


def energy_cell(row: dict[str, Any]) -> str:
    """J per task: the measured (or estimated) figure, or an estimate's min–max range."""
    if _missing(row["energy_j_per_task"]) and not _missing(row.get("energy_j_per_task_min")):
        return f"{row['energy_j_per_task_min']:.3g}–{row['energy_j_per_task_max']:.3g}"
    return _fmt(row["energy_j_per_task"], ".2f")


def _grams(value: float) -> str:
    return f"{value:.3g}"


def carbon_cell(row: dict[str, Any]) -> str:
    """gCO2e per task: a figure, or a min–max range (an estimate); – when unavailable."""
    low, high = row.get("gco2e_per_task_min"), row.get("gco2e_per_task_max")
    if _missing(low):
        return "–"
    return _grams(low) if low == high else f"{_grams(low)}–{_grams(high)}"


def carbon_break_even_table(rows: list[dict[str, Any]], volumes: tuple[int, ...]) -> Table:
    """gCO2e per day at each volume: each local model (held all day) against each API's estimated range."""
    table = Table(title="Carbon: gCO2e per day, local (held all day, idle included) against each API "
                        "(estimated (ecologits), min–max)", title_justify="left")
    table.add_column("local", justify="left")
    table.add_column("api", justify="left")
    for volume in volumes:
        table.add_column(f"{volume:,}/day local | api", justify="right")
    table.add_column("local emits less above (tasks/day)", justify="right")
    for row in rows:
        mark = "*" if row.get("api_basis") == "projected" else ""
        cells = [row["local_model"], row["api_model"] + mark]
        for volume in volumes:
            local = row[f"local_gco2e_per_day_{volume}"]
            cells.append(f"{'beyond capacity' if _missing(local) else _grams(local)} | "
                         f"{_grams(row[f'api_gco2e_per_day_min_{volume}'])}–{_grams(row[f'api_gco2e_per_day_max_{volume}'])}{mark}")
        low, high = row["break_even_tasks_per_day_min"], row["break_even_tasks_per_day_max"]
        cells.append(break_even_range(low, high))
        table.add_row(*cells)
    table.caption = ("local: measured/estimated energy x PUE x grid intensity (see carbon basis); API: EcoLogits' "
                     "range; * projected: the API did not run (EcoLogits' modelled latency, this run's token counts)")
    return table


def break_even_range(low: Any, high: Any) -> str:
    """Volumes above which local emits less: against the API's max estimate, then its min."""
    if _missing(low):
        return "never (within capacity)"
    text = "any volume" if low < 1 else f"{low:,.0f}"
    if _missing(high):
        return f"{text} (API max); never (API min)"
    return text if high < 1 else f"{text}–{high:,.0f}"


def _usd(value: Any) -> str:
    return "–" if _missing(value) else f"${value:.6f}" if value < 0.01 else f"${value:.4f}"


def projected_table(rows: list[dict[str, Any]], carbon: list[dict[str, Any]] | None = None) -> Table:
    """API models that did not run (no key): their cost for this suite at list price, marked as projected, and
    (with `carbon`) EcoLogits' projected gCO2e per task."""
    table = Table(title="Projected cost at list price (not measured: these models did not run)", title_justify="left",
                  style="dim")
    headers = ["model", "api model", "projected $/task", "projected $ suite", "basis", "prices"]
    if carbon is not None:
        headers.append("projected gCO2e/task (ecologits)")
    for header in headers:
        table.add_column(header, justify="right" if "$" in header or "gCO2e" in header else "left")
    by_model = {c["model"]: c for c in carbon or []}
    for row in rows:
        cells = [row["model"], row["api_model"], _usd(row["cost_usd_per_task"]) + "*",
                 _usd(row["cost_usd_suite"]) + "*", row["basis"], row["price_source"] or "no price found"]
        if carbon is not None:
            projected = by_model.get(row["model"], {})
            cells.append(carbon_cell(projected) + "*" if not _missing(projected.get("gco2e_per_task_min"))
                         else "unavailable")
        table.add_row(*cells)
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


def benchmark_table(rows: list[dict[str, Any]], title: str) -> Table:
    """A benchmark's metrics per model: value, 95% interval, tasks scored (and $ per correct task when known)."""
    table = Table(title=title, title_justify="left")
    for header in ("model", "metric", "value", "95% CI", "tasks", "$/correct"):
        table.add_column(header, justify="left" if header in ("model", "metric") else "right")
    for row in rows:
        table.add_row(row["model"], row["metric"], _fmt(row["value"], ".1%"),
                      f"[{_fmt(row['ci_low'], '.1%')}, {_fmt(row['ci_high'], '.1%')}]", _fmt(row["n_tasks"], "d"),
                      _fmt(row.get("cost_usd_per_correct"), ".2e") if row["metric"] in ("accuracy", "pass@1") else "")
    return table


def breakdown_table(rows: list[dict[str, Any]], title: str) -> Table:
    """Accuracy by group of subjects (or by subject), per model, with 95% intervals."""
    table = Table(title=title, title_justify="left")
    for header in ("model", "name", "accuracy", "95% CI", "tasks"):
        table.add_column(header, justify="left" if header in ("model", "name") else "right")
    for row in rows:
        table.add_row(row["model"], str(row["name"]), _fmt(row["accuracy"], ".1%"),
                      f"[{_fmt(row['ci_low'], '.1%')}, {_fmt(row['ci_high'], '.1%')}]", _fmt(row["n_tasks"], "d"))


def failures_table(records: list[dict[str, Any]]) -> Table | None:
    """Per model with failed requests: how many failed, their error classes with counts, the first message.
    None when no request failed."""
    failed: dict[str, list[dict[str, Any]]] = {}
    totals: dict[str, int] = {}
    for record in records:
        totals[record["model"]] = totals.get(record["model"], 0) + 1
        if record.get("error"):
            failed.setdefault(record["model"], []).append(record["error"])
    if not failed:
        return None
    table = Table(title="Failed requests", title_justify="left")
    for header in ("model", "failed", "error classes", "first message"):
        table.add_column(header, justify="right" if header == "failed" else "left", overflow="fold")
    for model, errors in failed.items():
        counts: dict[str, int] = {}
        for error in errors:
            kind = error.get("error_class") or error.get("type") or "unknown"
            counts[kind] = counts.get(kind, 0) + 1
        message = str(errors[0].get("message") or "")
        table.add_row(model, f"{len(errors)}/{totals[model]}", ", ".join(f"{k} ×{n}" for k, n in counts.items()),
                      Text(message if len(message) <= 300 else message[:299] + "…"),  # never read as markup
                      style="red")
    return table

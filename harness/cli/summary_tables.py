"""Terminal tables: the summary at the end of a run, and the tables beside it (projected costs, break-even,
load levels, comparisons, failures). They go to stdout; the progress bars (cli/progress.py) to stderr.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from harness.analysis.regress import describe_change
from harness.analysis.scores import is_headline
from harness.formatting import (
    MoneyUnit,
    accuracy_text,
    fixed,
    is_missing,
    money_unit,
    number,
    number_range,
    pct,
    per_day,
    usd,
)

_missing = is_missing


def _fmt(value: Any, spec: str, scale: float = 1.0, unit: str = "") -> str:
    return fixed(value, spec, unit, scale)


@dataclass(frozen=True)
class SummaryColumn:
    """One column of the terminal summary: its header, the group it belongs to when the table is split
    (quality and cost; speed and energy), and its cell text from a summary row and the money unit."""

    header: str
    group: str
    cell: Callable[[dict[str, Any], MoneyUnit], str]
    justify: str = "right"


def _accuracy_cell(row: dict[str, Any], _: MoneyUnit) -> str:
    if _missing(row["accuracy"]):
        return "–"
    return f"{accuracy_text(row)}\n[{pct(row['accuracy_ci_low'])}–{pct(row['accuracy_ci_high'])}]"


def _per_correct_cell(row: dict[str, Any], unit: MoneyUnit) -> str:
    low, high = row.get("cost_usd_per_correct_ci_low"), row.get("cost_usd_per_correct_ci_high")
    interval = "" if _missing(low) or _missing(high) else f"\n[{unit.fmt(low)}–{unit.fmt(high)}]"
    return unit.fmt(row["cost_usd_per_correct"]) + interval


QUALITY, SPEED = "quality and cost", "speed and energy"
# New summary figures slot in here: one entry each, in the group they belong to when the table is split.
SUMMARY_COLUMNS = [
    SummaryColumn("accuracy\n[95% CI]", QUALITY, _accuracy_cell),
    SummaryColumn("$ per\n{per}", QUALITY, lambda r, u: u.fmt(r["cost_usd_per_task"])),
    SummaryColumn("$ per {per_correct}\n[95% CI]", QUALITY, _per_correct_cell),
    SummaryColumn("errors", QUALITY, lambda r, u: str(r["n_errors"] + r["n_checker_errors"])),
    SummaryColumn("TTFT\np50 / p90", SPEED, lambda r, u: f"{_fmt(r['ttft_p50_s'], '.0f', 1000, ' ms')}\n"
                                                       f"{_fmt(r['ttft_p90_s'], '.0f', 1000, ' ms')}"),
    SummaryColumn("out tok/s\np50", SPEED, lambda r, u: _fmt(r["output_tok_per_s_p50"], ".1f")),
    SummaryColumn("roofline\nshare", SPEED, lambda r, u: _fmt(r.get("roofline_share"), ".0%")),
    SummaryColumn("E2E\np50", SPEED, lambda r, u: _fmt(r["e2e_p50_s"], ".2f", unit=" s")),
    SummaryColumn("tokens\nin / out", SPEED, lambda r, u: f"{_fmt(r['input_tokens'], 'd')}\n"
                                                       f"{_fmt(r['output_tokens'], 'd')}"),
    SummaryColumn("J/task\n(source)", SPEED, lambda r, u: f"{energy_cell(r)}\n{r['energy_source']}"),
    # the basis without its parenthesised detail (the report and the CSV keep it whole)
    SummaryColumn("gCO2e/task\n(basis)", SPEED, lambda r, u: f"{carbon_cell(r)}\n"
                                                          f"{(r.get('carbon_source') or 'unavailable').split(' (')[0]}"),
]
NAME_MIN_WIDTH = 12   # model names wrap at - _ . / down to this width before a table is split further


def wrap_name(name: str, width: int) -> str:
    """A model name over several lines of at most `width` characters, broken after - _ . / where possible."""
    pieces = re.findall(r"[^-_./]*[-_./]?", name)
    lines, line = [], ""
    for piece in (p for p in pieces if p):
        while len(piece) > width:  # a piece longer than a line is cut into lines, never dropped
            if line:
                lines.append(line)
                line = ""
            lines.append(piece[:width])
            piece = piece[width:]
        if len(line) + len(piece) > width:
            lines.append(line)
            line = ""
        line += piece
    return "\n".join([*lines, line] if line else lines)


def _summary_part(rows: list[dict[str, Any]], columns: list[SummaryColumn], title: str, name_width: int | None,
                  unit: MoneyUnit) -> Table:
    table = Table(title=title, title_justify="left", show_lines=True)
    table.add_column("model", justify="left", no_wrap=True)
    for column in columns:
        table.add_column(column.header.format(per=unit.per, per_correct=unit.per_correct), justify=column.justify,
                         no_wrap=True)
    for row in rows:
        name = row["model"] if name_width is None else wrap_name(row["model"], name_width)
        table.add_row(name, *(column.cell(row, unit) for column in columns))
    return table


def table_width(console: Console, table: Table) -> int:
    """The columns `table` takes when nothing in it is wrapped or cut."""
    return Measurement.get(console, console.options.update_width(10_000), table).maximum


def summary_tables(rows: list[dict[str, Any]], title: str, console: Console) -> list[Table]:
    """The per-model summary rows (from `analysis.summarize`) as rich tables that fit `console.width` with no
    figure cut: one table when it fits; else one per group (quality and cost; speed and energy); model names
    wrap before a group is split further, column by column (definitions: docs/reference/metrics.md)."""
    unit = money_unit([r["cost_usd_per_task"] for r in rows])
    width = console.width
    groups = [[c for c in SUMMARY_COLUMNS if c.group == g] for g in dict.fromkeys(c.group for c in SUMMARY_COLUMNS)]
    layouts = [[SUMMARY_COLUMNS], groups]
    longest = max((len(r["model"]) for r in rows), default=5)
    for layout in layouts:
        for name_width in (None, *range(longest - 1, NAME_MIN_WIDTH - 1, -1)):
            tables = [_summary_part(rows, part, _part_title(title, part, layout), name_width, unit) for part in layout]
            if all(table_width(console, t) <= width for t in tables):
                return tables
    tables = []  # still too wide: as many columns per table as fit, names at their narrowest
    for group in groups:
        chunk: list[SummaryColumn] = []
        for column in group:
            trial = _summary_part(rows, [*chunk, column], "", NAME_MIN_WIDTH, unit)
            if chunk and table_width(console, trial) > width:
                tables.append(_summary_part(rows, chunk, f"{title} · {group[0].group}", NAME_MIN_WIDTH, unit))
                chunk = []
            chunk.append(column)
        tables.append(_summary_part(rows, chunk, f"{title} · {group[0].group}", NAME_MIN_WIDTH, unit))
    return tables


def _part_title(title: str, part: list[SummaryColumn], layout: list[list[SummaryColumn]]) -> str:
    return title if len(layout) == 1 else f"{title} · {part[0].group}"


def energy_cell(row: dict[str, Any]) -> str:
    """J per task: the measured (or estimated) figure, or an estimate's min–max range."""
    if _missing(row["energy_j_per_task"]) and not _missing(row.get("energy_j_per_task_min")):
        return number_range(row["energy_j_per_task_min"], row["energy_j_per_task_max"])
    return number(row["energy_j_per_task"])


def carbon_cell(row: dict[str, Any]) -> str:
    """gCO2e per task: a figure, or a min–max range (an estimate); – when unavailable."""
    return number_range(row.get("gco2e_per_task_min"), row.get("gco2e_per_task_max"))


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
            cells.append(f"{'beyond capacity' if _missing(local) else number(local)} | "
                         + number_range(row[f"api_gco2e_per_day_min_{volume}"], row[f"api_gco2e_per_day_max_{volume}"])
                         + mark)
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
    text = "any volume" if low < 1 else per_day(low)
    if _missing(high):
        return f"{text} (API max); never (API min)"
    return text if high < 1 else f"{text}–{per_day(high)}"


def projected_table(rows: list[dict[str, Any]], carbon: list[dict[str, Any]] | None = None) -> Table:
    """API models that did not run (no key): their cost for this suite at list price, marked as projected, and
    (with `carbon`) EcoLogits' projected gCO2e per task."""
    table = Table(title="Projected cost at list price (not measured: these models did not run)", title_justify="left",
                  style="dim")
    tier = next((row["tier"] for row in rows if row.get("tier")), None)
    headers = ["model", "projected\n$/task", "projected\n$ suite"]
    if tier:  # the same tasks in another service tier, beside the list price
        headers += [f"{tier}\n$/task", f"{tier}\n$ suite"]
    headers += ["basis", "prices"]
    if carbon is not None:
        headers.append("projected\ngCO2e/task\n(ecologits)")
    for header in headers:
        table.add_column(header, justify="right" if "$" in header or "gCO2e" in header else "left",
                         no_wrap="$" in header, overflow="fold")
    by_model = {c["model"]: c for c in carbon or []}
    for row in rows:
        name = row["model"] if row["api_model"] == row["model"] else f"{row['model']} ({row['api_model']})"
        cells = [name, usd(row["cost_usd_per_task"]) + "*", usd(row["cost_usd_suite"]) + "*"]
        if tier:
            has_tier = not _missing(row.get("tier_cost_usd_per_task"))
            cells += [usd(row["tier_cost_usd_per_task"]) + "*" if has_tier else f"no {tier} price",
                      usd(row["tier_cost_usd_suite"]) + "*" if has_tier else "–"]
        prices = row["price_source"] or "no price found"
        tier_source = row.get("tier_price_source")
        if tier and isinstance(tier_source, str) and "× standard (" in tier_source:  # not from genai-prices: say so
            prices += f" · {tier}: {tier_source.split('; ', 1)[-1]}"
        cells += [row["basis"], prices]
        if carbon is not None:
            projected = by_model.get(row["model"], {})
            cells.append(carbon_cell(projected) + "*" if not _missing(projected.get("gco2e_per_task_min"))
                         else "unavailable")
        table.add_row(*cells)
    return table


def separation_table(rows: list[dict[str, Any]]) -> Table:
    """Paired accuracy differences; rows whose interval includes 0 are marked as not separated."""
    table = Table(title="Accuracy differences (paired by task, 95% bootstrap interval)", title_justify="left")
    for header in ("model A", "model B", "A − B", "95% CI", "tasks", "separated?"):
        table.add_column(header, justify="left" if header.startswith("model") or header == "separated?" else "right",
                         no_wrap=header in ("A − B", "95% CI", "tasks"), overflow="fold")
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
    table = Table(title="Load levels", title_justify="left")
    headers = ["model", "level", "req/s", "tasks/day", "out tok/s", "TTFT p50", "TTFT p99", "ITL p50", "E2E p50", "J/task", "$/task",
               "client CPU/req"]
    if with_goodput:
        headers.insert(5, "goodput/s")
    for header in headers:
        table.add_column(header, justify="left" if header in ("model", "level") else "right")
    for row in rows:
        cells = [row["model"], row["level"], _fmt(row["request_throughput_per_s"], ".2f"),
                 _fmt(row["capacity_tasks_per_day"], ",.0f"),
                 _fmt(row["output_tok_per_s_system"], ".1f"), _fmt(row["ttft_p50_s"], ".0f", 1000, " ms"),
                 _fmt(row["ttft_p99_s"], ".0f", 1000, " ms"), _fmt(row["itl_p50_s"], ".1f", 1000, " ms"),
                 _fmt(row["e2e_p50_s"], ".2f", unit=" s"), _fmt(row["energy_j_per_task"], ".2f"),
                 usd(row["cost_usd_per_task"]), _fmt(row["client_cpu_ms_per_request"], ".2f", unit=" ms")]
        if with_goodput:
            cells.insert(5, _fmt(row["goodput_per_s"], ".2f"))
        if row.get("client_flag"):  # the load generator's self-watch: the client may have made these figures
            cells[1] = f"[yellow]{row['level']} ⚠[/]"
        table.add_row(*cells)
    flags = [f"⚠ {row['model']} {row['level']}: {row['client_flag']}" for row in rows if row.get("client_flag")]
    flags += [f"↻ {row['model']} {row['level']}: {row['client_grown']}" for row in rows
              if isinstance(row.get("client_grown"), str)]
    if flags:
        table.caption, table.caption_justify = "\n".join(flags), "left"
    return table


def scores_table(rows: list[dict[str, Any]], title: str) -> Table:
    """A benchmark's metrics per model: value, 95% interval, tasks scored (and $ per correct task when known)."""
    table = Table(title=title, title_justify="left")
    for header in ("model", "metric", "value", "95% CI", "tasks", "$/correct"):
        table.add_column(header, justify="left" if header in ("model", "metric") else "right")
    for row in rows:
        table.add_row(row["model"], row["metric"], _fmt(row["value"], ".1%"),
                      f"[{_fmt(row['ci_low'], '.1%')}, {_fmt(row['ci_high'], '.1%')}]", _fmt(row["n_tasks"], "d"),
                      usd(row.get("cost_usd_per_correct")) if is_headline(row["metric"]) else "")
    return table


def breakdown_table(rows: list[dict[str, Any]], title: str) -> Table:
    """Accuracy by group of subjects (or by subject), per model, with 95% intervals."""
    table = Table(title=title, title_justify="left")
    for header in ("model", "name", "accuracy", "95% CI", "tasks"):
        table.add_column(header, justify="left" if header in ("model", "name") else "right")
    for row in rows:
        table.add_row(row["model"], str(row["name"]), _fmt(row["accuracy"], ".1%"),
                      f"[{_fmt(row['ci_low'], '.1%')}, {_fmt(row['ci_high'], '.1%')}]", _fmt(row["n_tasks"], "d"))
    return table


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

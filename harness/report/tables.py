"""The report's tables: every value escaped, projected figures in their own style."""

from __future__ import annotations

import math
from html import escape
from typing import Any

from harness.analysis.regress import describe_change
from harness.report.carbon_section import carbon_cells, energy_cell, projected_cells
from harness.report.data import ReportData


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _num(value: Any, spec: str, unit: str = "", scale: float = 1.0) -> str:
    return "–" if _missing(value) else f"{format(value * scale, spec)}{unit}"


def _usd(value: Any) -> str:
    """Dollars with three significant digits, in plain decimals ($0.0000321, not 3.21e-05)."""
    if _missing(value):
        return "–"
    if value == 0 or value >= 1:
        return f"${value:,.2f}"
    decimals = max(2, -math.floor(math.log10(abs(value))) + 2)
    return f"${value:.{decimals}f}"


def _pct_ci(row: dict) -> str:
    if _missing(row["accuracy"]):
        return "–"
    return (f"{row['accuracy']:.0%} <span class='note'>[{row['accuracy_ci_low']:.0%}–{row['accuracy_ci_high']:.0%}]"
            f" {row['n_correct']}/{row['n_scored']}</span>")


def _usd_ci(row: dict) -> str:
    if _missing(row["cost_usd_per_correct"]):
        return "–"
    low, high = row.get("cost_usd_per_correct_ci_low"), row.get("cost_usd_per_correct_ci_high")
    interval = "" if _missing(low) else f" <span class='note'>[{_usd(low)}–{_usd(high)}]</span>"
    return _usd(row["cost_usd_per_correct"]) + interval


def headline_table(data: ReportData) -> str:
    """One row per model: measured rows, then projected API rows in their own style."""
    head = ("<tr><th class='l'>model</th><th class='l'>kind · runtime · device</th><th>accuracy [95% CI]</th>"
            "<th>$ / task</th><th>$ / correct task [95% CI]</th><th>J / task</th><th class='l'>energy source</th>"
            "<th>gCO2e / task</th><th class='l'>carbon basis</th>"
            "<th>output tok/s p50</th><th>roofline share</th><th>TTFT p50 / p90</th><th>E2E p50</th></tr>")
    rows = []
    for row in data.summary.to_dict("records"):
        load = data.manifest["models"].get(row["model"], {}).get("load") or {}
        runtime = " · ".join(_e(v) for v in (row["kind"], load.get("runtime"), row["device"]) if v)
        rows.append(
            f"<tr><td class='l'>{_e(row['model'])}</td><td class='l'>{runtime}</td><td>{_pct_ci(row)}</td>"
            f"<td>{_usd(row['cost_usd_per_task'])}</td><td>{_usd_ci(row)}</td>"
            f"<td>{energy_cell(row)}</td><td class='l label'>{_e(row['energy_source'])}</td>{carbon_cells(row)}"
            f"<td>{_num(row['output_tok_per_s_p50'], '.1f')}</td><td>{_num(row.get('roofline_share'), '.0%')}</td>"
            f"<td>{_num(row['ttft_p50_s'], '.0f', ' ms', 1000)} / {_num(row['ttft_p90_s'], '.0f', ' ms', 1000)}</td>"
            f"<td>{_num(row['e2e_p50_s'], '.2f', ' s')}</td></tr>")
    for row in data.projected.to_dict("records"):
        rows.append(
            f"<tr class='projected'><td class='l'>{_e(row['model'])}*</td><td class='l'>api · not run (no key)</td>"
            f"<td>not run</td><td>{_usd(row['cost_usd_per_task'])}* projected</td><td>–</td>"
            f"{projected_cells(data, row['model'])}<td>–</td><td>–</td><td>–</td><td>–</td></tr>")
    note = ("<p class='note'>* projected: priced at list price with the token counts this run measured for each task; "
            "never measured.</p>" if len(data.projected) else "")
    return f"<table>{head}{''.join(rows)}</table>{note}"



def break_even_table(data: ReportData) -> str:
    if not len(data.break_even):
        return "<p class='note'>No break-even to show: it needs a local model with measured energy and an API cost.</p>"
    rows = []
    for row in data.break_even.to_dict("records"):
        cls = " class='projected'" if row["api_cost_basis"] == "projected" else ""
        mark = "*" if cls else ""
        rows.append(f"<tr{cls}><td class='l'>{_e(row['local_model'])}</td><td class='l'>{_e(row['api_model'])}{mark}</td>"
                    f"<td>{_usd(row['api_cost_usd_per_task'])}{mark}</td><td>{_usd(row['local_cost_usd_per_task'])}</td>"
                    f"<td>{_num(row['break_even_tasks_per_day'], ',.0f')}</td><td>{_num(row['capacity_tasks_per_day'], ',.0f')}</td>"
                    f"<td class='l'>{_e(row['verdict'])}</td><td>{_usd(row['idle_capacity_usd_per_day'])}</td>"
                    f"<td>{_num(row['utilisation'], '.0%')}</td></tr>")
    return ("<table><tr><th class='l'>local model</th><th class='l'>API</th><th>API $/task</th><th>local $/task</th>"
            "<th>break-even tasks/day</th><th>capacity tasks/day</th><th class='l'>verdict</th>"
            "<th>idle capacity $/day</th><th>utilisation</th></tr>" + "".join(rows) + "</table>")



def separation_table(data: ReportData) -> str:
    if not len(data.separation):
        return "<p class='note'>One model only: nothing to compare.</p>"
    rows = "".join(
        f"<tr><td class='l'>{_e(r['model_a'])}</td><td class='l'>{_e(r['model_b'])}</td><td>{r['difference']:+.0%}</td>"
        f"<td>[{r['ci_low']:+.0%}, {r['ci_high']:+.0%}]</td><td>{r['n_tasks']}</td>"
        f"<td class='l'>{'separated' if r['separated'] else 'not separated: the interval includes 0'}</td></tr>"
        for r in data.separation.to_dict("records"))
    return ("<table><tr><th class='l'>model A</th><th class='l'>model B</th><th>A − B</th><th>95% CI</th>"
            "<th>tasks</th><th class='l'>verdict</th></tr>" + rows + "</table>")



def same_weights_table(data: ReportData) -> str:
    """One weights file through two runtimes: ratios B / A and how often greedy outputs agree."""
    if not len(data.same_weights):
        return "<p class='note'>No two models share a weights file in these runs.</p>"
    rows = "".join(
        f"<tr><td class='l'>{_e(r['model_a'])} <span class='note'>{_e(r['runtime_a'])}</span></td>"
        f"<td class='l'>{_e(r['model_b'])} <span class='note'>{_e(r['runtime_b'])}</span></td>"
        f"<td class='l label'>{_e(r['weights_sha256'][:16])}</td><td>{_num(r['output_tok_per_s_ratio'], '.2f', '×')}</td>"
        f"<td>{_num(r['ttft_ratio'], '.2f', '×')}</td><td>{_num(r['energy_ratio'], '.2f', '×')}</td>"
        f"<td>{_num(r['cost_ratio'], '.2f', '×')}</td><td>{_num(r['output_agreement'], '.0%')} of {r['n_compared']}</td></tr>"
        for r in data.same_weights.to_dict("records"))
    return ("<table><tr><th class='l'>A</th><th class='l'>B</th><th class='l'>weights sha256</th><th>output tok/s B/A</th>"
            "<th>TTFT B/A</th><th>J/task B/A</th><th>$/task B/A</th><th>identical greedy outputs</th></tr>"
            + rows + "</table>")




def comparison_table(comparison: Any, baseline: str) -> str:
    """A baseline run against the current one: change, interval and verdict per model and metric."""
    rows = []
    for r in comparison.to_dict("records"):
        change, interval, effect = describe_change(r)
        rows.append(f"<tr class='verdict-{_e(r['verdict'])}'><td class='l'>{_e(r['model'])}</td>"
                    f"<td class='l'>{_e(r['metric'])}</td><td>{_num(r['baseline'], '.4g')}</td>"
                    f"<td>{_num(r['current'], '.4g')}</td><td>{change}</td><td>{interval}</td><td>{effect}</td>"
                    f"<td class='l'><span class='badge {_VERDICT_CLASS.get(r['verdict'], 'error')}'>{_e(r['verdict'])}"
                    f"</span></td></tr>")
    return (f"<p class='note'>Baseline {_e(baseline)}. Change = current / baseline − 1 (accuracy: points); 95% "
            "interval from a paired bootstrap over shared tasks; a regression needs the whole interval on the worse "
            "side and at least the minimum effect.</p><table><tr><th class='l'>model</th><th class='l'>metric</th>"
            "<th>baseline</th><th>current</th><th>change</th><th>95% CI</th><th>min effect</th>"
            "<th class='l'>verdict</th></tr>" + "".join(rows) + "</table>")


_VERDICT_CLASS = {"improved": "correct", "regressed": "incorrect", "unchanged": "error"}


def _client_watch(row: dict) -> str:
    """The load generator's own figures for a level, and its flag when it may have distorted the level."""
    lag, cpu, coalesced = row.get("loop_lag_p99_ms"), row.get("client_cpu_share"), row.get("coalesced_share")
    text = (f"loop lag p99 {_num(lag, '.1f', ' ms')} · CPU {_num(cpu, '.0f', '%', 100)}"
            f" · coalesced {_num(coalesced, '.0f', '%', 100)}")
    flag = row.get("client_flag")
    return f"<span class='incorrect'>⚠ {_e(flag)}</span><br>{text}" if isinstance(flag, str) else text


def levels_table(data: ReportData) -> str:
    """Per model and load level: throughput, latency percentiles, goodput, energy, cost, client CPU."""
    rows = "".join(
        f"<tr><td class='l'>{_e(r['model'])}</td><td class='l'>{_e(r['level'])}</td>"
        f"<td>{_num(r['request_throughput_per_s'], '.2f')}</td><td>{_num(r['capacity_tasks_per_day'], ',.0f')}</td>"
        f"<td>{_num(r['output_tok_per_s_system'], '.1f')}</td><td>{_num(r['goodput_per_s'], '.2f')}</td><td>{_num(r['ttft_p50_s'], '.0f', ' ms', 1000)} / "
        f"{_num(r['ttft_p99_s'], '.0f', ' ms', 1000)}</td><td>{_num(r['itl_p50_s'], '.1f', ' ms', 1000)}</td>"
        f"<td>{_num(r['e2e_p50_s'], '.2f', ' s')}</td><td>{_num(r['energy_j_per_task'], '.2f')}</td>"
        f"<td class='l label'>{_e(r['energy_source'])}</td><td>{_usd(r['cost_usd_per_task'])}</td>"
        f"<td>{_num(r['client_cpu_ms_per_request'], '.2f', ' ms')}</td>"
        f"<td class='l'>{_client_watch(r)}</td></tr>"
        for r in data.levels.to_dict("records"))
    return ("<table><tr><th class='l'>model</th><th class='l'>level</th><th>requests/s</th><th>tasks/day</th><th>output tok/s</th>"
            "<th>goodput/s</th><th>TTFT p50 / p99</th><th>ITL p50</th><th>E2E p50</th><th>J/task</th>"
            "<th class='l'>energy source</th><th>$/task</th><th>client CPU/request</th>"
            "<th class='l'>client self-watch</th></tr>" + rows + "</table>")

"""The report's tables: every value escaped, projected figures in their own style."""

from __future__ import annotations

from html import escape
from typing import Any

from harness.analysis.regress import describe_change
from harness.formatting import failed_text, fixed, is_missing, of_answered_text, pct, per_day, usd
from harness.report.carbon_section import carbon_cells, energy_cell, projected_cells
from harness.report.data import ReportData


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


_missing = is_missing
_num = fixed
_usd = usd


def _pct_ci(row: dict) -> str:
    if _missing(row["accuracy"]):
        return "–"
    interval = f"[{pct(row['accuracy_ci_low'])}–{pct(row['accuracy_ci_high'])}]"
    return (f"{pct(row['accuracy'])} <span class='note'>{interval} {row['n_correct']}/"
            f"{row.get('n_attempted', row['n_scored'])}</span>")


def _usd_ci(row: dict) -> str:
    if _missing(row["cost_usd_per_correct"]):
        return "–"
    low, high = row.get("cost_usd_per_correct_ci_low"), row.get("cost_usd_per_correct_ci_high")
    interval = "" if _missing(low) else f"<br><span class='note'>[{_usd(low)}–{_usd(high)}]</span>"
    return _usd(row["cost_usd_per_correct"]) + interval


def _runtime(data: ReportData, row: dict) -> str:
    load = data.manifest["models"].get(row["model"], {}).get("load") or {}
    return " · ".join(_e(v) for v in (row["kind"], load.get("runtime"), row["device"]) if v)


PROJECTED_NOTE = ("<p class='note'>* projected: the model did not run (no key); its cost is the list price of the "
                  "token counts this run measured for each task, its energy and carbon EcoLogits' estimate; never "
                  "measured."
                  "</p>")


def headline_tables(data: ReportData) -> str:
    """Models side by side in two tables of at most eight columns: quality and cost, then speed and energy;
    measured rows first, then projected API rows in their own style."""
    quality = ("<tr><th class='l'>model</th><th class='l'>kind · runtime · device</th><th>accuracy [95% CI]</th>"
               "<th>failed</th><th>accuracy of answered</th><th>$ / task</th><th>$ / correct task [95% CI]</th></tr>")
    speed = ("<tr><th class='l'>model</th><th>output tok/s p50</th><th>roofline share</th><th>TTFT p50 / p90</th>"
             "<th>E2E p50</th><th>J / task</th><th class='l'>energy source</th><th>gCO2e / task</th></tr>")
    quality_rows, speed_rows = [], []
    for row in data.summary.to_dict("records"):
        name = f"<td class='l'>{_e(row['model'])}</td>"
        quality_rows.append(
            f"<tr>{name}<td class='l'>{_runtime(data, row)}</td><td>{_pct_ci(row)}</td>"
            f"<td>{_e(failed_text(row) or '0')}</td>"
            f"<td>{_e(of_answered_text(row).removesuffix(' of answered') or '–')}</td>"
            f"<td>{_usd(row['cost_usd_per_task'])}</td><td>{_usd_ci(row)}</td></tr>")
        speed_rows.append(
            f"<tr>{name}<td>{_num(row['output_tok_per_s_p50'], '.1f')}</td><td>{_num(row.get('roofline_share'), '.0%')}"
            f"</td><td>{_num(row['ttft_p50_s'], '.0f', ' ms', 1000)} / "
            f"{_num(row['ttft_p90_s'], '.0f', ' ms', 1000)}</td>"
            f"<td>{_num(row['e2e_p50_s'], '.2f', ' s')}</td><td>{energy_cell(row)}</td>"
            f"<td class='l label'>{_e(row['energy_source'])}</td>{carbon_cells(row)}</tr>")
    for row in data.projected.to_dict("records"):
        name = f"<td class='l'>{_e(row['model'])}*</td>"
        quality_rows.append(
            f"<tr class='projected'>{name}<td class='l'>api · not run (no key)</td><td>not run</td><td>–</td>"
            f"<td>–</td><td>{_usd(row['cost_usd_per_task'])}* projected</td><td>–</td></tr>")
        speed_rows.append(f"<tr class='projected'>{name}<td>–</td><td>–</td><td>–</td><td>–</td>"
                          f"{projected_cells(data, row['model'])}</tr>")
    note = PROJECTED_NOTE if len(data.projected) else ""
    failures = ("<p class='note'>Accuracy counts failed requests and checker errors as not correct (their number is in "
                "<i>failed</i>); <i>accuracy of answered</i> leaves them out.</p>")
    return (f"<h3>Quality and cost</h3><table class='models'>{quality}{''.join(quality_rows)}</table>{failures}"
            f"<h3>Speed and energy</h3><table class='models'>{speed}{''.join(speed_rows)}</table>{note}")


def break_even_table(data: ReportData) -> str:
    """Break-even details: what each local model brings (its $ per task, capacity and idle cost, the same against
    every API) once, then one row per local x API pair with only what differs; utilisation stated once."""
    if not len(data.break_even):
        return "<p class='note'>No break-even to show: it needs a local model with measured energy and an API cost.</p>"
    frame = data.break_even
    utilisation = sorted({pct(u) for u in frame["utilisation"]})
    local_rows = "".join(
        f"<tr><td class='l'>{_e(r['local_model'])}</td><td>{_usd(r['local_cost_usd_per_task'])}</td>"
        f"<td>{_num(r['capacity_tasks_per_day'], ',.0f')}</td><td>{_usd(r['idle_capacity_usd_per_day'])}</td></tr>"
        for r in frame.drop_duplicates("local_model").to_dict("records"))
    pairs = []
    for row in frame.to_dict("records"):
        cls = " class='projected'" if row["api_cost_basis"] == "projected" else ""
        mark = "*" if cls else ""
        even = "–" if _missing(row["break_even_tasks_per_day"]) else per_day(row["break_even_tasks_per_day"])
        pairs.append(f"<tr{cls}><td class='l'>{_e(row['local_model'])}</td><td class='l'>{_e(row['api_model'])}{mark}"
                     f"</td><td>{_usd(row['api_cost_usd_per_task'])}{mark}</td><td>{even}</td>"
                     f"<td class='l wrap'>{_e(row['verdict'])}</td></tr>")
    return (f"<p class='note'>Every local machine is held all day at {' / '.join(utilisation)} utilisation (idle power "
            "when not busy); these figures are the same against every API:</p><table><tr><th class='l'>local model</th>"
            "<th>local $/task</th><th>capacity tasks/day</th><th>idle capacity $/day</th></tr>" + local_rows +
            "</table><table><tr><th class='l'>local model</th><th class='l'>API</th><th>API $/task</th>"
            "<th>break-even tasks/day</th><th class='l'>verdict</th></tr>" + "".join(pairs) + "</table>")


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
    grown = row.get("client_grown")
    if isinstance(grown, str):
        text = f"{_e(grown)}<br>{text}"
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

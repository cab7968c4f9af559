"""The report page: one self-contained HTML file (inline CSS and SVG, no script at all), every value
from the data escaped, and a Content-Security-Policy that forbids scripts even if something slipped.
"""

from __future__ import annotations

import datetime as dt
import json
from itertools import zip_longest
from typing import Any

from harness.analysis.metric_glossary import GLOSSARY
from harness.analysis.scores import sample_label
from harness.config.redact import redact_config
from harness.report import svg
from harness.report.answer_section import answer_section
from harness.report.carbon_section import carbon_break_even_table, carbon_chart, energy_items
from harness.report.data import ReportData
from harness.report.scores_section import scores_section
from harness.report.tables import (
    _e,
    _missing,
    _num,
    _usd,
    break_even_table,
    comparison_table,
    headline_tables,
    levels_table,
    same_weights_table,
    separation_table,
)

DRILL_DOWN_TASKS = 60      # tasks shown in the drill-down; the exports hold every record
OUTPUT_CHARS = 1200        # characters of each output shown
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'none'; base-uri 'none'"

STYLE = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px}h2{margin-top:36px;border-bottom:2px solid #dde2e8;padding-bottom:4px}
.lede{color:#4a5563;margin:0 0 16px}.note{color:#5b6675;font-size:13px}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13.5px;margin:8px 0}
th,td{border:1px solid #dde2e8;padding:5px 8px;text-align:right;vertical-align:top}
th{background:#eef1f5;position:sticky;top:0}td.l,th.l{text-align:left}
tr.projected td{font-style:italic;color:#6b4e16;background:#fff8e8}
.badge{display:inline-block;padding:1px 7px;border-radius:10px;font-size:12px;font-weight:600}
.correct{background:#d7f2dd;color:#135a22}.incorrect{background:#fbdcdc;color:#7c1414}
.error{background:#eee;color:#444}.label{font-family:ui-monospace,monospace;font-size:12px;color:#444}
pre{white-space:pre-wrap;word-break:break-word;background:#fbfbfc;border:1px solid #e3e6ea;padding:6px;margin:4px 0;
font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;max-height:22em;overflow:auto}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(560px,100%),1fr));gap:16px}
figure{margin:0;background:#fff;border:1px solid #dde2e8;padding:8px}figcaption{font-size:13px;color:#4a5563}
svg.chart{max-width:100%;height:auto;font-family:system-ui,sans-serif}
svg .grid{stroke:#e6e9ee}svg .tick{font-size:11px;fill:#5b6675}svg .axis-label{font-size:12px;fill:#333}
svg .point-label,svg .bar-label,svg .bar-value,svg .bar-note,svg .legend{font-size:12px;fill:#333}
svg .bar-note{fill:#8a5a00;font-style:italic}svg .frontier{fill:none;stroke:#999;stroke-dasharray:4 3}
svg .mark{fill:#000}details{background:#fff;border:1px solid #dde2e8;margin:6px 0;padding:4px 10px}
summary{cursor:pointer;font-weight:600}dl{display:grid;grid-template-columns:minmax(0,220px) minmax(0,1fr);gap:2px 12px;font-size:13px}
dt{color:#5b6675}dd{margin:0;font-family:ui-monospace,monospace;word-break:break-all}
h1,h2,h3,p,li,dd,summary,dt,figcaption,pre{overflow-wrap:anywhere}.tw{overflow-x:auto;max-width:100%}
th,td{white-space:nowrap;word-break:keep-all;overflow-wrap:normal;hyphens:none}th:not(.l),td.wrap{white-space:normal}
.nw{white-space:nowrap}details.section>summary h2{display:inline-block;margin:14px 0 6px;border:0}
.first{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(520px,100%),1fr));gap:16px;align-items:start}
svg .swatch{stroke:none}dl.glossary{grid-template-columns:minmax(0,200px) minmax(0,1fr)}
dl.glossary dd{font-family:inherit;word-break:normal}
.answer ul{margin:4px 0 12px;padding-left:20px}.answer li{margin:3px 0}.answer li.projected{color:#6b4e16}
.answer h3{margin:12px 0 0;font-size:16px}.unit{font-size:11.5px;color:#5b6675;font-weight:normal}
table.matrix td{white-space:normal;font-weight:600}table.matrix{font-size:12.5px}
table.matrix td,table.matrix th{padding:4px 6px}.unit{white-space:nowrap}
table.matrix th.projected{font-style:italic;color:#6b4e16}
.be-local{background:#d7f2dd;color:#135a22}.be-never{background:#fbdcdc;color:#7c1414}
.be-capacity{background:#fff0c8;color:#6b4e16}.key{padding:0 5px;border-radius:3px}
@media (max-width:600px){main{padding:12px}h1{font-size:21px}}
@media print{body{background:#fff;font-size:11px}main{max-width:none;padding:0}th{position:static}
.tw{overflow:visible}table{font-size:9.5px;width:100%}td,th{padding:2px 4px;overflow-wrap:anywhere;
white-space:normal}
table.matrix td{white-space:normal}.charts{display:block}figure,tr,li{break-inside:avoid}
figure{margin:0 0 8px}svg.chart{width:100%;height:auto}h2{break-after:avoid}}
"""


def _pareto(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    front, best = [], -1.0
    for x, y in sorted(points):
        if y > best:
            front.append((x, y))
            best = y
    return front


def model_colors(data: ReportData) -> dict[str, str]:
    """One colour per measured model, the same in every chart."""
    return {row["model"]: svg.color(i) for i, row in enumerate(data.summary.to_dict("records"))}


def frontier_chart(data: ReportData) -> str:
    """Accuracy against $ per correct task, with each interval, and the frontier of models no other beats on both."""
    rows, colors = data.summary.to_dict("records"), model_colors(data)
    points = [{"x": r["cost_usd_per_correct"], "y": r["accuracy"], "label": r["model"], "color": colors[r["model"]],
               "title": _point_title(r), "y_ci": _interval(r, "accuracy_ci"),
               "x_ci": _interval(r, "cost_usd_per_correct_ci")}
              for r in rows if not _missing(r["cost_usd_per_correct"]) and not _missing(r["accuracy"])
              and r["cost_usd_per_correct"] > 0]
    return _figure(svg.scatter(points, "$ per correct task (log scale)", "accuracy", "Accuracy against cost",
                               log_x=True, front=_pareto([(p["x"], p["y"]) for p in points]), x_fmt=_usd),
                   "Accuracy against $ per correct task; the dashed line joins models no other model beats on "
                   "both. Models without a cost or without a correct answer are left out.", "frontier")


def charts(data: ReportData) -> str:
    """Speed, energy, carbon, TTFT and ITL distributions, and break-even, as inline SVG figures."""
    rows = data.summary.to_dict("records")
    colors = model_colors(data)
    figures = []
    figures.append(_figure(svg.bars([{"label": r["model"], "value": None if _missing(r["output_tok_per_s_p50"]) else
                                      r["output_tok_per_s_p50"], "color": colors[r["model"]],
                                      "title": f"{r['model']}: {_num(r['output_tok_per_s_p50'], '.1f')} output tok/s "
                                               f"(median over {r['n_requests']} requests)"} for r in rows],
                                    "output tokens / s (p50)", "Decode speed"),
                           "Output speed: (N_out − 1) / (t_last − t_first), median over requests."))
    figures.append(_figure(svg.bars([energy_items(r, colors[r["model"]]) for r in rows], "joules per task",
                                    "Energy per task"),
                           "Energy per task with its source label; estimated and measured figures are labelled apart. "
                           "API models: EcoLogits' estimated range, drawn as an error bar."))
    figures.append(carbon_chart(data, colors))
    for metric, label in (("ttft_s", "time to first token (s)"), ("itl_s", "inter-token latency per request (s)")):
        items = []
        for model, group in data.frame.groupby("model", sort=False):
            values = group[metric].dropna()
            if len(values):
                q = values.quantile([0.05, 0.25, 0.5, 0.75, 0.95]).tolist()
                items.append({"label": model, "color": colors.get(model, "#555"), "p5": q[0], "p25": q[1], "p50": q[2],
                              "p75": q[3], "p95": q[4], "n": len(values)})
        figures.append(_figure(svg.boxes(items, label + ", log scale", f"{label} distribution"),
                               f"{label}: box p25–p75, bar at the median, whiskers p5–p95."))
    figures.append(break_even_chart(data, colors))
    return f"<div class='charts'>{''.join(figures)}</div>"


def _interval(row: dict, prefix: str) -> tuple[float, float] | None:
    low, high = row.get(f"{prefix}_low"), row.get(f"{prefix}_high")
    return None if _missing(low) or _missing(high) else (low, high)


def _point_title(row: dict) -> str:
    """Hover text of a model's point: accuracy and $ per correct task, each with its 95% interval."""
    cost_ci = _interval(row, "cost_usd_per_correct_ci")
    cost_ci_text = f" [{_usd(cost_ci[0])}–{_usd(cost_ci[1])}]" if cost_ci else ""
    return (f"{row['model']}: accuracy {row['accuracy']:.0%} [{row['accuracy_ci_low']:.0%}–"
            f"{row['accuracy_ci_high']:.0%}] ({row['n_correct']}/{row['n_scored']}); $ per correct task "
            f"{_usd(row['cost_usd_per_correct'])}{cost_ci_text}")


def break_even_chart(data: ReportData, colors: dict[str, str]) -> str:
    """Cost per day against tasks per day: each local model's curve and each API's line."""
    if not len(data.break_even):
        return _figure("<p class='note'>No local model with a measured energy and no API cost: nothing to compare.</p>",
                       "Break-even")
    from harness.cost.local import LocalCostParams, local_cost_per_day_usd

    grid = [10 ** (k / 8) for k in range(8 * 7 + 1)]  # 1 to 10M tasks/day
    series, marks = [], []
    for row in data.summary.to_dict("records"):
        entry = data.manifest["models"].get(row["model"], {})
        if not entry.get("local_cost") or _missing(row["energy_j_per_task"]) or _missing(row["e2e_mean_s"]):
            continue
        params = LocalCostParams(**entry["local_cost"])
        curve = [(n, local_cost_per_day_usd(params, n, row["energy_j_per_task"], row["e2e_mean_s"], row["idle_w"] or 0))
                 for n in grid]
        capacity = 86400 / row["e2e_mean_s"] if row["e2e_mean_s"] else None
        series.append({"label": f"{row['model']} (local)", "color": colors[row["model"]],
                       "title": f"{row['model']} (local): {_usd(curve[0][1])} per day at 1 task/day, "
                                f"{_num(capacity, ',.0f')} tasks/day at most (one machine)",
                       "points": [(n, c) for n, c in curve if c is not None]})
    apis = data.break_even.drop_duplicates("api_model")
    for index, row in enumerate(apis.to_dict("records")):
        projected = row["api_cost_basis"] == "projected"
        series.append({"label": f"{row['api_model']} (API{', projected' if projected else ''})",
                       "title": f"{row['api_model']}: {_usd(row['api_cost_usd_per_task'])} per task"
                                f"{' (projected: did not run)' if projected else ''}",
                       "color": colors.get(row["api_model"], svg.color(len(colors) + index)), "projected": projected,
                       "points": [(n, n * row["api_cost_usd_per_task"]) for n in grid]})
    for row in data.break_even.to_dict("records"):
        if not _missing(row["break_even_tasks_per_day"]):
            n = row["break_even_tasks_per_day"]
            marks.append({"x": n, "y": n * row["api_cost_usd_per_task"],
                          "label": f"{row['local_model']} = {row['api_model']} at {n:,.0f} tasks/day"})
    chart = svg.lines(series, "tasks per day (log)", "USD per day (log)", "Break-even", (grid[0], grid[-1]), marks)
    return _figure(chart, "Cost per day: a local model (hardware held all day, idle power included) against each API "
                          "(dashed: projected). Dots mark break-even volumes; a local curve ends at its capacity.")


def levels_section(data: ReportData) -> str:
    """Throughput and $ per task against load level per profiled model, with the APIs' $ per task as
    reference lines (dashed), and the per-level table."""
    if not len(data.levels):
        return "<p class='note'>No model ran under a load profile (<code>--profile</code>).</p>"
    names = list(dict.fromkeys(data.levels["level"]))
    series_rate, series_cost = [], []
    def values(by_level, column: str) -> list[float | None]:
        return [None if level not in by_level.index or _missing(by_level.loc[level, column])
                else float(by_level.loc[level, column]) for level in names]

    for index, (model, group) in enumerate(data.levels.groupby("model", sort=False)):
        by_level = group.set_index("level")
        series_rate.append({"label": model, "color": svg.color(index),
                            "values": values(by_level, "request_throughput_per_s")})
        series_cost.append({"label": model, "color": svg.color(index), "values": values(by_level, "cost_usd_per_task")})
    references = [(r["model"], r["cost_usd_per_task"]) for r in data.summary.to_dict("records")
                  if r["cost_basis"] == "list price" and not _missing(r["cost_usd_per_task"])]
    references += [(f"{r['model']}*", r["cost_usd_per_task"]) for r in data.projected.to_dict("records")
                   if not _missing(r["cost_usd_per_task"])]
    for offset, (label, cost) in enumerate(references):
        series_cost.append({"label": f"{label} (API)", "color": svg.color(len(series_rate) + offset), "dashed": True,
                            "values": [cost] * len(names)})
    charts = (_figure(svg.timeline(series_rate, names, "requests / s", "Throughput by load level"),
                      "Finished requests per second at each load level.")
              + _figure(svg.timeline(series_cost, names, "$ per task", "$ per task by load level", y_fmt=_usd),
                        "$ per task at each level (self-hosted: energy + hardware time shared by the requests in "
                        "flight); dashed: each API's $ per task (* projected)."))
    return f"<div class='charts'>{charts}</div>{levels_table(data)}"


def _figure(content: str, caption: str, cls: str = "") -> str:
    return f"<figure{f' class={cls}' if cls else ''}>{content}<figcaption>{_e(caption)}</figcaption></figure>"


def drill_down(data: ReportData) -> str:
    """Per task: prompt, expected answer, and every model's output and verdict (a capped number of tasks)."""
    prompts = {(s.name, t.id): t for s in data.suites if s is not None for t in s.tasks}
    by_task: dict[tuple[str, str], list[dict]] = {}
    for record in data.records:
        by_task.setdefault((record.get("suite"), record["task_id"]), []).append(record)
    keys = list(by_task)
    per_suite: dict[str, list] = {}
    for key in keys:
        per_suite.setdefault(key[0], []).append(key)
    # Round-robin over suites, so a capped drill-down still shows every suite.
    shown = [k for group in zip_longest(*per_suite.values()) for k in group if k is not None][:DRILL_DOWN_TASKS]
    parts = []
    if len(keys) > len(shown):
        parts.append(f"<p class='note'>Showing {len(shown)} of {len(keys):,} tasks (the first of each suite in turn); "
                     "every record is in the CSV and Parquet exports beside this file.</p>")
    for suite_name, task_id in shown:
        task = prompts.get((suite_name, task_id))
        prompt = "\n\n".join(f"[{m.role}] {m.content}" for m in task.messages) if task else "(prompt not available)"
        outputs = []
        for record in by_task[(suite_name, task_id)]:
            verdict = record.get("verdict") or "error"
            text = record.get("output_text") or ""
            if record.get("error"):
                text = f"[request failed: {record['error'].get('type')}: {record['error'].get('message')}]"
            clipped = text[:OUTPUT_CHARS] + (" …" if len(text) > OUTPUT_CHARS else "")
            outputs.append(f"<tr><td class='l'>{_e(record['model'])} <span class='note'>rep {record['repetition']}"
                           f"</span></td><td class='l'><span class='badge {_e(verdict)}'>{_e(verdict)}</span></td>"
                           f"<td class='l'><pre>{_e(clipped)}</pre></td></tr>")
        expected = json.dumps(task.expected if task else by_task[(suite_name, task_id)][0].get("expected"),
                              ensure_ascii=False)
        badges = " ".join(f"<span class='badge {_e(r.get('verdict') or 'error')}' title='{_e(r['model'])}'>"
                          f"{_e(r['model'])}</span>" for r in by_task[(suite_name, task_id)])
        parts.append(f"<details><summary>{_e(suite_name)} / {_e(task_id)} {badges}</summary><pre>{_e(prompt)}</pre>"
                     f"<p class='note'>expected: {_e(expected)}</p><table><tr><th class='l'>model</th>"
                     f"<th class='l'>verdict</th><th class='l'>output</th></tr>{''.join(outputs)}</table></details>")
    return "".join(parts)


def _dl(items: dict[str, Any]) -> str:
    return "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items.items()) + "</dl>"


# what the manifest section shows of each load level (the figures themselves are in the levels table)
LEVEL_FACTS = ("started_at", "n_requests", "client_processes", "client_cpu_s", "clients")


def manifest_section(data: ReportData) -> str:
    parts = []
    for run_dir, manifest in zip(data.run_dirs, data.manifests):
        host = manifest.get("host", {})
        gpus = ", ".join(g.get("name", "?") for g in host.get("gpus", [])) or "none"
        head = {"run": manifest.get("run_id"), "folder": str(run_dir), "status": manifest.get("status"),
                "harness": f"{manifest.get('harness_version')} ({manifest.get('harness_git_commit')})",
                "command line": " ".join(manifest.get("command_line", [])), "host": host.get("hostname"),
                "CPU": f"{host.get('cpu_model')} ({host.get('cpu_cores_available')} cores available)",
                "RAM": _num((host.get("ram_bytes") or 0) / 2**30, ".1f", " GiB"), "GPUs": gpus, "OS": host.get("os"),
                "Python": host.get("python"), "memory bandwidth": json.dumps(host.get("memory_bandwidth"))}
        head.update({f"library {k}": v for k, v in manifest.get("libraries", {}).items()})
        for number, placement in enumerate(manifest.get("placement") or [], start=1):
            if placement.get("ray") or placement.get("client_processes"):
                head[f"placement {number}"] = json.dumps(placement)
        head.update({f"suite {s['name']}": f"v{s.get('version')} sha256 {s['sha256']} ({s.get('n_tasks')} tasks)"
                     for s in manifest.get("suites", [])})
        models = []
        for name, entry in manifest.get("models", {}).items():
            weights = entry.get("weights") or {}
            models.append(f"<details><summary>{_e(name)} · {_e(entry.get('status'))}</summary>" + _dl({
                "kind": entry.get("kind"), "weights sha256": weights.get("sha256"), "weights bytes": weights.get("size_bytes"),
                "origin": weights.get("origin"), "load s": entry.get("load_s"), "load": json.dumps(entry.get("load")),
                "energy meter": json.dumps(entry.get("energy_meter")), "idle": json.dumps(entry.get("idle")),
                "local cost": json.dumps(entry.get("local_cost")), "config": json.dumps(redact_config(entry.get("config") or {})),
                "carbon (grid)": json.dumps(entry.get("carbon")) if entry.get("carbon") else None,
                "ecologits": json.dumps(entry.get("ecologits")) if entry.get("ecologits") else None,
                "error": json.dumps(entry.get("error")) if entry.get("error") else None,
                "ran on (Ray node)": json.dumps(entry.get("node")) if entry.get("node") else None,
                "load levels": json.dumps({name: {k: v for k, v in level.items() if k in LEVEL_FACTS}
                                           for name, level in entry["levels"].items()}) if entry.get("levels") else None,
            }) + "</details>")
        parts.append(f"<details open><summary>{_e(manifest.get('run_id'))}</summary>{_dl(head)}{''.join(models)}</details>")
    return "".join(parts)


def _tier_table_section() -> str:
    """The harness's own dated price rules (service tiers, 1-hour cache writes), each with source and date."""
    from harness.cost.service_tiers import tier_table_rows

    rows = "".join(f"<tr><td class='l'>{_e(r['provider'])}</td><td class='l'>{_e(r['tier'])}</td>"
                   f"<td class='l'>{_e(r['price'])}</td><td class='l'>{_e(r['source'])}</td><td>{_e(r['as_of'])}</td>"
                   f"<td class='l'>{_e(r['note'])}</td></tr>" for r in tier_table_rows())
    return ("<section id='tier-prices'><h2>Price rules the harness adds to genai-prices</h2><p class='note'>Used only "
            "where genai-prices has no price for a service tier or for one-hour cache writes; a record's "
            "<code>prices.source</code> says when.</p><table><tr><th>provider</th><th>tier</th><th>price</th>"
            f"<th>source</th><th>as of</th><th>note</th></tr>{rows}</table></section>")


def _details(anchor: str, title: str, content: str) -> str:
    """A section the reader opens when needed (no script: the browser's own <details>)."""
    return f"<details class='section' id='{anchor}'><summary><h2>{_e(title)}</h2></summary>{content}</details>"


def render(data: ReportData, title: str, comparison: Any = None, baseline: str = "") -> str:
    """The whole page; with `comparison` (from `harness.analysis.regress`), a section against a baseline run first."""
    suites = ", ".join(f"{s['name']} ({s['sha256'][:12]}"
                       + (f"; workload {s['description']}" if str(s.get("source", "")).startswith("workload:") else "")
                       + (f", {sample_label(s['n_tasks'], s['n_total'])}" if s.get("n_total", s.get("n_tasks"))
                          != s.get("n_tasks") else "") + ")" for s in data.suite_info)
    runs = ", ".join(_e(m.get("run_id")) for m in data.manifests)
    notes = "".join(f"<p class='note'>{_e(n)}</p>" for n in data.notes)
    notes += "".join(f"<p class='note'>price data: {_e(n)}</p>" for n in getattr(data, "price_notes", []))
    glossary = "".join(f"<dt><b>{_e(k)}</b></dt><dd>{_e(v)}</dd>" for k, v in GLOSSARY)
    generated = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    benchmarks = scores_section(data)
    body = (
        f"<h1>{_e(title)}</h1><p class='lede'>Suites {_e(suites)} · runs {runs} · {len(data.records):,} requests · "
        f"generated {generated}</p>{notes}"
        + (f"<section id='comparison'><h2>Compared with the baseline</h2>{comparison_table(comparison, baseline)}"
           "</section>" if comparison is not None else "") +
        f"<section id='answer'><h2>The answer</h2>{answer_section(data, frontier_chart(data))}</section>"
        + _details("headline", "Models side by side: quality and cost, speed and energy", headline_tables(data))
        + (_details("benchmarks", "Benchmarks", benchmarks) if benchmarks else "")
        + _details("charts", "Charts: speed, energy, carbon, latency, cost per day", charts(data))
        + _details("carbon", "Carbon: gCO2e per day against each API", carbon_break_even_table(data))
        + _details("break-even", "Break-even against each API: details", break_even_table(data))
        + _details("differences", "Which differences are real", separation_table(data))
        + _details("runtimes", "Same weights, different runtimes", same_weights_table(data))
        + _details("levels", "Load levels", levels_section(data))
        + _details("tasks", "Per task", drill_down(data))
        + _details("manifest", "Run manifest", manifest_section(data))
        + _details("glossary", "Glossary", f"<dl class='glossary'>{glossary}</dl>")
        + _tier_table_section()
    )
    body = body.replace("<table", "<div class='tw'><table").replace("</table>", "</table></div>")  # scroll, not the page
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">"
            f"<meta name='viewport' content='width=device-width,initial-scale=1'><title>{_e(title)}</title>"
            f"<style>{STYLE}</style></head><body><main>{body}</main></body></html>")


"""The report's benchmark section: per dataset suite, each model's metrics with 95% intervals, $ per correct
task, the sample size, the paired separation of the models on that benchmark, and accuracy by category."""

from __future__ import annotations

from html import escape
from typing import Any

from harness.analysis.model_summary import accuracy_separation, summarize_frame
from harness.analysis.scores import form_label, is_headline, sample_label, score_metrics, subject_breakdown
from harness.formatting import pct, usd
from harness.report.data import ReportData


def _pct(value: Any) -> str:
    return pct(value, 1)


_usd = usd


def _metrics_table(rows: list[dict[str, Any]], cost: dict[str, Any]) -> str:
    body = "".join(
        f"<tr><td class='l'>{escape(r['model'])}</td><td class='l'>{escape(r['metric'])}</td>"
        f"<td>{_pct(r['value'])}</td>"
        f"<td>[{_pct(r['ci_low'])}, {_pct(r['ci_high'])}]</td><td>{r['n_tasks']}</td>"
        f"<td>{_usd(cost.get(r['model'])) if is_headline(r['metric']) else ''}</td></tr>" for r in rows)
    return ("<table><tr><th class='l'>model</th><th class='l'>metric</th><th>value</th><th>95% CI</th><th>tasks</th>"
            "<th>$ per correct task</th></tr>" + body + "</table>")


def _separation(rows: list[dict[str, Any]]) -> str:
    body = "".join(
        f"<tr><td class='l'>{escape(r['model_a'])} − {escape(r['model_b'])}</td><td>{r['difference']:+.1%}</td>"
        f"<td>[{r['ci_low']:+.1%}, {r['ci_high']:+.1%}]</td><td>{r['n_tasks']}</td>"
        f"<td class='l'>{'separated' if r['separated'] else 'not separated: the interval includes 0'}</td></tr>"
        for r in rows)
    return ("<table><tr><th class='l'>models</th><th>accuracy A − B</th><th>95% CI</th><th>tasks</th>"
            "<th class='l'>verdict</th></tr>" + body + "</table>")


def _breakdown(rows: list[dict[str, Any]], label: str) -> str:
    body = "".join(
        f"<tr><td class='l'>{escape(r['model'])}</td><td class='l'>{escape(str(r['name']))}</td>"
        f"<td>{_pct(r['accuracy'])}</td><td>[{_pct(r['ci_low'])}, {_pct(r['ci_high'])}]</td>"
        f"<td>{r['n_tasks']}</td></tr>"
        for r in rows)
    return (f"<table><tr><th class='l'>model</th><th class='l'>{label}</th><th>accuracy</th><th>95% CI</th>"
            "<th>tasks</th></tr>" + body + "</table>")


def scores_section(data: ReportData) -> str:
    """HTML for every dataset suite of the runs (empty when there is none)."""
    parts = []
    for info in data.suite_info:
        if not info.get("dataset"):
            continue
        name = info["name"]
        records = [r for r in data.records if r.get("suite") == name]
        metrics = score_metrics(records, {"suites": [info], "models": data.manifest.get("models", {})}
                                    ).to_dict("records")
        summary = summarize_frame(data.frame[data.frame["suite"] == name], data.manifest)
        cost = dict(zip(summary["model"], summary["cost_usd_per_correct"])) if len(summary) else {}
        dataset = info["dataset"]
        source = " · ".join(str(v) for v in (dataset.get("dataset"), dataset.get("config"), dataset.get("split"),
                                             (dataset.get("revision") or "")[:12]) if v)
        shots = f" · {dataset['shots']}-shot" if dataset.get("shots") else ""
        size = sample_label(info.get("n_tasks"), info.get("n_total"))
        selection = info.get("selection") or {}
        how = (f" (--sample {selection['sample']} --seed {selection['seed']})" if selection.get("sample")
               else f" (--limit {selection['limit']})" if selection.get("limit") else "")
        scoring = f" · scored by {', '.join(info['scoring'])}" if info.get("scoring") else ""
        html = (f"<h3>{escape(name)}</h3><p class='note'>{escape(source)}{escape(shots)} · {escape(size + how)} · "
                f"scored {escape(form_label(records))} · licence {escape(str(dataset.get('licence') or '–'))}{escape(scoring)}</p>"
                + _metrics_table(metrics, cost))
        separation = accuracy_separation(data.frame[data.frame["suite"] == name])
        if len(separation):
            html += _separation(separation.to_dict("records"))
        breakdown = subject_breakdown(records)
        if len(breakdown):
            html += "<h4>By category</h4>" + _breakdown(breakdown[breakdown["by"] == "group"].to_dict("records"),
                                                        "category")
            html += "<h4>By subject</h4>" + _breakdown(breakdown[breakdown["by"] == "subject"].to_dict("records"),
                                                       "subject")
        parts.append(html)
    return "".join(parts)

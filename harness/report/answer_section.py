"""The top of the report: the answer in sentences per suite, and the break-even matrix (local x API)."""

from __future__ import annotations

from typing import Any

from harness.analysis.findings import API_CHEAPER, LOCAL_CHEAPER, break_even_matrix
from harness.formatting import per_day as tasks_per_day_text
from harness.formatting import usd
from harness.report.data import ReportData
from harness.report.tables import _e, _missing

VERDICT_CLASS = {LOCAL_CHEAPER: "be-local", API_CHEAPER: "be-never"}   # otherwise be-capacity


def answer_section(data: ReportData, frontier: str = "") -> str:
    """Per suite, one sentence per finding (projected ones marked), the accuracy-versus-cost frontier chart
    (`frontier`, already drawn), then the break-even matrix."""
    parts = []
    for answer in data.answers:
        items = "".join(f"<li class='finding {_e(f.kind)}{' projected' if f.projected else ''}'>{_e(f.text)}</li>"
                        for f in answer.findings)
        parts.append(f"<div class='answer' data-suite='{_e(answer.suite)}'><h3>{_e(answer.suite)}</h3>"
                     f"<ul>{items or '<li>No scored task: nothing to answer.</li>'}</ul></div>")
    if any(f.projected for a in data.answers for f in a.findings):
        parts.append("<p class='note'>* projected: that API did not run (no key); its cost is the list price of the "
                     "token counts this run measured for each task.</p>")
    return f"<div class='first'><div>{''.join(parts)}</div>{frontier}</div>{break_even_matrix_html(data.break_even)}"


def _cell(row: dict[str, Any]) -> str:
    verdict = row["verdict"]
    n, capacity = row["break_even_tasks_per_day"], row["capacity_tasks_per_day"]
    detail = (f"{row['local_model']} against {row['api_model']}: local {usd(row['local_cost_usd_per_task'])} per "
              f"task at {row['utilisation']:.0%} utilisation, API {usd(row['api_cost_usd_per_task'])} per task; "
              f"{verdict}; capacity {tasks_per_day_text(capacity)} tasks/day")
    if verdict == LOCAL_CHEAPER:
        text = f"{tasks_per_day_text(n)}<span class='unit'> /day</span>"
    elif verdict == API_CHEAPER:
        text = "never"
    else:
        text = "beyond capacity" + ("" if _missing(n) else f"<span class='unit'> ({tasks_per_day_text(n)})</span>")
    return f"<td class='{VERDICT_CLASS.get(verdict, 'be-capacity')}' title='{_e(detail)}'>{text}</td>"


def _capacity_basis(row: dict[str, Any]) -> str:
    basis = row.get("capacity_basis")
    return basis if isinstance(basis, str) and basis else "batch 1: one request at a time"


def break_even_matrix_html(comparison: Any) -> str:
    """Local models (rows) x API models (columns, cheapest first): the daily volume from which the local model
    is cheaper, `never`, or `beyond capacity`; coloured by verdict, details in each cell's title."""
    locals_, apis, cells = break_even_matrix(comparison)
    if not locals_:
        return ("<p class='note'>No break-even matrix: it needs a local model with a measured energy and an API "
                "with a cost.</p>")
    head = "".join(f"<th{' class=projected' if a['projected'] else ''}><span class='nw'>{_e(a['model'])}"
                   f"{'*' if a['projected'] else ''}</span>"
                   f"<br><span class='unit'>{_e(usd(a['cost_usd_per_task']))}/task</span></th>" for a in apis)
    rows = []
    for local in locals_:
        first = cells[(local, apis[0]["model"])]
        rows.append(f"<tr><th class='l'>{_e(local)}<br><span class='unit'>{_e(usd(first['local_cost_usd_per_task']))}"
                    f"/task</span><br><span class='unit'>capacity "
                    f"{_e(tasks_per_day_text(first['capacity_tasks_per_day']))}/day"
                    f"<br>{_e(_capacity_basis(first))}</span></th>"
                    + "".join(_cell(cells[(local, a['model'])]) for a in apis) + "</tr>")
    return ("<h3>Break-even: tasks per day from which each local model is cheaper</h3>"
            "<table class='matrix'><tr><th class='l'>local \\ API</th>" + head + "</tr>"
            + "".join(rows) + "</table><p class='note'><span class='be-local key'>N /day</span> local cheaper "
            "from N tasks/day (hardware held all day, idle power included) · <span class='be-never key'>never</span> "
            "the API is cheaper at any volume · <span class='be-capacity key'>beyond capacity</span> the break-even "
            "lies above what one machine can serve · * projected API cost (did not run).</p>")

"""The report's energy ranges and carbon: cells for the headline table, the carbon chart, and the carbon
view of break-even (gCO2e per day at each volume). Estimates are drawn as ranges and labelled."""

from __future__ import annotations

import math
from html import escape
from typing import Any

from harness.analysis.emissions import VOLUMES_PER_DAY
from harness.report import svg


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _g(value: Any) -> str:
    """Grams with three significant digits, in plain decimals where short."""
    if _missing(value):
        return "–"
    return f"{value:.3g}"


def energy_cell(row: dict[str, Any]) -> str:
    """J per task: the figure, or an estimate's min–max range."""
    if _missing(row["energy_j_per_task"]) and not _missing(row.get("energy_j_per_task_min")):
        return f"{row['energy_j_per_task_min']:.3g}–{row['energy_j_per_task_max']:.3g}"
    return "–" if _missing(row["energy_j_per_task"]) else f"{row['energy_j_per_task']:.2f}"


def carbon_cells(row: dict[str, Any]) -> str:
    """gCO2e per task (a figure or a min–max range) and its basis, as two table cells."""
    low, high = row.get("gco2e_per_task_min"), row.get("gco2e_per_task_max")
    if _missing(low):
        value = "–"
    else:
        value = _g(low) if low == high else f"{_g(low)}–{_g(high)}"
    return f"<td>{value}</td><td class='l label'>{_e(row.get('carbon_source', 'unavailable'))}</td>"


def projected_cells(data: Any, model: str) -> str:
    """A projected (not run) API row's J / task, energy source, gCO2e / task and basis cells."""
    frame = getattr(data, "projected_carbon", None)
    rows = [] if frame is None else [r for r in frame.to_dict("records") if r["model"] == model]
    if not rows or _missing(rows[0]["gco2e_per_task_min"]):
        return ("<td>–</td><td class='l label'>unavailable</td><td>–</td><td class='l label'>unavailable</td>")
    row = rows[0]
    return (f"<td>{row['energy_j_per_task_min']:.3g}–{row['energy_j_per_task_max']:.3g}*</td>"
            f"<td class='l label'>{_e(row['carbon_source'])}</td>"
            f"<td>{_g(row['gco2e_per_task_min'])}–{_g(row['gco2e_per_task_max'])}*</td>"
            f"<td class='l label'>{_e(row['carbon_source'])}</td>")


def energy_items(row: dict[str, Any], color: str) -> dict[str, Any]:
    """A model's item in the energy-per-task bars: its figure, or its estimated range (an error bar)."""
    if _missing(row["energy_j_per_task"]) and not _missing(row.get("energy_j_per_task_min")):
        return {"label": row["model"], "value": None, "low": row["energy_j_per_task_min"],
                "high": row["energy_j_per_task_max"], "color": color, "note": row["energy_source"]}
    measured = not _missing(row["energy_j_per_task"])
    return {"label": row["model"], "value": row["energy_j_per_task"] if measured else None, "color": color,
            "note": row["energy_source"] if measured else "unavailable (not measurable)"}


def carbon_chart(data: Any, colors: dict[str, str]) -> str:
    """gCO2e per task for every model: local figures as bars, API estimates as min–max error bars."""
    items = []
    for row in data.summary.to_dict("records"):
        low, high = row.get("gco2e_per_task_min"), row.get("gco2e_per_task_max")
        color = colors.get(row["model"], "#555")
        if _missing(low):
            items.append({"label": row["model"], "value": None, "color": color, "note": "unavailable"})
        elif low == high:
            items.append({"label": row["model"], "value": low, "color": color, "note": "local"})
        else:
            items.append({"label": row["model"], "value": None, "low": low, "high": high, "color": color,
                          "note": "estimated (ecologits)"})
    projected = getattr(data, "projected_carbon", None)
    for index, row in enumerate([] if projected is None else projected.to_dict("records")):
        if not _missing(row["gco2e_per_task_min"]):
            items.append({"label": f"{row['model']}*", "value": None, "low": row["gco2e_per_task_min"],
                          "high": row["gco2e_per_task_max"], "color": svg.color(len(colors) + index),
                          "note": "projected", "projected": True})
    chart = svg.bars(items, "gCO2e per task", "Carbon per task", value_fmt=_g)
    return (f"<figure>{chart}<figcaption>gCO2e per task. Local: energy × PUE × grid intensity (the carbon basis "
            "column says which energy and grid); API: EcoLogits' estimated range (error bar), usage + embodied; "
            "* dashed: projected for an API that did not run."
            "</figcaption></figure>")


def carbon_break_even_table(data: Any) -> str:
    """gCO2e per day at each volume, each local model against each API's estimated range."""
    frame = getattr(data, "carbon_break_even", None)
    if frame is None or not len(frame):
        return ("<p class='note'>No carbon view: it needs a local model with energy and an API model with an "
                "EcoLogits estimate.</p>")
    head = "".join(f"<th>{v:,}/day: local</th><th>{v:,}/day: API (est.)</th>" for v in VOLUMES_PER_DAY)
    rows = []
    for row in frame.to_dict("records"):
        cells = []
        for volume in VOLUMES_PER_DAY:
            local = row[f"local_gco2e_per_day_{volume}"]
            cells.append(f"<td>{'beyond capacity' if _missing(local) else _g(local)}</td>"
                         f"<td>{_g(row[f'api_gco2e_per_day_min_{volume}'])}–{_g(row[f'api_gco2e_per_day_max_{volume}'])}</td>")
        projected = row.get("api_basis") == "projected"
        mark = "*" if projected else ""
        cls = " class='projected'" if projected else ""
        rows.append(f"<tr{cls}><td class='l'>{_e(row['local_model'])}</td><td class='l'>{_e(row['api_model'])}{mark}</td>"
                    f"{''.join(cells)}<td>{break_even_text(row)}</td>"
                    f"<td class='l label'>{_e(row['local_carbon_source'])}</td></tr>")
    return ("<h3>Carbon view: gCO2e per day</h3><p class='note'>Local: the machine held all day (idle power when "
            "not busy, embodied emissions where stated) × PUE × grid intensity. API: EcoLogits' estimate per task "
            "× volume, a min–max range (* projected: the API did not run; EcoLogits' modelled latency and this run's "
            "token counts). Estimated and measured figures are shown side by side, never summed.</p>"
            f"<table class='carbon'><tr><th class='l'>local model</th><th class='l'>API</th>{head}"
            "<th>local emits less above (tasks/day)</th><th class='l'>local carbon basis</th></tr>"
            + "".join(rows) + "</table>")


def break_even_text(row: dict[str, Any]) -> str:
    """The volume range above which the local machine emits less than the API (against its max, then min)."""
    low, high = row["break_even_tasks_per_day_min"], row["break_even_tasks_per_day_max"]
    if _missing(low):
        return "never within capacity"
    if low < 1:
        low_text = "any volume"
    else:
        low_text = f"{low:,.0f}"
    if _missing(high):
        return f"{low_text} (against the API's max; never against its min)"
    return low_text if high < 1 else f"{low_text}–{high:,.0f}"

"""The report's energy ranges and carbon: cells for the headline table, the carbon chart, and the carbon
view of break-even (gCO2e per day at each volume). Estimates are drawn as ranges and labelled."""

from __future__ import annotations

from html import escape
from typing import Any

from harness.analysis.emissions import VOLUMES_PER_DAY
from harness.formatting import is_missing, number, number_range, per_day
from harness.report import svg

_missing = is_missing


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


_g = number


def energy_cell(row: dict[str, Any]) -> str:
    """J per task: the figure, or an estimate's min–max range."""
    if _missing(row["energy_j_per_task"]) and not _missing(row.get("energy_j_per_task_min")):
        return number_range(row["energy_j_per_task_min"], row["energy_j_per_task_max"])
    return number(row["energy_j_per_task"])


def carbon_cells(row: dict[str, Any]) -> str:
    """gCO2e per task (a figure or a min–max range) as a table cell (the basis is stated once, in the carbon
    section)."""
    low, high = row.get("gco2e_per_task_min"), row.get("gco2e_per_task_max")
    if _missing(low):
        value = "–"
    else:
        value = number_range(low, high)
    return f"<td>{value}</td>"


def projected_cells(data: Any, model: str) -> str:
    """A projected (not run) API row's J / task, energy source and gCO2e / task cells."""
    frame = getattr(data, "projected_carbon", None)
    rows = [] if frame is None else [r for r in frame.to_dict("records") if r["model"] == model]
    if not rows or _missing(rows[0]["gco2e_per_task_min"]):
        return "<td>–</td><td class='l label'>unavailable</td><td>–</td>"
    row = rows[0]
    return (f"<td>{number_range(row['energy_j_per_task_min'], row['energy_j_per_task_max'])}*</td>"
            f"<td class='l label'>{_e(row['carbon_source'])}</td>"
            f"<td>{number_range(row['gco2e_per_task_min'], row['gco2e_per_task_max'])}*</td>")


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


def _local_per_day(grams: Any) -> str:
    return "beyond capacity" if _missing(grams) else _g(grams)


def carbon_break_even_table(data: Any) -> str:
    """The carbon view, compact: the basis of each local figure stated once; gCO2e per day at each volume, one row
    per model (local: held all day; API: EcoLogits' range); and the volume above which each local model emits
    less than each API, as a local x API matrix."""
    frame = getattr(data, "carbon_break_even", None)
    if frame is None or not len(frame):
        return ("<p class='note'>No carbon view: it needs a local model with energy and an API model with an "
                "EcoLogits estimate.</p>")
    rows = frame.to_dict("records")
    locals_ = list(dict.fromkeys(r["local_model"] for r in rows))
    apis = list(dict.fromkeys(r["api_model"] for r in rows))
    projected = {r["api_model"] for r in rows if r.get("api_basis") == "projected"}
    bases: dict[str, list[str]] = {}
    for row in frame.drop_duplicates("local_model").to_dict("records"):
        bases.setdefault(str(row["local_carbon_source"]), []).append(row["local_model"])
    basis = "".join(f"<li><b>{_e(', '.join(models))}</b>: {_e(text)}</li>" for text, models in bases.items())
    head = "".join(f"<th>{v:,}/day</th>" for v in VOLUMES_PER_DAY)
    per_day_rows = []
    for row in frame.drop_duplicates("local_model").to_dict("records"):
        cells = "".join(f"<td>{_local_per_day(row[f'local_gco2e_per_day_{v}'])}</td>" for v in VOLUMES_PER_DAY)
        per_day_rows.append(f"<tr><td class='l'>{_e(row['local_model'])}</td><td class='l'>local</td>{cells}</tr>")
    for row in frame.drop_duplicates("api_model").to_dict("records"):
        mark = "*" if row["api_model"] in projected else ""
        cells = "".join(f"<td>{number_range(row[f'api_gco2e_per_day_min_{v}'], row[f'api_gco2e_per_day_max_{v}'])}"
                        f"{mark}</td>" for v in VOLUMES_PER_DAY)
        cls = " class='projected'" if mark else ""
        per_day_rows.append(f"<tr{cls}><td class='l'>{_e(row['api_model'])}{mark}</td><td class='l'>API (est.)</td>"
                            f"{cells}</tr>")
    by_pair = {(r["local_model"], r["api_model"]): r for r in rows}
    matrix_head = "".join(f"<th{' class=projected' if a in projected else ''}><span class='nw'>{_e(a)}"
                          f"{'*' if a in projected else ''}</span></th>" for a in apis)
    matrix_rows = "".join(
        f"<tr><th class='l'>{_e(local)}</th>"
        + "".join(f"<td>{break_even_text(by_pair[(local, a)]) if (local, a) in by_pair else '–'}</td>" for a in apis)
        + "</tr>" for local in locals_)
    return ("<h3>Carbon view: gCO2e per day</h3><p class='note'>Basis of the local figures (the machine held all day, "
            "idle power when not busy, embodied emissions where stated, × PUE × grid intensity):</p>"
            f"<ul class='basis note'>{basis}</ul><p class='note'>API: EcoLogits' estimate per task × volume, a "
            "min–max range (* projected: the API did not run; EcoLogits' modelled latency and this run's token "
            "counts). "
            "Estimated and measured figures stand side by side, never summed.</p>"
            f"<table class='carbon'><tr><th class='l'>model</th><th class='l'>basis</th>{head}</tr>"
            + "".join(per_day_rows) + "</table><p class='note'>Local emits less than the API above (tasks/day; "
            "against the API's max estimate, then its min):</p>"
            f"<table class='matrix carbon-matrix'><tr><th class='l'>local \\ API</th>{matrix_head}</tr>{matrix_rows}"
            "</table>")


def break_even_text(row: dict[str, Any]) -> str:
    """The volume range above which the local machine emits less than the API (against its max, then min)."""
    low, high = row["break_even_tasks_per_day_min"], row["break_even_tasks_per_day_max"]
    if _missing(low):
        return "never within capacity"
    low_text = "any volume" if low < 1 else per_day(low)
    if _missing(high):
        return f"{low_text} (against the API's max; never against its min)"
    return low_text if high < 1 else f"{low_text}–{per_day(high)}"

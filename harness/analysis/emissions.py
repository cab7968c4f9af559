"""Energy ranges and carbon per request and per model, next to the measured joules (never summed with them).

- API requests: EcoLogits' estimate stored in the record (`harness.energy.ecologits`) gives an energy range
  (`energy_j_min`/`energy_j_max`) and a GWP range (`gco2e_min`/`gco2e_max`), labelled
  `estimated (ecologits)`; the point columns (`energy_j`, `gco2e`) stay empty: no single figure is invented.
- Local requests: gCO2e = their energy (measured or estimated, as labelled) x PUE x the grid intensity
  recorded for the model (`harness.cost.carbon`), plus amortised embodied emissions where the hardware states
  them; `gco2e_min` = `gco2e_max` = `gco2e`. The label joins the energy's label and the grid's:
  `rapl × grid 458 g/kWh (default: world average WOR)`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from harness.cost.carbon import GridIntensity, resolve_grid
from harness.energy import ecologits
from harness.energy.ecologits import ESTIMATED_ECOLOGITS
from harness.errors import InputError

RANGE_COLUMNS = ("energy_j_min", "energy_j_max", "gco2e", "gco2e_min", "gco2e_max")


def api_estimate_columns(record: dict[str, Any]) -> dict[str, Any]:
    """The range columns of one record from its stored EcoLogits estimate (empty for local records)."""
    estimate = record.get("ecologits")
    row: dict[str, Any] = dict.fromkeys(RANGE_COLUMNS)
    row["carbon_source"] = "unavailable"
    if estimate and estimate.get("source") == ESTIMATED_ECOLOGITS:
        row.update(energy_j_min=estimate["energy_j"]["min"], energy_j_max=estimate["energy_j"]["max"],
                   gco2e_min=estimate["gco2e"]["min"], gco2e_max=estimate["gco2e"]["max"],
                   carbon_source=ESTIMATED_ECOLOGITS)
    return row


def _grid(entry: dict[str, Any]) -> GridIntensity | None:
    carbon = entry.get("carbon")
    if carbon is None:  # a run recorded before carbon existed: the default grid, labelled default
        try:
            return resolve_grid(None)
        except InputError:
            return None
    if carbon.get("source") == "unavailable":
        return None
    return GridIntensity(carbon["gco2_per_kwh"], carbon["basis"], carbon.get("zone"),
                         carbon.get("embodied_gco2e_per_s"))


def attach_local_carbon(frame: pd.DataFrame, models: dict[str, Any]) -> None:
    """Fill gCO2e of local models' requests (after their energy is attributed), in place."""
    for name, entry in models.items():
        local = entry.get("local_cost")
        if not local:
            continue
        rows = (frame["model"] == name) & frame["energy_j"].notna()
        grid = _grid(entry)
        if grid is None or not rows.any():
            continue
        grams = frame.loc[rows, "energy_j"] / 3.6e6 * local["pue"] * grid.gco2_per_kwh
        if grid.embodied_gco2e_per_s is not None:
            grams = grams + grid.embodied_gco2e_per_s / local["utilisation"] * frame.loc[rows, "e2e_s"].fillna(0.0)
        label = grid.label + (" + embodied" if grid.embodied_gco2e_per_s is not None else "")
        frame.loc[rows, "gco2e"] = grams
        frame.loc[rows, "gco2e_min"] = grams
        frame.loc[rows, "gco2e_max"] = grams
        frame.loc[rows, "carbon_source"] = frame.loc[rows, "energy_source"] + " × " + label


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _mean(series: pd.Series) -> float | None:
    values = series.dropna()
    return float(values.mean()) if len(values) else None


def carbon_summary(group: pd.DataFrame) -> dict[str, Any]:
    """Per-model energy range and carbon per task (means over the requests that have them)."""
    sources = sorted(set(group.loc[group["carbon_source"] != "unavailable", "carbon_source"])) or ["unavailable"]
    return {
        "energy_j_per_task_min": _mean(group["energy_j_min"]),
        "energy_j_per_task_max": _mean(group["energy_j_max"]),
        "gco2e_per_task": _mean(group["gco2e"]),
        "gco2e_per_task_min": _mean(group["gco2e_min"]),
        "gco2e_per_task_max": _mean(group["gco2e_max"]),
        "carbon_source": "+".join(sources),
    }


def ensure_columns(frame: pd.DataFrame) -> None:
    """Numeric range columns as floats (NaN where absent)."""
    for column in RANGE_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(np.float64)


VOLUMES_PER_DAY = (100, 1_000, 10_000, 100_000)
PROJECTED_ECOLOGITS = "projected (ecologits)"


def projected_carbon(frame: pd.DataFrame, models: list[Any], suites: list[Any]) -> pd.DataFrame:
    """EcoLogits' estimate for API models that did not run (no key): each task with the output tokens this
    run measured for it (else its max_tokens) and EcoLogits' own modelled latency (no request was timed).
    Labelled `projected (ecologits)`, never mixed with estimates of requests that ran."""
    measured = frame[~frame["failed"]].groupby(["suite", "task_id"])["output_tokens"].mean()
    tasks = [(suite.name, task) for suite in suites for task in suite.tasks]
    rows = []
    for cfg in models:
        mapping = ecologits.resolve(cfg.kind, cfg.provider, cfg.model,
                                    cfg.ecologits_model)
        estimates = []
        for suite_name, task in tasks:
            n_out = measured.get((suite_name, task.id))
            n_out = task.max_tokens if n_out is None or n_out != n_out else round(float(n_out))
            estimates.append(ecologits.estimate(mapping, n_out, float("inf")))
        ok = [e for e in estimates if e["source"] == ESTIMATED_ECOLOGITS]
        row = {"model": cfg.name, "carbon_source": PROJECTED_ECOLOGITS if ok and len(ok) == len(estimates)
               else "unavailable", "reason": None if ok else (estimates[0].get("reason") if estimates else None)}
        for key, column in (("energy_j", "energy_j_per_task"), ("gco2e", "gco2e_per_task")):
            for end in ("min", "max"):
                row[f"{column}_{end}"] = (sum(e[key][end] for e in ok) / len(ok)) if ok and len(ok) == len(estimates) else None
        rows.append(row)
    return pd.DataFrame(rows, columns=["model", "carbon_source", "reason", "energy_j_per_task_min",
                                       "energy_j_per_task_max", "gco2e_per_task_min", "gco2e_per_task_max"])


def carbon_break_even(summary: pd.DataFrame, manifest: dict[str, Any],
                      projected: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every local model against every API with a carbon estimate: gCO2e per day at each volume in
    `VOLUMES_PER_DAY` (local: held all day, idle power included; API: its min–max range), and the volume
    range above which the local machine emits less (against the API's max, then its min)."""
    from harness.cost.carbon import carbon_break_even_tasks_per_day, local_gco2e_per_day

    records = summary.to_dict("records")
    apis = [{**r, "api_basis": "estimated"} for r in records
            if r["carbon_source"] == ESTIMATED_ECOLOGITS and not _missing(r["gco2e_per_task_min"])]
    if projected is not None:
        apis += [{**r, "api_basis": "projected"} for r in projected.to_dict("records")
                 if r["carbon_source"] == PROJECTED_ECOLOGITS]
    rows = []
    for local in records:
        entry = manifest.get("models", {}).get(local["model"], {})
        grid = _grid(entry) if entry.get("local_cost") else None
        if grid is None or _missing(local["energy_j_per_task"]) or _missing(local["e2e_mean_s"]):
            continue
        pue, task_s = entry["local_cost"]["pue"], local["e2e_mean_s"]
        idle_w = 0.0 if _missing(local["idle_w"]) else local["idle_w"]
        for api in apis:
            row = {"local_model": local["model"], "api_model": api["model"], "api_basis": api["api_basis"],
                   "local_gco2e_per_task": local["gco2e_per_task"], "local_carbon_source": local["carbon_source"],
                   "api_gco2e_per_task_min": api["gco2e_per_task_min"],
                   "api_gco2e_per_task_max": api["gco2e_per_task_max"],
                   "break_even_tasks_per_day_min": carbon_break_even_tasks_per_day(
                       grid, pue, local["energy_j_per_task"], task_s, idle_w, api["gco2e_per_task_max"]),
                   "break_even_tasks_per_day_max": carbon_break_even_tasks_per_day(
                       grid, pue, local["energy_j_per_task"], task_s, idle_w, api["gco2e_per_task_min"]),
                   "capacity_tasks_per_day": 86400 / task_s if task_s > 0 else None}
            for volume in VOLUMES_PER_DAY:
                row[f"local_gco2e_per_day_{volume}"] = local_gco2e_per_day(grid, pue, volume, local["energy_j_per_task"],
                                                                          task_s, idle_w)
                row[f"api_gco2e_per_day_min_{volume}"] = volume * api["gco2e_per_task_min"]
                row[f"api_gco2e_per_day_max_{volume}"] = volume * api["gco2e_per_task_max"]
            rows.append(row)
    return pd.DataFrame(rows)

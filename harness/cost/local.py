"""What a task costs on your own hardware, and the volume at which it beats an API.

The machine is held around the clock (bought and amortised, or rented by the hour) and busy a fraction
`utilisation` of the time. With P the electricity price, H the hardware cost per hour
(price_usd / (lifetime_years * 8760), or the rental rate), u the utilisation, E a task's energy and t
its seconds:

    cost per task        = E_kWh * P * PUE + H / u * t_h
    local cost per day   = 24 * H + P * PUE * (N * E_kWh + idle_kW * (24 - N * t_h))   for N tasks/day
    API cost per day     = N * c_api
    break-even N*        = (24 * H + 24 * idle_kW * P * PUE) / (c_api - (E_kWh - idle_kW * t_h) * P * PUE)
    idle ("dark") capacity cost per day = (1 - u) * 24 * (H + idle_kW * P * PUE)

N* exists only when the API costs more per task than the local marginal cost, and is useful only below the
machine's capacity of 86400 / t tasks a day (one request at a time).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

J_PER_KWH = 3.6e6
HOURS_PER_YEAR = 8760.0
DEFAULT_ELECTRICITY_USD_PER_KWH = 0.15
DEFAULT_PUE = 1.0
DEFAULT_HARDWARE = {"name": "default workstation", "price_usd": 2000.0, "lifetime_years": 4.0, "utilisation": 0.5}


@dataclass(frozen=True)
class CostOverrides:
    """Command-line values that override models.yaml and the defaults for every local model."""

    electricity_usd_per_kwh: float | None = None
    pue: float | None = None
    hardware_usd_per_hour: float | None = None
    utilisation: float | None = None


@dataclass(frozen=True)
class LocalCostParams:
    """Resolved inputs of the local cost model for one model, with where each came from."""

    electricity_usd_per_kwh: float
    pue: float
    hardware_usd_per_hour: float
    utilisation: float
    hardware: str
    basis: dict[str, str]

    def to_record(self) -> dict[str, Any]:
        return asdict(self)


def resolve_local_cost(cost: Any, overrides: CostOverrides) -> LocalCostParams:
    """Command line first, then the model's `cost:` block, then the documented defaults."""
    basis: dict[str, str] = {}

    def pick(name: str, from_yaml: Any, default: Any) -> Any:
        value = getattr(overrides, name)
        if value is not None:
            basis[name] = "command line"
            return value
        if from_yaml is not None:
            basis[name] = "models.yaml"
            return from_yaml
        basis[name] = "default"
        return default

    price = pick("electricity_usd_per_kwh", getattr(cost, "electricity_usd_per_kwh", None), DEFAULT_ELECTRICITY_USD_PER_KWH)
    pue = pick("pue", getattr(cost, "pue", None), DEFAULT_PUE)
    hardware = getattr(cost, "hardware", None)
    rented = getattr(cost, "usd_per_hour", None)
    if rented is not None:
        yaml_rate, description, yaml_u = rented, f"rented at {rented:g} USD/h", None
    elif hardware is not None:
        yaml_rate = hardware.price_usd / (hardware.lifetime_years * HOURS_PER_YEAR)
        description = f"{hardware.name}: {hardware.price_usd:g} USD over {hardware.lifetime_years:g} years"
        yaml_u = hardware.utilisation
    else:
        d = DEFAULT_HARDWARE
        yaml_rate, yaml_u = None, None
        description = f"{d['name']}: {d['price_usd']:g} USD over {d['lifetime_years']:g} years (default)"
    default_rate = DEFAULT_HARDWARE["price_usd"] / (DEFAULT_HARDWARE["lifetime_years"] * HOURS_PER_YEAR)
    rate = pick("hardware_usd_per_hour", yaml_rate, default_rate)
    if basis["hardware_usd_per_hour"] == "command line":
        description = f"{rate:g} USD/h (command line)"
    utilisation = pick("utilisation", yaml_u, 1.0 if rented is not None else DEFAULT_HARDWARE["utilisation"])
    return LocalCostParams(price, pue, rate, utilisation, description, basis)


def local_task_cost_usd(params: LocalCostParams, energy_j: float | None, task_s: float | None) -> float | None:
    """Energy plus amortised hardware for one task; None when its energy or duration is unknown."""
    if energy_j is None or task_s is None:
        return None
    energy_usd = energy_j / J_PER_KWH * params.electricity_usd_per_kwh * params.pue
    return energy_usd + params.hardware_usd_per_hour / params.utilisation * task_s / 3600.0


def local_cost_per_day_usd(params: LocalCostParams, tasks_per_day: float, energy_j_per_task: float,
                           task_s: float, idle_w: float) -> float | None:
    """Cost of a day of the machine doing `tasks_per_day` tasks; None beyond its capacity."""
    busy_s = tasks_per_day * task_s
    if busy_s > 86400:
        return None
    energy_kwh = (tasks_per_day * energy_j_per_task + idle_w * (86400 - busy_s)) / J_PER_KWH
    return 24 * params.hardware_usd_per_hour + energy_kwh * params.electricity_usd_per_kwh * params.pue


def break_even_tasks_per_day(params: LocalCostParams, energy_j_per_task: float, task_s: float, idle_w: float,
                             api_usd_per_task: float) -> dict[str, Any]:
    """Tasks per day at which local and API cost the same; with the machine's capacity and a verdict."""
    price = params.electricity_usd_per_kwh * params.pue / J_PER_KWH  # USD per joule
    fixed = 24 * params.hardware_usd_per_hour + idle_w * 86400 * price
    marginal = (energy_j_per_task - idle_w * task_s) * price
    capacity = 86400 / task_s if task_s > 0 else float("inf")
    if api_usd_per_task <= marginal:
        return {"tasks_per_day": None, "capacity_tasks_per_day": capacity, "verdict": "api cheaper at any volume"}
    n = fixed / (api_usd_per_task - marginal)
    verdict = "local cheaper above this volume" if n <= capacity else "beyond one machine's capacity"
    return {"tasks_per_day": n, "capacity_tasks_per_day": capacity, "verdict": verdict}


def idle_capacity_cost_per_day_usd(params: LocalCostParams, idle_w: float) -> float:
    """What the machine's unused hours cost a day at the stated utilisation (hardware and idle power)."""
    idle_kw = idle_w / 1000.0
    return (1 - params.utilisation) * 24 * (params.hardware_usd_per_hour
                                            + idle_kw * params.electricity_usd_per_kwh * params.pue)

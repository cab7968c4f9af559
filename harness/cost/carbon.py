"""Carbon of a task run on your own hardware, and per day at a volume (the carbon side of break-even).

    gCO2e per task = energy_kWh x PUE x grid intensity (gCO2e/kWh) + embodied gCO2e per second / utilisation x task s
    embodied gCO2e per second = embodied_kgco2e x 1000 / (lifetime_years x 8760 x 3600)

The grid intensity comes from, in order: `cost.grid_gco2_per_kwh` in models.yaml, `cost.grid_zone` (an ISO
3166-1 alpha-3 code, or WOR) looked up in EcoLogits' electricity-mix data, or the default: EcoLogits' world
average (zone WOR), labelled `default`. Embodied emissions are counted only where the hardware states them
(`cost.hardware.embodied_kgco2e`), amortised like its price. A figure's label says which energy it used
(measured or estimated) and which grid, so measured and estimated carbon are never mixed silently.

Per day, with the machine held all day: local gCO2e/day for N tasks = (N x E + idle W x (86400 - N x t)) J
x PUE x intensity + a day of embodied; an API's gCO2e/day = N x its gCO2e per task (a min–max range).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from harness.errors import InputError

J_PER_KWH = 3.6e6
DEFAULT_ZONE = "WOR"
SECONDS_PER_YEAR = 8760 * 3600.0


def electricity_mix_gco2_per_kwh(zone: str) -> float:
    """Grid intensity of a zone from EcoLogits' bundled electricity-mix data, in gCO2e/kWh."""
    try:
        from ecologits.electricity_mix_repository import electricity_mixes
    except ImportError:
        raise InputError(f"grid zone {zone}: EcoLogits' electricity-mix data is not installed "
                         "(pip install ecologits)") from None
    mix = electricity_mixes.find_electricity_mix(zone)
    if mix is None:
        raise InputError(f"grid zone '{zone}' is not in EcoLogits' electricity-mix data "
                         "(ISO 3166-1 alpha-3 codes such as FRA, USA, DEU, or WOR for the world average)")
    return mix.gwp * 1000.0


@dataclass(frozen=True)
class GridIntensity:
    """The grid intensity used for a local model's carbon, with where it came from."""

    gco2_per_kwh: float
    basis: str          # models.yaml | zone | default
    zone: str | None
    embodied_gco2e_per_s: float | None = None

    @property
    def label(self) -> str:
        """Short label for tables: the grid and whether it is the default."""
        where = {"models.yaml": "models.yaml", "zone": f"zone {self.zone}",
                 "default": f"default: world average {self.zone}"}[self.basis]
        return f"grid {self.gco2_per_kwh:.0f} g/kWh ({where})"

    def to_record(self) -> dict[str, Any]:
        return {**asdict(self), "label": self.label}


def resolve_grid(cost: Any) -> GridIntensity:
    """Grid intensity and embodied rate of a local model's `cost:` block (None: every default)."""
    stated = getattr(cost, "grid_gco2_per_kwh", None)
    zone = getattr(cost, "grid_zone", None)
    if stated is not None:
        intensity, basis = float(stated), "models.yaml"
    elif zone is not None:
        intensity, basis = electricity_mix_gco2_per_kwh(zone), "zone"
    else:
        zone, basis = DEFAULT_ZONE, "default"
        intensity = electricity_mix_gco2_per_kwh(zone)
    hardware = getattr(cost, "hardware", None)
    embodied = None
    if hardware is not None and getattr(hardware, "embodied_kgco2e", None) is not None:
        embodied = hardware.embodied_kgco2e * 1000 / (hardware.lifetime_years * SECONDS_PER_YEAR)
    return GridIntensity(intensity, basis, zone, embodied)


def local_task_gco2e(grid: GridIntensity, pue: float, utilisation: float, energy_j: float | None,
                     task_s: float | None) -> float | None:
    """Operational (and, where stated, embodied) gCO2e of one local task; None when its energy is unknown."""
    if energy_j is None:
        return None
    grams = energy_j / J_PER_KWH * pue * grid.gco2_per_kwh
    if grid.embodied_gco2e_per_s is not None and task_s is not None:
        grams += grid.embodied_gco2e_per_s / utilisation * task_s
    return grams


def local_gco2e_per_day(grid: GridIntensity, pue: float, tasks_per_day: float, energy_j_per_task: float,
                        task_s: float, idle_w: float) -> float | None:
    """gCO2e of a day of the machine doing `tasks_per_day` tasks (idle power the rest, a whole day of its
    embodied emissions); None beyond its capacity."""
    busy_s = tasks_per_day * task_s
    if busy_s > 86400:
        return None
    energy_kwh = (tasks_per_day * energy_j_per_task + idle_w * (86400 - busy_s)) / J_PER_KWH
    return energy_kwh * pue * grid.gco2_per_kwh + (grid.embodied_gco2e_per_s or 0.0) * 86400


def carbon_break_even_tasks_per_day(grid: GridIntensity, pue: float, energy_j_per_task: float, task_s: float,
                                    idle_w: float, api_gco2e_per_task: float) -> float | None:
    """Tasks per day above which the machine (held all day) emits less than the API; None when it never
    does within its capacity."""
    g_per_j = pue * grid.gco2_per_kwh / J_PER_KWH
    marginal = (energy_j_per_task - idle_w * task_s) * g_per_j
    fixed = idle_w * 86400 * g_per_j + (grid.embodied_gco2e_per_s or 0.0) * 86400
    if api_gco2e_per_task <= marginal:
        return None
    n = fixed / (api_gco2e_per_task - marginal)
    return n if n * task_s <= 86400 else None

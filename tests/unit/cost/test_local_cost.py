"""The local cost model and break-even, against numbers worked out by hand."""

from __future__ import annotations

import pytest

from harness.config.model_config import HardwareCost, LocalCost
from harness.cost.local import (
    CostOverrides,
    break_even_tasks_per_day,
    idle_capacity_cost_per_day_usd,
    local_cost_per_day_usd,
    local_task_cost_usd,
    resolve_local_cost,
)

# A 4,380 USD machine over 5 years: 4380 / (5 * 8760) = 0.1 USD per hour. Busy 25 % of the day.
BOUGHT = LocalCost(electricity_usd_per_kwh=0.30, pue=1.5,
                   hardware=HardwareCost(name="box", price_usd=4380.0, lifetime_years=5.0, utilisation=0.25))


def test_resolution_order_command_line_then_yaml_then_default():
    params = resolve_local_cost(BOUGHT, CostOverrides())
    assert (params.electricity_usd_per_kwh, params.pue, params.utilisation) == (0.30, 1.5, 0.25)
    assert params.hardware_usd_per_hour == pytest.approx(0.1)
    assert params.basis == dict.fromkeys(("electricity_usd_per_kwh", "pue", "hardware_usd_per_hour", "utilisation"),
                                         "models.yaml")
    overridden = resolve_local_cost(BOUGHT, CostOverrides(electricity_usd_per_kwh=0.10, utilisation=1.0))
    assert (overridden.electricity_usd_per_kwh, overridden.utilisation, overridden.pue) == (0.10, 1.0, 1.5)
    assert overridden.basis["electricity_usd_per_kwh"] == "command line"
    default = resolve_local_cost(None, CostOverrides())
    assert (default.electricity_usd_per_kwh, default.pue, default.utilisation) == (0.15, 1.0, 0.5)
    assert default.hardware_usd_per_hour == pytest.approx(2000 / (4 * 8760))
    assert "(default)" in default.hardware
    rented = resolve_local_cost(LocalCost(usd_per_hour=2.5), CostOverrides())
    assert (rented.hardware_usd_per_hour, rented.utilisation) == (2.5, 1.0)


def test_task_cost_by_hand():
    params = resolve_local_cost(BOUGHT, CostOverrides())
    # 36,000 J = 0.01 kWh -> 0.01 * 0.30 * 1.5 = 0.0045 USD; 36 s of hardware at 0.1 / 0.25 = 0.4 USD/h -> 0.004 USD
    assert local_task_cost_usd(params, 36_000.0, 36.0) == pytest.approx(0.0045 + 0.004)
    assert local_task_cost_usd(params, None, 36.0) is None


def test_daily_cost_and_break_even_by_hand():
    params = resolve_local_cost(BOUGHT, CostOverrides())
    energy_j, task_s, idle_w = 3600.0, 10.0, 50.0
    # Fixed: 24 h * 0.1 = 2.4 USD hardware + 50 W * 24 h = 1.2 kWh * 0.45 = 0.54 USD idle power -> 2.94 USD/day.
    assert local_cost_per_day_usd(params, 0, energy_j, task_s, idle_w) == pytest.approx(2.94)
    # 1000 tasks: 3.6 MJ = 1 kWh of work; idle 50 W for 86400 - 10000 s = 3.82 MJ = 1.06111 kWh
    # -> 2.4 + 2.06111 * 0.45 = 3.3275
    assert local_cost_per_day_usd(params, 1000, energy_j, task_s, idle_w) == pytest.approx(3.3275)
    assert local_cost_per_day_usd(params, 9000, energy_j, task_s, idle_w) is None    # 90,000 s > one day
    # Marginal cost per task: (3600 - 50 * 10) J = 3100 J = 0.000861 kWh * 0.45 = 0.0003875 USD.
    result = break_even_tasks_per_day(params, energy_j, task_s, idle_w, api_usd_per_task=0.001)
    assert result["tasks_per_day"] == pytest.approx(2.94 / (0.001 - 0.0003875))
    assert result["capacity_tasks_per_day"] == pytest.approx(8640)
    assert result["verdict"] == "local cheaper above this volume"
    # Check the crossing: both daily costs agree at N*.
    n = result["tasks_per_day"]
    assert local_cost_per_day_usd(params, n, energy_j, task_s, idle_w) == pytest.approx(0.001 * n)
    assert break_even_tasks_per_day(params, energy_j, task_s, idle_w, 0.0003)["verdict"] == "api cheaper at any volume"
    assert break_even_tasks_per_day(params, energy_j, task_s, idle_w, 0.0004)["verdict"] == "beyond one machine's capacity"


def test_idle_capacity_cost_by_hand():
    params = resolve_local_cost(BOUGHT, CostOverrides())
    # 75 % of 24 h idle: 18 h * (0.1 USD/h hardware + 0.05 kW * 0.45 USD/kWh) = 18 * 0.1225
    assert idle_capacity_cost_per_day_usd(params, 50.0) == pytest.approx(2.205)

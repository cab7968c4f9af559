"""The energy and local-cost settings shared by `harness run` and `harness nightly`, checked once."""

from __future__ import annotations

import argparse

from harness.cost.local import CostOverrides
from harness.energy.meter_setup import EnergySettings
from harness.errors import InputError


def energy_and_cost_settings(args: argparse.Namespace) -> tuple[EnergySettings, CostOverrides]:
    """Energy and local-cost settings from the `run` / `nightly` flags; a value out of range -> InputError."""
    checks = [("--idle-seconds", args.idle_seconds, 0 <= args.idle_seconds <= 600),
              ("--cpu-w-per-core", args.cpu_w_per_core, args.cpu_w_per_core is None or args.cpu_w_per_core > 0),
              ("--electricity-usd-per-kwh", args.electricity_usd_per_kwh,
               args.electricity_usd_per_kwh is None or args.electricity_usd_per_kwh >= 0),
              ("--pue", args.pue, args.pue is None or args.pue >= 1),
              ("--hardware-usd-per-hour", args.hardware_usd_per_hour,
               args.hardware_usd_per_hour is None or args.hardware_usd_per_hour >= 0),
              ("--utilisation", args.utilisation, args.utilisation is None or 0 < args.utilisation <= 1)]
    for flag, value, ok in checks:
        if not ok:
            raise InputError(f"{flag}: value {value} is out of range")
    energy = EnergySettings(meter=args.energy, idle_s=args.idle_seconds, cpu_w_per_core=args.cpu_w_per_core)
    overrides = CostOverrides(args.electricity_usd_per_kwh, args.pue, args.hardware_usd_per_hour, args.utilisation)
    return energy, overrides

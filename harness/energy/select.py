"""Choose the readers for a model from where it runs and the `--energy` setting.

`auto`: a GPU model gets NVML readers for its GPUs plus a CPU reader; a CPU model gets a CPU reader (RAPL
where its counters are readable, else the estimate); a remote model (an API) gets none (`unavailable`).
`rapl`, `estimated` and `nvml` insist on that reader (and fail with a clear message where it is missing);
`none` measures nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.energy import EnergyMeter, EnergyReader, MeterError
from harness.energy.estimate import EstimatedCpuReader, watts_per_logical_cpu
from harness.energy.rapl import RaplReader
from harness.host import cpu_model

ENERGY_CHOICES = ("auto", "nvml", "rapl", "estimated", "none")


@dataclass(frozen=True)
class EnergySettings:
    """Run-wide energy settings (command line)."""

    meter: str = "auto"
    idle_s: float = 3.0
    cpu_w_per_core: float | None = None
    gpu_indices: list[int] | None = field(default=None)


def _cpu_reader(settings: EnergySettings, notes: list[str], pid: int | None = None) -> EnergyReader:
    if settings.meter in ("auto", "rapl", "nvml"):
        try:
            return RaplReader()
        except MeterError as exc:
            if settings.meter == "rapl":
                raise
            notes.append(f"{exc}; CPU energy estimated")
    watts, basis = watts_per_logical_cpu(cpu_model(), settings.cpu_w_per_core)
    whose = f"the server process {pid}" if pid else "this process"
    notes.append(f"CPU estimate for {whose}: {watts:.2f} W per logical CPU ({basis})")
    return EstimatedCpuReader(watts, basis, pid)


def build_meter(settings: EnergySettings, device: str, server_pid: int | None = None) -> tuple[EnergyMeter, list[str]]:
    """The meter for a model that runs on `device` — `cpu`, `gpu`, `remote` (an API) or `server` (a
    self-hosted server on this machine; with its `server_pid`, the CPU estimate is of that process) — and
    notes on what was chosen."""
    notes: list[str] = []
    if settings.meter == "none" or device == "remote":
        return EnergyMeter([]), notes
    readers: list[EnergyReader] = []
    if device == "server" and settings.meter in ("auto", "nvml"):
        from harness.energy.nvml import nvml_readers

        try:  # any GPU this machine's NVML sees may serve the requests
            readers.extend(nvml_readers(settings.gpu_indices))
        except MeterError as exc:
            notes.append(f"{exc}; no GPU energy")
        if server_pid is None and settings.meter != "rapl":
            try:
                readers.append(RaplReader())
            except MeterError as exc:
                notes.append(f"{exc}; the server is not ours to estimate: CPU energy unavailable")
            return EnergyMeter(readers), notes
        readers.append(_cpu_reader(settings, notes, server_pid))
        return EnergyMeter(readers), notes
    if device == "gpu" and settings.meter in ("auto", "nvml"):
        from harness.energy.nvml import nvml_readers

        try:
            readers.extend(nvml_readers(settings.gpu_indices))
        except MeterError as exc:
            if settings.meter == "nvml":
                raise
            notes.append(f"{exc}; GPU energy unavailable")
    readers.append(_cpu_reader(settings, notes))
    return EnergyMeter(readers), notes


def describe_meter(meter: EnergyMeter, notes: list[str]) -> dict[str, Any]:
    """What the manifest records about a model's meter."""
    return {"readers": [{"device": r.device, "source": r.source} for r in meter.readers],
            "sources": meter.sources, "notes": notes}

"""Choose the readers for a model from where it runs and the `--energy` setting.

`auto`: a GPU model gets NVML readers for its GPUs (or, where NVML sees none, AMD SMI readers: ROCm's torch
calls its GPUs `cuda` too) plus a CPU reader; an NPU model (`npu`) gets npu-smi readers; a CPU model gets a
CPU reader (RAPL where its counters are readable, else the estimate); on a Mac, powermetrics covers CPU, GPU
and ANE when it can run (root), else the CPU estimate with a note saying why; a remote model (an API) gets
none (`unavailable`: its estimate comes from EcoLogits, `harness.energy.ecologits`).
`rapl`, `estimated`, `nvml`, `amdsmi`, `npu_smi` and `powermetrics` insist on that reader (and fail with a
clear message where it is missing); `none` measures nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.energy.estimate import EstimatedCpuReader, watts_per_logical_cpu
from harness.energy.meter import EnergyMeter, EnergyReader, MeterError
from harness.energy.rapl import RaplReader
from harness.host import cpu_model

ENERGY_CHOICES = ("auto", "nvml", "amdsmi", "npu_smi", "powermetrics", "rapl", "estimated", "none")


@dataclass(frozen=True)
class EnergySettings:
    """Run-wide energy settings (command line)."""

    meter: str = "auto"
    idle_s: float = 3.0
    cpu_w_per_core: float | None = None
    gpu_indices: list[int] | None = field(default=None)


def _cpu_reader(settings: EnergySettings, notes: list[str], pid: int | None = None) -> EnergyReader:
    if settings.meter in ("auto", "rapl", "nvml", "amdsmi", "npu_smi"):
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
    if settings.meter == "powermetrics" or (settings.meter == "auto" and sys.platform == "darwin"):
        from harness.energy.apple import PowermetricsReader

        try:  # the whole SoC: CPU, GPU and ANE
            return EnergyMeter([PowermetricsReader()]), notes
        except MeterError as exc:
            if settings.meter == "powermetrics":
                raise
            notes.append(f"{exc}; CPU energy estimated")
            return EnergyMeter([_cpu_reader(settings, notes)]), notes
    if device == "gpu" and settings.meter in ("auto", "nvml", "amdsmi"):
        readers.extend(_gpu_readers(settings, notes))
    if device == "npu" or settings.meter == "npu_smi":
        readers.extend(_insist_or_note(settings, "npu_smi", _ascend, notes, "NPU energy unavailable"))
    readers.append(_cpu_reader(settings, notes))
    return EnergyMeter(readers), notes


def _nvml(settings: EnergySettings) -> list[EnergyReader]:
    from harness.energy.nvml import nvml_readers

    return nvml_readers(settings.gpu_indices)


def _amd(settings: EnergySettings) -> list[EnergyReader]:
    from harness.energy.amd import amd_readers

    return amd_readers(settings.gpu_indices)


def _ascend(settings: EnergySettings) -> list[EnergyReader]:
    from harness.energy.ascend import ascend_readers

    return ascend_readers(settings.gpu_indices)


def _insist_or_note(settings: EnergySettings, meter: str, make: Callable[[EnergySettings], list[EnergyReader]],
                    notes: list[str], consequence: str) -> list[EnergyReader]:
    try:
        return make(settings)
    except MeterError as exc:
        if settings.meter == meter:
            raise
        notes.append(f"{exc}; {consequence}")
        return []


def _gpu_readers(settings: EnergySettings, notes: list[str]) -> list[EnergyReader]:
    """NVML's readers; under `auto`, AMD SMI's where NVML sees no GPU."""
    if settings.meter == "amdsmi":
        return _amd(settings)
    found = _insist_or_note(settings, "nvml", _nvml, notes, "no NVIDIA GPU energy")
    if found or settings.meter == "nvml":
        return found
    return _insist_or_note(settings, "amdsmi", _amd, notes, "GPU energy unavailable")


def describe_meter(meter: EnergyMeter, notes: list[str]) -> dict[str, Any]:
    """What the manifest records about a model's meter."""
    return {"readers": [{"device": r.device, "source": r.source} for r in meter.readers],
            "sources": meter.sources, "notes": notes}

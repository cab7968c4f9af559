"""An estimate of CPU energy where no counter can be read: TDP per logical CPU x this process's CPU time.

    energy_j = (TDP_w / logical CPUs of the package) x (user + system CPU seconds of this process)

The CPU-time share attributes to the process only the fraction of the package it kept busy; idle draw of
the machine is not included (the idle baseline of this reader is ~0 W by construction). The watts per
logical CPU come from, in order: the `--cpu-w-per-core` setting, a small table of CPU models below, or a
stated default of 4 W (a server package of 250-350 W over 64-112 threads is 2.5-4 W per thread; a
desktop part under load is closer to 4-8 W). It is an estimate: labelled `estimated`, never summed with
measured figures without saying so.
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.energy.meter import EnergyReader

DEFAULT_W_PER_LOGICAL_CPU = 4.0

# CPU model name fragment -> (package TDP in W, logical CPUs per package). Vendor specifications.
TDP_TABLE: dict[str, tuple[float, int]] = {
    "EPYC 9654": (360.0, 192),
    "EPYC 7763": (280.0, 128),
    "EPYC 7R13": (280.0, 128),
    "Xeon(R) Platinum 8480": (350.0, 112),
    "Xeon(R) Platinum 8375C": (300.0, 64),
    "Xeon(R) Platinum 8259CL": (210.0, 48),
    "Core(TM) i9-13900K": (125.0, 32),
    "Core(TM) i7-12700": (65.0, 20),
    "Ryzen 9 7950X": (170.0, 32),
    "Apple M2": (20.0, 8),
    "Apple M3": (22.0, 8),
}


def watts_per_logical_cpu(model: str, override_w: float | None = None) -> tuple[float, str]:
    """Watts per logical CPU and where the figure comes from."""
    if override_w is not None:
        return override_w, "setting"
    for fragment, (tdp_w, threads) in TDP_TABLE.items():
        if fragment in model:
            return tdp_w / threads, f"TDP table: {fragment} {tdp_w:g} W / {threads} threads"
    return DEFAULT_W_PER_LOGICAL_CPU, f"default {DEFAULT_W_PER_LOGICAL_CPU:g} W per logical CPU (CPU model not in table)"


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and of its children it has waited for (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(fields[i]) for i in (11, 12, 13, 14))
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


class EstimatedCpuReader(EnergyReader):
    """CPU energy estimated from CPU time: of this process, or of another one (`pid`, e.g. a launched server)."""

    source = "estimated"
    device = "cpu"

    def __init__(self, w_per_logical_cpu: float, basis: str, pid: int | None = None) -> None:
        self.w_per_logical_cpu = w_per_logical_cpu
        self.basis = basis
        self.pid = pid
        self._last = 0.0
        self._start = self._cpu_s()

    def _cpu_s(self) -> float:
        if self.pid is None:
            times = os.times()
            return times.user + times.system
        try:
            self._last = process_cpu_s(self.pid)
        except (OSError, IndexError, ValueError):
            pass  # the process ended: its CPU time stays what it was
        return self._last

    def energy_j(self) -> float:
        return (self._cpu_s() - self._start) * self.w_per_logical_cpu

"""Apple Silicon CPU + GPU + ANE energy from `powermetrics` (`powermetrics`, sampled by the tool itself).

`powermetrics --samplers cpu_power,gpu_power,ane_power -i MS -f plist` writes one plist document per
sample interval, separated by NUL bytes. Each has `elapsed_ns` and, under `processor`, the energy of the
interval in millijoules per unit (`cpu_energy`, `gpu_energy`, `ane_energy`) and the mean power in
milliwatts (`cpu_power`, `gpu_power`, `ane_power`, `combined_power`). The reader keeps the tool running on
a thread, adds up each sample's energy (or power x elapsed where a unit reports no energy), and a read
extends the last sample's power to now, so a window is exact to one interval (100 ms by default).

powermetrics must run as root: without it the reader says so and the CPU falls back to the estimate
(`sudo harness run ...`). Apple documents its power figures as estimates of the SoC's own model; they are
the best a Mac offers and are labelled `powermetrics`. Not run on a Mac here: tested with plist samples
in the tool's format (docs/guides/energy-cost-carbon.md).
"""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from harness.energy.meter import EnergyReader, MeterError

UNITS = ("cpu", "gpu", "ane")
COMMAND = ["powermetrics", "--samplers", "cpu_power,gpu_power,ane_power", "-f", "plist", "-i"]


def sample_energy_j(sample: dict[str, Any]) -> tuple[float, float, float]:
    """(energy J, combined power W, interval s) of one powermetrics plist sample."""
    processor = sample.get("processor")
    elapsed_s = sample.get("elapsed_ns", 0) / 1e9
    if not isinstance(processor, dict) or elapsed_s <= 0:
        raise MeterError("powermetrics sample without processor power or elapsed_ns (run it on Apple Silicon "
                         "with --samplers cpu_power,gpu_power,ane_power)")
    energy_mj = 0.0
    for unit in UNITS:
        if f"{unit}_energy" in processor:
            energy_mj += float(processor[f"{unit}_energy"])
        elif f"{unit}_power" in processor:
            energy_mj += float(processor[f"{unit}_power"]) * elapsed_s
    power_mw = float(processor.get("combined_power", energy_mj / elapsed_s))
    return energy_mj / 1000.0, power_mw / 1000.0, elapsed_s


def split_samples(chunks: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    """Plist samples from powermetrics' output stream (documents separated by NUL bytes)."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        while b"\0" in buffer:
            document, buffer = buffer.split(b"\0", 1)
            if document.strip():
                yield plistlib.loads(document.strip())
    if buffer.strip():
        yield plistlib.loads(buffer.strip())


def start_powermetrics(interval_ms: int) -> subprocess.Popen:
    """Start powermetrics streaming plist samples; MeterError when it is missing or we are not root."""
    if shutil.which("powermetrics") is None:
        raise MeterError("powermetrics not found (it is part of macOS)")
    if os.geteuid() != 0:
        raise MeterError("powermetrics needs root: run the harness with sudo to measure Apple Silicon power")
    return subprocess.Popen([*COMMAND, str(interval_ms)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


class PowermetricsReader(EnergyReader):
    """Apple Silicon CPU + GPU + ANE energy, in joules since the reader was opened, from powermetrics."""

    source = "powermetrics"
    device = "soc"

    def __init__(self, interval_ms: int = 100,
                 start: Callable[[int], Any] = start_powermetrics) -> None:
        self._proc = start(interval_ms)
        self._lock = threading.Lock()
        self._energy_j = 0.0
        self._last_w = 0.0
        self._last_t = time.perf_counter()
        self._error: MeterError | None = None
        self._thread = threading.Thread(target=self._run, args=(self._proc.stdout,), name="powermetrics", daemon=True)
        self._thread.start()

    def _run(self, stream: IO[bytes]) -> None:
        try:
            for sample in split_samples(iter(lambda: stream.read1(65536), b"")):
                joules, watts, _ = sample_energy_j(sample)
                with self._lock:
                    self._energy_j += joules
                    self._last_w, self._last_t = watts, time.perf_counter()
        except (MeterError, plistlib.InvalidFileException, ValueError) as exc:
            self._error = exc if isinstance(exc, MeterError) else MeterError(f"powermetrics output unreadable: {exc}")

    def energy_j(self) -> float:
        if self._error is not None:
            raise self._error
        with self._lock:  # the interval in progress, at the last sample's power
            return self._energy_j + self._last_w * (time.perf_counter() - self._last_t)

    def close(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self._proc.kill()
        self._thread.join(timeout=2)

"""Energy from sampled power: a background thread reads a device's power and integrates it (trapezoid).

For devices that report power but no energy counter (AMD GPUs without a usable accumulator, Ascend NPUs
through npu-smi). A read of the cumulative energy either takes a fresh sample (`fresh_on_read`, for cheap
library calls) or extends the last sample to now (for a command-line tool whose every call costs tens of
milliseconds), so a window's edges are exact to one sample interval at worst.
"""

from __future__ import annotations

import threading
import time
from abc import abstractmethod

from harness.energy.meter import EnergyReader, MeterError


class SampledPowerReader(EnergyReader):
    """Integrates `power_w()` sampled every 1 / `sample_hz` seconds; subclasses read the device."""

    fresh_on_read = True

    def __init__(self, sample_hz: float) -> None:
        if sample_hz <= 0:
            raise ValueError("sample_hz must be positive")
        self.interval_s = 1.0 / sample_hz
        self._lock = threading.Lock()
        self._energy_j = 0.0
        self._last_t, self._last_w = time.perf_counter(), self.power_w()
        self._stop = threading.Event()
        self._error: MeterError | None = None
        self._thread = threading.Thread(target=self._run, name=f"power-sampler-{self.device}", daemon=True)
        self._thread.start()

    @abstractmethod
    def power_w(self) -> float:
        """The device's power now, in watts (raises MeterError)."""

    def _sample(self) -> None:
        watts = self.power_w()
        now = time.perf_counter()
        with self._lock:
            self._energy_j += (watts + self._last_w) / 2 * (now - self._last_t)
            self._last_t, self._last_w = now, watts

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self._sample()
            except MeterError as exc:
                self._error = exc
                return

    def energy_j(self) -> float:
        if self._error is not None:
            raise self._error
        if self.fresh_on_read:
            self._sample()
            with self._lock:
                return self._energy_j
        with self._lock:
            return self._energy_j + self._last_w * (time.perf_counter() - self._last_t)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=max(1.0, 2 * self.interval_s))

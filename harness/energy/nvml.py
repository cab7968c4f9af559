"""NVIDIA GPU energy through NVML (`nvidia-ml-py`, imported as `pynvml`).

Per GPU, the total-energy counter (millijoules since the driver loaded; Volta and newer) is read at each
window boundary. Where a GPU lacks the counter, a background thread samples its power (milliwatts) at
`sample_hz` (>= 10) and integrates with the trapezoid rule; a read also takes a fresh sample, so a
window's edges are exact to one sample. NVML errors become `MeterError`.
"""

from __future__ import annotations

import threading
from typing import Any

from harness.energy.meter import EnergyReader, MeterError
from harness.energy.sampling import SampledPowerReader

COUNTER_WRAP_MJ = 2**64  # the counter is an unsigned 64-bit integer


def _pynvml() -> Any:
    try:
        import pynvml
    except ImportError:
        raise MeterError("NVML unavailable: nvidia-ml-py is not installed (pip install 'harness[nvml]')") from None
    return pynvml


class _Session:
    """nvmlInit once for all readers; nvmlShutdown when the last one closes."""

    users = 0
    lock = threading.Lock()

    @classmethod
    def acquire(cls, nvml: Any) -> None:
        with cls.lock:
            if cls.users == 0:
                try:
                    nvml.nvmlInit()
                except nvml.NVMLError as exc:
                    raise MeterError(f"NVML unavailable: {exc}") from None
            cls.users += 1

    @classmethod
    def release(cls, nvml: Any) -> None:
        with cls.lock:
            cls.users -= 1
            if cls.users == 0:
                try:
                    nvml.nvmlShutdown()
                except nvml.NVMLError:
                    pass


class NvmlCounterReader(EnergyReader):
    """A GPU's total-energy counter, in joules since the reader was opened."""

    source = "nvml_counter"

    def __init__(self, nvml: Any, index: int) -> None:
        self.nvml, self.index, self.device = nvml, index, f"gpu{index}"
        _Session.acquire(nvml)  # each reader holds the library open until it closes
        try:
            self.handle = nvml.nvmlDeviceGetHandleByIndex(index)
            self._last = self._raw()
        except BaseException:
            _Session.release(nvml)
            raise
        self._total_mj = 0

    def _raw(self) -> int:
        try:
            return int(self.nvml.nvmlDeviceGetTotalEnergyConsumption(self.handle))
        except self.nvml.NVMLError as exc:
            raise MeterError(f"{self.device}: energy counter read failed: {exc}") from None

    def energy_j(self) -> float:
        now = self._raw()
        delta = now - self._last
        if delta < 0:
            delta += COUNTER_WRAP_MJ
        self._total_mj += delta
        self._last = now
        return self._total_mj / 1000.0

    def close(self) -> None:
        _Session.release(self.nvml)


class NvmlSampledReader(SampledPowerReader):
    """A GPU's power, sampled on a background thread and integrated (trapezoid), in joules."""

    source = "nvml_sampled"

    def __init__(self, nvml: Any, index: int, sample_hz: float = 20.0) -> None:
        if sample_hz < 10:
            raise ValueError("NVML power sampling needs at least 10 Hz")
        self.nvml, self.index, self.device = nvml, index, f"gpu{index}"
        _Session.acquire(nvml)
        try:
            self.handle = nvml.nvmlDeviceGetHandleByIndex(index)
            super().__init__(sample_hz)  # takes the first power reading
        except BaseException:
            _Session.release(nvml)
            raise

    def power_w(self) -> float:
        try:
            return self.nvml.nvmlDeviceGetPowerUsage(self.handle) / 1000.0
        except self.nvml.NVMLError as exc:
            raise MeterError(f"{self.device}: power read failed: {exc}") from None

    def close(self) -> None:
        super().close()
        _Session.release(self.nvml)


def nvml_readers(indices: list[int] | None = None, sample_hz: float = 20.0) -> list[EnergyReader]:
    """One reader per GPU (all GPUs, or `indices`): the energy counter where supported, else sampling."""
    nvml = _pynvml()
    _Session.acquire(nvml)
    try:
        count = nvml.nvmlDeviceGetCount()
        readers: list[EnergyReader] = []
        for index in indices if indices is not None else range(count):
            try:
                readers.append(NvmlCounterReader(nvml, index))
            except MeterError:
                readers.append(NvmlSampledReader(nvml, index, sample_hz))
        return readers
    except nvml.NVMLError as exc:
        raise MeterError(f"NVML unavailable: {exc}") from None
    finally:
        _Session.release(nvml)


def gpu_memory_bandwidth_gbs(index: int = 0) -> float | None:
    """Peak memory bandwidth from NVML: max memory clock x bus width x 2 (double data rate), in GB/s."""
    try:
        nvml = _pynvml()
        _Session.acquire(nvml)
    except MeterError:
        return None
    try:
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        clock_mhz = nvml.nvmlDeviceGetMaxClockInfo(handle, nvml.NVML_CLOCK_MEM)
        bus_bits = nvml.nvmlDeviceGetMemoryBusWidth(handle)
        return clock_mhz * 1e6 * bus_bits * 2 / 8 / 1e9
    except nvml.NVMLError:
        return None
    finally:
        _Session.release(nvml)

"""AMD GPU energy through AMD SMI's Python library (`amdsmi`, shipped with ROCm 6+ and on PyPI).

Per GPU, `amdsmi_get_energy_count(handle)` returns the energy accumulator since the driver loaded:
`{"energy_accumulator": N, "counter_resolution": uJ per count, "timestamp": ns}` (ROCm >= 6.4; older
releases name the counter `power`). energy_uJ = accumulator x resolution; the counter is 64-bit and wraps
there. Where the call is not supported (virtual machine guests, some boards), the reader samples
`amdsmi_get_power_info(handle)` instead — `current_socket_power` in W (MI300 and newer), else
`average_socket_power` — and integrates it (`amdsmi_sampled`). Library errors (`AmdSmiException`) become
`MeterError`. Not run on AMD hardware here: tested at the library seam (docs/guides/energy-cost-carbon.md).
"""

from __future__ import annotations

import threading
from typing import Any

from harness.energy.meter import EnergyReader, MeterError
from harness.energy.sampling import SampledPowerReader

COUNTER_WRAP = 2**64


def _amdsmi() -> Any:
    try:
        import amdsmi
    except ImportError:
        raise MeterError("AMD SMI unavailable: the amdsmi Python package is not installed (it ships with ROCm: "
                         "pip install /opt/rocm/share/amd_smi, or pip install amdsmi matching the driver)") from None
    return amdsmi


class _Session:
    """amdsmi_init once for all readers; amdsmi_shut_down when the last one closes."""

    users = 0
    lock = threading.Lock()

    @classmethod
    def acquire(cls, lib: Any) -> None:
        with cls.lock:
            if cls.users == 0:
                try:
                    lib.amdsmi_init()
                except lib.AmdSmiException as exc:
                    raise MeterError(f"AMD SMI unavailable: {exc}") from None
            cls.users += 1

    @classmethod
    def release(cls, lib: Any) -> None:
        with cls.lock:
            cls.users -= 1
            if cls.users == 0:
                try:
                    lib.amdsmi_shut_down()
                except lib.AmdSmiException:
                    pass


def counter_uj(reply: dict[str, Any]) -> tuple[int, float]:
    """(raw accumulator, microjoules per count) from an `amdsmi_get_energy_count` reply, either key name."""
    raw = reply.get("energy_accumulator", reply.get("power"))
    resolution = reply.get("counter_resolution")
    if not isinstance(raw, (int, float)) or not isinstance(resolution, (int, float)) or resolution <= 0:
        raise MeterError(f"unexpected amdsmi_get_energy_count reply: {reply!r}")
    return int(raw), float(resolution)


def socket_power_w(reply: dict[str, Any]) -> float:
    """Watts from an `amdsmi_get_power_info` reply: current socket power, else the average; 'N/A' is absent."""
    for key in ("current_socket_power", "average_socket_power"):
        value = reply.get(key)
        if isinstance(value, (int, float)) and value >= 0:
            return float(value)
    raise MeterError(f"amdsmi_get_power_info reports no socket power: {reply!r}")


class AmdsmiCounterReader(EnergyReader):
    """An AMD GPU's energy accumulator, in joules since the reader was opened."""

    source = "amdsmi"

    def __init__(self, lib: Any, handle: Any, index: int) -> None:
        self.lib, self.handle, self.device = lib, handle, f"amdgpu{index}"
        _Session.acquire(lib)
        try:
            self._last, self.resolution_uj = self._raw()
        except BaseException:
            _Session.release(lib)
            raise
        self._total_uj = 0.0

    def _raw(self) -> tuple[int, float]:
        try:
            return counter_uj(self.lib.amdsmi_get_energy_count(self.handle))
        except self.lib.AmdSmiException as exc:
            raise MeterError(f"{self.device}: energy counter read failed: {exc}") from None

    def energy_j(self) -> float:
        now, resolution = self._raw()
        delta = now - self._last
        if delta < 0:
            delta += COUNTER_WRAP
        self._total_uj += delta * resolution
        self._last = now
        return self._total_uj / 1e6

    def close(self) -> None:
        _Session.release(self.lib)


class AmdsmiSampledReader(SampledPowerReader):
    """An AMD GPU's socket power, sampled and integrated, in joules."""

    source = "amdsmi_sampled"

    def __init__(self, lib: Any, handle: Any, index: int, sample_hz: float = 20.0) -> None:
        self.lib, self.handle, self.device = lib, handle, f"amdgpu{index}"
        _Session.acquire(lib)
        try:
            super().__init__(sample_hz)
        except BaseException:
            _Session.release(lib)
            raise

    def power_w(self) -> float:
        try:
            return socket_power_w(self.lib.amdsmi_get_power_info(self.handle))
        except self.lib.AmdSmiException as exc:
            raise MeterError(f"{self.device}: power read failed: {exc}") from None

    def close(self) -> None:
        super().close()
        _Session.release(self.lib)


def amd_readers(indices: list[int] | None = None, sample_hz: float = 20.0, lib: Any = None) -> list[EnergyReader]:
    """One reader per AMD GPU (all, or `indices`): the energy counter where it answers, else power sampling."""
    lib = lib or _amdsmi()
    _Session.acquire(lib)
    try:
        handles = lib.amdsmi_get_processor_handles()
        if not handles:
            raise MeterError("AMD SMI sees no AMD GPU")
        readers: list[EnergyReader] = []
        for index in indices if indices is not None else range(len(handles)):
            if index >= len(handles):
                raise MeterError(f"AMD GPU {index} does not exist (AMD SMI sees {len(handles)})")
            try:
                readers.append(AmdsmiCounterReader(lib, handles[index], index))
            except MeterError:
                readers.append(AmdsmiSampledReader(lib, handles[index], index, sample_hz))
        return readers
    except lib.AmdSmiException as exc:
        raise MeterError(f"AMD SMI unavailable: {exc}") from None
    finally:
        _Session.release(lib)

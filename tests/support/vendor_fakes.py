"""Stand-ins for vendor energy libraries (pynvml, amdsmi) that behave like them, and the `nvml` fixture
that installs one."""

from __future__ import annotations

import sys
import types

import pytest


def fake_pynvml(counters_mj: list[int | None], power_mw: list[float]):
    """A stand-in for pynvml: GPU i has counter counters_mj[i] (None: not supported) and power power_mw[i]."""
    module = types.SimpleNamespace()

    class NVMLError(Exception):
        def __init__(self, value):
            super().__init__(f"NVML error {value}")
            self.value = value

    module.NVMLError = NVMLError
    module.NVML_ERROR_NOT_SUPPORTED = 3
    module.NVML_CLOCK_MEM = 2
    module.state = {"counters": list(counters_mj), "power": list(power_mw), "inits": 0, "shutdowns": 0}
    module.nvmlInit = lambda: module.state.__setitem__("inits", module.state["inits"] + 1)
    module.nvmlShutdown = lambda: module.state.__setitem__("shutdowns", module.state["shutdowns"] + 1)
    module.nvmlDeviceGetCount = lambda: len(counters_mj)
    module.nvmlDeviceGetHandleByIndex = lambda index: index

    def energy(handle):
        value = module.state["counters"][handle]
        if value is None:
            raise NVMLError(module.NVML_ERROR_NOT_SUPPORTED)
        return value

    module.nvmlDeviceGetTotalEnergyConsumption = energy
    module.nvmlDeviceGetPowerUsage = lambda handle: module.state["power"][handle]
    module.nvmlDeviceGetMaxClockInfo = lambda handle, kind: 2619  # MHz
    module.nvmlDeviceGetMemoryBusWidth = lambda handle: 5120     # bits
    return module


@pytest.fixture
def nvml(monkeypatch):
    def install(counters_mj, power_mw):
        module = fake_pynvml(counters_mj, power_mw)
        monkeypatch.setitem(sys.modules, "pynvml", module)
        return module
    return install


def fake_amdsmi(energy: list[dict | None], power: list[dict]):
    """GPU i answers amdsmi_get_energy_count with energy[i] (None: not supported) and power info power[i]."""
    lib = types.SimpleNamespace()

    class AmdSmiException(Exception):
        pass

    class AmdSmiLibraryException(AmdSmiException):
        def __init__(self, code):
            super().__init__(f"AMDSMI_STATUS error {code}")

    lib.AmdSmiException, lib.AmdSmiLibraryException = AmdSmiException, AmdSmiLibraryException
    lib.state = {"energy": energy, "power": power, "inits": 0, "shutdowns": 0}
    lib.amdsmi_init = lambda *flags: lib.state.__setitem__("inits", lib.state["inits"] + 1)
    lib.amdsmi_shut_down = lambda: lib.state.__setitem__("shutdowns", lib.state["shutdowns"] + 1)
    lib.amdsmi_get_processor_handles = lambda: [f"handle{i}" for i in range(len(energy))]

    def energy_count(handle):
        reply = lib.state["energy"][int(handle[-1])]
        if reply is None:
            raise AmdSmiLibraryException(2)  # AMDSMI_STATUS_NOT_SUPPORTED
        return dict(reply)

    lib.amdsmi_get_energy_count = energy_count
    lib.amdsmi_get_power_info = lambda handle: dict(lib.state["power"][int(handle[-1])])
    return lib

"""Meters beyond NVIDIA, tested at their seams because none of the hardware exists here:

- AMD: a stand-in `amdsmi` module answering like the library's Python API (dicts from
  amdsmi_get_energy_count / amdsmi_get_power_info, AmdSmiLibraryException when not supported).
- Ascend: npu-smi output in the format the tool prints (`Name : value` lines), as handwritten captures.
- Apple: a real child process standing in for powermetrics, streaming plist samples separated by NUL bytes."""

from __future__ import annotations

import plistlib
import sys
import time

import pytest

from harness.energy import EnergyMeter, MeterError, window_total
from harness.energy.amd import COUNTER_WRAP, AmdsmiCounterReader, amd_readers
from harness.energy.apple import sample_energy_j, split_samples
from harness.energy.ascend import NpuSmiReader, ascend_readers, parse_devices, parse_power_w
from tests.support.vendor_fakes import fake_amdsmi


def test_amd_counter_in_microjoules_both_key_names_and_shutdown_once(monkeypatch):
    # ROCm >= 6.4 names the accumulator energy_accumulator; older releases call it power.
    lib = fake_amdsmi([{"energy_accumulator": 1_000_000, "counter_resolution": 15.3, "timestamp": 1},
                       {"power": 500, "counter_resolution": 1.0, "timestamp": 1}], [{}, {}])
    monkeypatch.setitem(sys.modules, "amdsmi", lib)
    meter = EnergyMeter(amd_readers())
    assert [(r.device, r.source) for r in meter.readers] == [("amdgpu0", "amdsmi"), ("amdgpu1", "amdsmi")]
    meter.begin("request")
    lib.state["energy"][0]["energy_accumulator"] += 200_000   # x 15.3 uJ = 3.06 J
    lib.state["energy"][1]["power"] += 2_000_000              # x 1 uJ = 2 J
    window = meter.end("request")
    assert [r["j"] for r in window["readings"]] == [pytest.approx(3.06), pytest.approx(2.0)]
    assert window_total(window)[1] == "amdsmi"
    meter.close()
    assert (lib.state["inits"], lib.state["shutdowns"]) == (1, 1)


def test_amd_counter_wraps_at_64_bits():
    lib = fake_amdsmi([{"energy_accumulator": COUNTER_WRAP - 10, "counter_resolution": 1000.0}], [{}])
    reader = AmdsmiCounterReader(lib, "handle0", 0)
    lib.state["energy"][0]["energy_accumulator"] = 40   # 50 counts later, across the wrap
    assert reader.energy_j() == pytest.approx(0.05)
    reader.close()


def test_amd_missing_library_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "amdsmi", None)
    with pytest.raises(MeterError, match="amdsmi Python package is not installed"):
        amd_readers()


# `npu-smi info -l` on a host with one Atlas 300I Duo (two chips) and one single-chip card.
NPU_LIST = """\
\tTotal Count                    : 2

\tNPU ID                         : 8
\tChip Count                     : 2

\tNPU ID                         : 9
\tChip Count                     : 1
"""


# `npu-smi info -t power -i ID [-c CHIP]`: 310P and 910 boards print the real-time power...
POWER_310P = "\tNPU Real-time Power(W)         : 68.9\n"


# ...others Power Dissipation; the Ascend 310 prints only its rated figure, which is no reading.
POWER_DISSIPATION = "\tPower Dissipation(W)           : 12.8\n"


POWER_RATED_ONLY = "\tRated Power Dissipation(W)     : 8.0\n"


def test_npu_smi_parsing():
    assert parse_devices(NPU_LIST) == [(8, 0), (8, 1), (9, 0)]
    assert parse_devices("\tNPU ID : 0\n\tNPU ID : 0\n\tNPU ID : 2\n") == [(0, 0), (2, 0)]  # repeated lines
    assert parse_power_w(POWER_310P) == 68.9
    assert parse_power_w(POWER_DISSIPATION) == 12.8
    with pytest.raises(MeterError, match="no power reading"):
        parse_power_w(POWER_RATED_ONLY)
    with pytest.raises(MeterError, match="'NA'"):
        parse_power_w("\tNPU Real-time Power(W)         : NA\n")


def test_npu_smi_readers_integrate_sampled_power_per_chip():
    calls = []

    def runner(args):
        calls.append(args)
        if args == ["info", "-l"]:
            return NPU_LIST
        return POWER_310P if args[4] == "8" else POWER_DISSIPATION

    readers = ascend_readers(sample_hz=20, runner=runner)
    assert [(r.device, r.source) for r in readers] == [("npu8.0", "npu_smi"), ("npu8.1", "npu_smi"),
                                                       ("npu9", "npu_smi")]
    assert ["info", "-t", "power", "-i", "8", "-c", "1"] in calls
    assert ["info", "-t", "power", "-i", "9"] in calls   # a single-chip card is asked without -c
    meter = EnergyMeter(readers)
    meter.begin("w")
    time.sleep(0.5)
    window = meter.end("w")
    meter.close()
    seconds = window["window_s"]
    joules = [r["j"] for r in window["readings"]]
    assert joules[0] == pytest.approx(68.9 * seconds, rel=0.1)
    assert joules[2] == pytest.approx(12.8 * seconds, rel=0.1)


def test_npu_smi_missing_tool_and_unknown_id():
    with pytest.raises(MeterError, match="npu-smi not found"):
        ascend_readers()  # no npu-smi on this machine
    with pytest.raises(MeterError, match="no NPU with id in \\[3\\]"):
        ascend_readers([3], runner=lambda args: NPU_LIST)


def test_npu_smi_reader_surfaces_a_failing_tool():
    answers = iter([POWER_310P])

    def runner(args):
        try:
            return next(answers)
        except StopIteration:
            raise MeterError("npu-smi info -t power -i 0 exited 255: device reset") from None

    reader = NpuSmiReader(0, sample_hz=50, runner=runner)
    time.sleep(0.2)
    with pytest.raises(MeterError, match="device reset"):
        reader.energy_j()
    reader.close()


def _sample(elapsed_ms: float, cpu_mw: float, gpu_mw: float, ane_mw: float) -> dict:
    seconds = elapsed_ms / 1000
    return {"hw_model": "Mac14,2", "elapsed_ns": int(elapsed_ms * 1e6), "thermal_pressure": "Nominal",
            "processor": {"clusters": [], "cpu_energy": int(cpu_mw * seconds), "cpu_power": cpu_mw,
                          "gpu_energy": int(gpu_mw * seconds), "gpu_power": gpu_mw,
                          "ane_energy": int(ane_mw * seconds), "ane_power": ane_mw,
                          "combined_power": cpu_mw + gpu_mw + ane_mw}}


def test_powermetrics_plist_samples():
    stream = b"".join(plistlib.dumps(_sample(100, 4000, 2000, 0)) + b"\0" for _ in range(3))
    # split across arbitrary chunk boundaries, as a pipe delivers it
    chunks = [stream[i:i + 97] for i in range(0, len(stream), 97)]
    samples = list(split_samples(chunks))
    assert len(samples) == 3
    joules, watts, seconds = sample_energy_j(samples[0])
    assert (joules, watts, seconds) == (pytest.approx(0.6), pytest.approx(6.0), pytest.approx(0.1))
    no_energy = _sample(200, 1000, 0, 0)
    del no_energy["processor"]["cpu_energy"]      # a unit that reports only power: power x elapsed
    assert sample_energy_j(no_energy)[0] == pytest.approx(0.2)
    with pytest.raises(MeterError, match="Apple Silicon"):
        sample_energy_j({"elapsed_ns": 100})

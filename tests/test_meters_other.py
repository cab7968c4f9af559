"""Meters beyond NVIDIA, tested at their seams because none of the hardware exists here:

- AMD: a stand-in `amdsmi` module answering like the library's Python API (dicts from
  amdsmi_get_energy_count / amdsmi_get_power_info, AmdSmiLibraryException when not supported).
- Ascend: npu-smi output in the format the tool prints (`Name : value` lines), as handwritten captures.
- Apple: a real child process standing in for powermetrics, streaming plist samples separated by NUL bytes.
"""

from __future__ import annotations

import plistlib
import sys
import textwrap
import time
import types

import pytest

from harness.energy import EnergyMeter, MeterError, window_total
from harness.energy.amd import COUNTER_WRAP, AmdsmiCounterReader, amd_readers
from harness.energy.apple import PowermetricsReader, sample_energy_j, split_samples
from harness.energy.ascend import NpuSmiReader, ascend_readers, parse_devices, parse_power_w
from harness.energy.meter_setup import EnergySettings, build_meter

# ---------------------------------------------------------------- AMD (amdsmi)


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


def test_amd_without_counter_samples_socket_power(monkeypatch):
    # A VM guest: no energy counter; MI300 reports current_socket_power in W, older boards only the average
    # (and 'N/A' for what they lack).
    lib = fake_amdsmi([None, None], [{"current_socket_power": 300, "average_socket_power": 290},
                                     {"current_socket_power": "N/A", "average_socket_power": 100}])
    monkeypatch.setitem(sys.modules, "amdsmi", lib)
    readers = amd_readers(sample_hz=50)
    assert [r.source for r in readers] == ["amdsmi_sampled", "amdsmi_sampled"]
    meter = EnergyMeter(readers)
    meter.begin("w")
    time.sleep(0.4)
    window = meter.end("w")
    meter.close()
    seconds = window["window_s"]
    assert window["readings"][0]["j"] == pytest.approx(300 * seconds, rel=0.1)
    assert window["readings"][1]["j"] == pytest.approx(100 * seconds, rel=0.1)
    assert lib.state["shutdowns"] == lib.state["inits"] == 1


def test_amd_missing_library_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "amdsmi", None)
    with pytest.raises(MeterError, match="amdsmi Python package is not installed"):
        amd_readers()


def test_auto_falls_back_from_nvml_to_amd_and_insisting_on_amd_fails_clearly(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    lib = fake_amdsmi([{"energy_accumulator": 0, "counter_resolution": 1.0}], [{}])
    monkeypatch.setitem(sys.modules, "amdsmi", lib)
    meter, notes = build_meter(EnergySettings(meter="auto"), "gpu")
    assert meter.readers[0].source == "amdsmi"
    assert any("nvidia-ml-py is not installed" in n for n in notes)
    meter.close()
    monkeypatch.setitem(sys.modules, "amdsmi", None)
    with pytest.raises(MeterError, match="amdsmi"):
        build_meter(EnergySettings(meter="amdsmi"), "gpu")


# ---------------------------------------------------------------- Huawei Ascend (npu-smi)

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


# ---------------------------------------------------------------- Apple Silicon (powermetrics)

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


STAND_IN = textwrap.dedent("""
    # Like powermetrics: each sample covers the time actually elapsed since the last one (8 W in all).
    import plistlib, sys, time
    interval_ms = int(sys.argv[1])
    last = time.perf_counter()
    while True:
        time.sleep(interval_ms / 1000)
        now = time.perf_counter()
        elapsed_s, last = now - last, now
        sample = {"elapsed_ns": int(elapsed_s * 1e9), "processor": {
            "cpu_energy": 5000 * elapsed_s, "gpu_energy": 3000 * elapsed_s, "ane_energy": 0,
            "cpu_power": 5000.0, "gpu_power": 3000.0, "ane_power": 0.0, "combined_power": 8000.0}}
        sys.stdout.buffer.write(plistlib.dumps(sample) + b"\\0")
        sys.stdout.buffer.flush()
""")


def test_powermetrics_reader_on_a_streaming_stand_in(tmp_path):
    import subprocess

    script = tmp_path / "powermetrics_stand_in.py"
    script.write_text(STAND_IN)
    def start(ms):
        return subprocess.Popen([sys.executable, str(script), str(ms)], stdout=subprocess.PIPE)
    reader = PowermetricsReader(interval_ms=50, start=start)
    time.sleep(0.5)  # the stand-in's start-up
    meter = EnergyMeter([reader])
    meter.begin("w")
    time.sleep(1.0)
    window = meter.end("w")
    meter.close()
    assert window["readings"][0]["source"] == "powermetrics"
    assert window["readings"][0]["j"] == pytest.approx(8.0 * window["window_s"], rel=0.25)  # 8 W
    assert reader._proc.poll() is not None  # closed: the tool is stopped


def test_powermetrics_needs_root_and_auto_says_so(monkeypatch):
    from harness.energy import apple, meter_setup

    monkeypatch.setattr(apple.shutil, "which", lambda name: "/usr/bin/powermetrics")
    monkeypatch.setattr(apple.os, "geteuid", lambda: 501)
    with pytest.raises(MeterError, match="needs root"):
        build_meter(EnergySettings(meter="powermetrics"), "cpu")
    monkeypatch.setattr(meter_setup.sys, "platform", "darwin")
    meter, notes = build_meter(EnergySettings(meter="auto"), "cpu")
    assert [r.source for r in meter.readers] == ["estimated"]
    assert any("powermetrics needs root" in n for n in notes)

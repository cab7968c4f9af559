"""Meters beyond NVIDIA, tested at their seams because none of the hardware exists here:

- AMD: a stand-in `amdsmi` module answering like the library's Python API (dicts from
  amdsmi_get_energy_count / amdsmi_get_power_info, AmdSmiLibraryException when not supported).
- Ascend: npu-smi output in the format the tool prints (`Name : value` lines), as handwritten captures.
- Apple: a real child process standing in for powermetrics, streaming plist samples separated by NUL bytes."""

from __future__ import annotations

import sys
import textwrap
import time

import pytest

from harness.energy import EnergyMeter, MeterError
from harness.energy.amd import amd_readers
from harness.energy.apple import PowermetricsReader
from harness.energy.meter_setup import EnergySettings, build_meter
from tests.support.vendor_fakes import fake_amdsmi


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

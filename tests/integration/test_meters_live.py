"""Energy readers. NVML is tested at the `pynvml` seam (no GPU here) with a stand-in module that behaves
like the library: counters in mJ, power in mW, NVMLError with codes. RAPL is tested against a folder laid
out like /sys/class/powercap. The CPU estimate runs on this machine for real."""

from __future__ import annotations

import sys
import time

import pytest

from harness.energy import MeterError, window_total
from harness.energy.estimate import EstimatedCpuReader
from harness.energy.meter_setup import EnergySettings, build_meter
from harness.energy.nvml import nvml_readers


def test_nvml_library_absent_gives_unavailable_gpu_and_a_cpu_reading(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import fails as if not installed
    with pytest.raises(MeterError, match="nvidia-ml-py is not installed"):
        nvml_readers()
    meter, notes = build_meter(EnergySettings(meter="auto"), device="gpu")
    assert [r.device for r in meter.readers] == ["cpu"]
    assert any("GPU energy unavailable" in note for note in notes)
    with pytest.raises(MeterError):
        build_meter(EnergySettings(meter="nvml"), device="gpu")


def test_cpu_estimate_on_this_machine_is_labelled_and_tracks_cpu_time():
    meter, notes = build_meter(EnergySettings(meter="estimated", cpu_w_per_core=5.0), device="cpu")
    (reader,) = meter.readers
    assert isinstance(reader, EstimatedCpuReader) and reader.source == "estimated"
    assert any("5.00 W per logical CPU (setting)" in note for note in notes)
    meter.begin("busy")
    cpu0 = time.process_time()
    while time.process_time() - cpu0 < 0.3:
        pass
    window = meter.end("busy")
    joules, label = window_total(window)
    assert label == "estimated"
    assert joules == pytest.approx(5.0 * (time.process_time() - cpu0), rel=0.15)
    idle = meter.idle_power(0.2)
    assert idle["readings"][0]["w"] < 1.0      # a sleeping process draws (almost) nothing in this estimate


def test_remote_models_and_none_measure_nothing():
    for settings, device in ((EnergySettings(), "remote"), (EnergySettings(meter="none"), "cpu")):
        meter, _ = build_meter(settings, device)
        meter.begin("x")
        assert meter.end("x") is None and meter.sources == ["unavailable"]
    assert window_total(None) == (None, "unavailable")

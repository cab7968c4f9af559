"""Energy readers. NVML is tested at the `pynvml` seam (no GPU here) with a stand-in module that behaves
like the library: counters in mJ, power in mW, NVMLError with codes. RAPL is tested against a folder laid
out like /sys/class/powercap. The CPU estimate runs on this machine for real."""

from __future__ import annotations

import time
import types

import pytest

from harness.energy import EnergyMeter, MeterError, window_total
from harness.energy.estimate import DEFAULT_W_PER_LOGICAL_CPU, EstimatedCpuReader, watts_per_logical_cpu
from harness.energy.nvml import COUNTER_WRAP_MJ, NvmlCounterReader, NvmlSampledReader, nvml_readers
from harness.energy.rapl import RaplReader


def test_counter_deltas_over_several_gpus(nvml):
    module = nvml([1_000_000, 5_000_000], [0, 0])
    meter = EnergyMeter(nvml_readers())
    assert [(r.device, r.source) for r in meter.readers] == [("gpu0", "nvml_counter"), ("gpu1", "nvml_counter")]
    meter.begin("request")
    module.state["counters"][0] += 12_500   # 12.5 J
    module.state["counters"][1] += 250_000  # 250 J
    window = meter.end("request")
    assert [(r["device"], r["j"]) for r in window["readings"]] == [("gpu0", 12.5), ("gpu1", 250.0)]
    assert window_total(window) == (262.5, "nvml_counter")
    meter.close()
    assert (module.state["inits"], module.state["shutdowns"]) == (1, 1)


def test_counter_wrap(nvml):
    module = nvml([COUNTER_WRAP_MJ - 1_000], [0])
    reader = NvmlCounterReader(module, 0)
    module.state["counters"][0] = 4_000       # wrapped: 1 J before, 4 J after
    assert reader.energy_j() == pytest.approx(5.0)
    reader.close()
    assert module.state["inits"] == module.state["shutdowns"] == 1


def test_missing_counter_falls_back_to_sampling(nvml):
    module = nvml([None], [200_000])          # 200 W, no counter
    (reader,) = nvml_readers(sample_hz=50)
    assert isinstance(reader, NvmlSampledReader) and reader.source == "nvml_sampled"
    meter = EnergyMeter([reader])
    meter.begin("w")
    time.sleep(0.3)
    window = meter.end("w")
    meter.close()
    assert window["readings"][0]["j"] == pytest.approx(200 * window["window_s"], rel=0.05)
    assert module.state["shutdowns"] == 1


def test_sampling_integrates_a_power_step(nvml, monkeypatch):
    """A 100 W -> 300 W step at t = 0.2 s, on a clock the power readings carry with them: the k-th reading
    (from the sampling thread or a direct read) is stamped k x 10 ms, so the integral does not depend on how
    the threads were scheduled."""
    import threading

    import harness.energy.sampling as sampling_module  # the integration (shared by every sampled meter)

    module = nvml([None], [0])
    lock, state, local = threading.Lock(), {"reads": 0}, threading.local()

    def power_mw(handle):
        with lock:
            state["reads"] += 1
            local.t = state["reads"] * 0.01
        return 100_000 if local.t < 0.2 else 300_000

    module.nvmlDeviceGetPowerUsage = power_mw
    monkeypatch.setattr(sampling_module, "time", types.SimpleNamespace(perf_counter=lambda: getattr(local, "t", 0.0)))
    reader = NvmlSampledReader(module, 0, sample_hz=100)
    deadline = time.monotonic() + 60
    while state["reads"] < 40 and time.monotonic() < deadline:   # the thread samples past the step on its own
        time.sleep(0.01)
    energy = reader.energy_j()
    end_t = local.t
    reader.close()
    assert state["reads"] >= 40 and end_t >= 0.4
    # 100 W from the reader's start (t = 0) to the step, 300 W from the step to the last reading; the
    # trapezoid smears the step over one 10 ms interval: at most (300 - 100) / 2 x 0.01 = 1 J.
    exact = 100 * 0.2 + 300 * (end_t - 0.2)
    assert energy == pytest.approx(exact, abs=1.0 + 1e-9), (energy, exact)


def test_sampling_rate_below_10_hz_is_refused(nvml):
    with pytest.raises(ValueError, match="at least 10 Hz"):
        NvmlSampledReader(nvml([None], [1]), 0, sample_hz=5)


def test_nvml_init_failure_is_wrapped(nvml):
    module = nvml([1], [1])

    def broken():
        raise module.NVMLError(12)

    module.nvmlInit = broken
    with pytest.raises(MeterError, match="NVML unavailable: NVML error 12"):
        nvml_readers()


def test_gpu_bandwidth_from_nvml(nvml):
    from harness.energy.nvml import gpu_memory_bandwidth_gbs

    nvml([1], [1])
    # 2619 MHz x 5120 bits x 2 / 8 = 3352 GB/s (an H100 SXM's HBM3 is specified at 3.35 TB/s)
    assert gpu_memory_bandwidth_gbs(0) == pytest.approx(3352.3, rel=1e-3)


def _powercap(root, zones):
    for name, (energy_uj, range_uj) in zones.items():
        zone = root / name
        zone.mkdir(parents=True)
        (zone / "energy_uj").write_text(f"{energy_uj}\n")
        (zone / "max_energy_range_uj").write_text(f"{range_uj}\n")
        (zone / "name").write_text("package-0\n" if name.count(":") == 1 else "core\n")


def test_rapl_sums_packages_skips_subzones_and_handles_wrap(tmp_path):
    _powercap(tmp_path, {"intel-rapl:0": (262_143_000_000, 262_143_328_850),
                         "intel-rapl:1": (1_000_000, 262_143_328_850),
                         "intel-rapl:0:0": (5, 262_143_328_850)})
    reader = RaplReader(root=tmp_path)
    assert [z.name for z in reader.zones] == ["intel-rapl:0", "intel-rapl:1"]
    (tmp_path / "intel-rapl:0" / "energy_uj").write_text("2000000\n")   # wrapped: +328850 +2000000 uJ
    (tmp_path / "intel-rapl:1" / "energy_uj").write_text("4000000\n")   # +3 J
    assert reader.energy_j() == pytest.approx(0.32885 + 2.0 + 3.0)


def test_rapl_unreadable_is_a_meter_error(tmp_path):
    with pytest.raises(MeterError, match="no readable RAPL counter"):
        RaplReader(root=tmp_path)


def test_watts_per_core_table_and_default():
    assert watts_per_logical_cpu("AMD EPYC 7763 64-Core Processor")[0] == pytest.approx(280 / 128)
    assert watts_per_logical_cpu("Intel(R) Xeon(R) Processor") == (
        DEFAULT_W_PER_LOGICAL_CPU, "default 4 W per logical CPU (CPU model not in table)")


def test_mixed_sources_are_labelled_not_silently_summed(nvml):
    module = nvml([0], [0])
    meter = EnergyMeter([*nvml_readers(), EstimatedCpuReader(4.0, "test")])
    meter.begin("w")
    module.state["counters"][0] += 10_000
    total, label = window_total(meter.end("w"))
    meter.close()
    assert label == "estimated+nvml_counter" and total >= 10.0


def test_cpu_bandwidth_is_measured_over_threads_with_its_spread():
    from harness.energy.roofline import cpu_copy_bandwidth_gbs

    result = cpu_copy_bandwidth_gbs(threads=2, size_mib=32, repeats=5)
    assert result["threads"] == 2 and len(result["samples_gbs"]) == 5
    assert 0 < result["min_gbs"] <= result["median_gbs"] <= result["max_gbs"] == result["gbs"]
    assert "2 thread(s), best of 5" in result["method"]

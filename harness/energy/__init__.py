"""Energy meters: readers of cumulative energy per device, and windows the runner opens and closes.

Every figure carries its source label:

- `nvml_counter`  NVIDIA GPU total-energy counter (nvmlDeviceGetTotalEnergyConsumption, Volta and newer)
- `nvml_sampled`  NVIDIA GPU power samples (nvmlDeviceGetPowerUsage) at >= 10 Hz, integrated
- `rapl`          CPU package/DRAM energy counters under /sys/class/powercap (Intel RAPL, AMD's too)
- `estimated`     CPU power from TDP per logical CPU x this process's CPU time (not measured)
- `amdsmi`        AMD GPU energy accumulator (amdsmi_get_energy_count); `amdsmi_sampled`: its power, integrated
- `npu_smi`       Huawei Ascend NPU power from `npu-smi info -t power`, sampled and integrated
- `powermetrics`  Apple Silicon CPU + GPU + ANE energy from macOS powermetrics samples (needs root)
- `estimated (ecologits)`  an API request's energy and GWP as EcoLogits' min–max estimate (`ecologits`)
- `unavailable`   nothing can measure or estimate this model's energy

A window's energy is, per device, the difference of the counter between its opening and its closing.
Readings of different sources are kept apart; a total over several sources carries all their labels
(e.g. `estimated+nvml_counter`), so measured and estimated figures are never summed silently. The AMD,
Ascend and Apple readers (amd, ascend, apple) are written against their tools' documented interfaces and
tested at that seam; none has run on such hardware here.

Stage rule: it may import config, store, errors, host.
"""

from harness.energy.meter import (
    SOURCES,
    EnergyMeter,
    EnergyReader,
    MeterError,
    Reading,
    window_total,
)

__all__ = ["EnergyMeter", "EnergyReader", "MeterError", "Reading", "SOURCES", "window_total"]

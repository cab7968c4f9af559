"""Energy readers (one device's cumulative joules) and the meter that opens and closes windows over them.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError

SOURCES = ("nvml_counter", "nvml_sampled", "rapl", "estimated", "amdsmi", "amdsmi_sampled", "npu_smi", "powermetrics",
           "estimated (ecologits)", "unavailable")


class MeterError(HarnessError):
    """A vendor library or counter failed; the message says which device and why."""


class EnergyReader(ABC):
    """One device's cumulative energy, in joules, since the reader was opened."""

    device: str
    source: str

    @abstractmethod
    def energy_j(self) -> float:
        """Cumulative energy since the reader was opened (monotonic: wrap-around is handled inside)."""

    def close(self) -> None:  # noqa: B027 - optional hook: most readers hold nothing
        """Stop background work and release the vendor library."""


@dataclass(frozen=True)
class Reading:
    """Energy of one device over one window."""

    device: str
    source: str
    j: float

    def to_record(self) -> dict[str, Any]:
        return {"device": self.device, "source": self.source, "j": self.j}


class EnergyMeter:
    """Several readers measured together over begin/end windows (a window per request, per model, ...)."""

    def __init__(self, readers: list[EnergyReader]) -> None:
        self.readers = readers
        self._open: dict[str, tuple[float, list[float]]] = {}

    @property
    def sources(self) -> list[str]:
        """Labels of the readers, or `unavailable` when there are none."""
        return sorted({r.source for r in self.readers}) or ["unavailable"]

    def begin(self, key: str) -> None:
        """Open a window named `key`."""
        self._open[key] = (time.perf_counter(), [r.energy_j() for r in self.readers])

    def end(self, key: str) -> dict[str, Any] | None:
        """Close window `key`: its length and one reading per device; None when nothing measures energy."""
        t0, starts = self._open.pop(key)
        ends = [r.energy_j() for r in self.readers]
        window_s = time.perf_counter() - t0
        if not self.readers:
            return None
        readings = [Reading(r.device, r.source, max(e - s, 0.0)) for r, s, e in zip(self.readers, starts, ends)]
        return {"window_s": window_s, "readings": [x.to_record() for x in readings]}

    def idle_power(self, seconds: float) -> dict[str, Any] | None:
        """Measure each device's power while this process sleeps for `seconds` (the idle baseline)."""
        if not self.readers or seconds <= 0:
            return None
        self.begin("__idle__")
        time.sleep(seconds)
        window = self.end("__idle__")
        return {"window_s": window["window_s"],
                "readings": [{"device": r["device"], "source": r["source"], "w": r["j"] / window["window_s"]}
                             for r in window["readings"]]}

    def close(self) -> None:
        for reader in self.readers:
            reader.close()


def window_total(window: dict[str, Any] | None) -> tuple[float | None, str]:
    """Total joules of a window and its label: the sources joined by '+', or `unavailable`."""
    if not window or not window.get("readings"):
        return None, "unavailable"
    readings = window["readings"]
    return sum(r["j"] for r in readings), "+".join(sorted({r["source"] for r in readings}))

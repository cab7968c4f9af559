"""CPU energy from the Linux powercap interface (/sys/class/powercap/intel-rapl:*), Intel's and AMD's RAPL.

Each top-level zone (`intel-rapl:N`, one per CPU package; its `-mmsr` twins excluded) has `energy_uj`, a
counter that wraps at `max_energy_range_uj`. The reader sums the package zones; a counter that went down
since the last read wrapped once, and the range is added. Reading often enough (every request, every
few seconds at worst) keeps a second wrap from going unseen: at 200 W a 262 kJ range lasts 22 minutes.
"""

from __future__ import annotations

from pathlib import Path

from harness.energy.meter import EnergyReader, MeterError

POWERCAP_ROOT = Path("/sys/class/powercap")


def package_zones(root: Path = POWERCAP_ROOT) -> list[Path]:
    """Top-level RAPL package zones under `root` whose counter is readable."""
    zones = []
    for zone in sorted(root.glob("intel-rapl:*")):
        if zone.name.count(":") != 1:  # sub-zones (core, uncore, dram) are inside their package
            continue
        try:
            int((zone / "energy_uj").read_text())
        except (OSError, ValueError):
            continue
        zones.append(zone)
    return zones


class RaplReader(EnergyReader):
    """Sum of the CPU package counters, in joules, since the reader was opened."""

    source = "rapl"
    device = "cpu"

    def __init__(self, root: Path = POWERCAP_ROOT) -> None:
        self.zones = package_zones(root)
        if not self.zones:
            raise MeterError(f"no readable RAPL counter under {root}")
        self._range_uj = [int((z / "max_energy_range_uj").read_text()) for z in self.zones]
        self._last = [self._raw(z) for z in self.zones]
        self._total_uj = 0

    @staticmethod
    def _raw(zone: Path) -> int:
        try:
            return int((zone / "energy_uj").read_text())
        except (OSError, ValueError) as exc:
            raise MeterError(f"cannot read {zone / 'energy_uj'}: {exc}") from None

    def energy_j(self) -> float:
        for index, zone in enumerate(self.zones):
            now = self._raw(zone)
            delta = now - self._last[index]
            if delta < 0:  # wrapped around
                delta += self._range_uj[index]
            self._total_uj += delta
            self._last[index] = now
        return self._total_uj / 1e6

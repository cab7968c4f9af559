"""Huawei Ascend NPU energy from `npu-smi` power readings, sampled and integrated (`npu_smi`).

npu-smi has no energy counter: `npu-smi info -t power -i ID [-c CHIP]` prints the present power as a
`Name : value` line — `NPU Real-time Power(W)` on Atlas 300I Duo (310P) and 910 boards, `Power
Dissipation(W)` on others. (`Rated Power Dissipation(W)`, the Ascend 310's rated figure, is not a reading
and is not taken.) The reader runs it every 1 / `sample_hz` seconds on a thread (each call takes
tens of milliseconds, so reads extend the last sample to now instead of calling again) and integrates
the watts. Devices come from `npu-smi info -l` (`NPU ID : N`, `Chip Count : M`). Not run on Ascend
hardware here: tested with npu-smi output in its documented format (docs/guides/energy-cost-carbon.md).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable

from harness.energy.meter import EnergyReader, MeterError
from harness.energy.sampling import SampledPowerReader

Runner = Callable[[list[str]], str]
POWER_KEYS = ("NPU Real-time Power(W)", "Power Dissipation(W)", "Real-time Power(W)", "Power(W)")
_LINE = re.compile(r"^\s*(?P<key>[^:]+?)\s*:\s*(?P<value>.*?)\s*$")


def run_npu_smi(args: list[str]) -> str:
    """Run `npu-smi ARGS` and return its output; MeterError when it is missing or fails."""
    binary = shutil.which("npu-smi")
    if binary is None:
        raise MeterError("npu-smi not found on PATH (it comes with the Ascend driver)")
    try:
        done = subprocess.run([binary, *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MeterError(f"npu-smi {' '.join(args)} failed: {exc}") from None
    if done.returncode != 0:
        raise MeterError(f"npu-smi {' '.join(args)} exited {done.returncode}: {(done.stderr or done.stdout).strip()[:200]}")
    return done.stdout


def _fields(text: str) -> list[tuple[str, str]]:
    return [(m["key"], m["value"]) for m in map(_LINE.match, text.splitlines()) if m]


def parse_power_w(text: str) -> float:
    """Watts from `npu-smi info -t power` output; MeterError when no power line has a number."""
    fields = dict(_fields(text))
    for key in POWER_KEYS:
        value = fields.get(key)
        if value is not None:
            try:
                return float(value)
            except ValueError:
                raise MeterError(f"npu-smi reports {key} as {value!r}") from None
    raise MeterError(f"no power reading in npu-smi output: {text.strip()[:200]!r}")


def parse_devices(text: str) -> list[tuple[int, int]]:
    """(NPU ID, chip index) pairs from `npu-smi info -l` output; one chip when Chip Count is absent."""
    devices: list[tuple[int, int]] = []
    npu_id = None
    for key, value in _fields(text):
        if key == "NPU ID":
            if npu_id is not None:
                devices.append((npu_id, 0))
            npu_id = int(value)
        elif key == "Chip Count" and npu_id is not None:
            devices.extend((npu_id, chip) for chip in range(int(value)))
            npu_id = None
    if npu_id is not None:
        devices.append((npu_id, 0))
    return list(dict.fromkeys(devices))  # some drivers repeat an NPU ID line per chip block


class NpuSmiReader(SampledPowerReader):
    """One Ascend NPU chip's power from npu-smi, sampled on a thread and integrated, in joules."""

    source = "npu_smi"
    fresh_on_read = False

    def __init__(self, npu_id: int, chip: int = 0, sample_hz: float = 5.0, runner: Runner = run_npu_smi,
                 multi_chip: bool = False) -> None:
        self.npu_id, self.chip, self.runner = npu_id, chip, runner
        self.device = f"npu{npu_id}" + (f".{chip}" if multi_chip else "")
        self._args = ["info", "-t", "power", "-i", str(npu_id)] + (["-c", str(chip)] if multi_chip else [])
        super().__init__(sample_hz)

    def power_w(self) -> float:
        return parse_power_w(self.runner(self._args))


def ascend_readers(npu_ids: list[int] | None = None, sample_hz: float = 5.0,
                   runner: Runner = run_npu_smi) -> list[EnergyReader]:
    """One reader per Ascend chip that npu-smi lists (or the chips of `npu_ids`)."""
    devices = parse_devices(runner(["info", "-l"]))
    if not devices:
        raise MeterError("npu-smi lists no NPU")
    chips: dict[int, int] = {}
    for npu_id, _ in devices:
        chips[npu_id] = chips.get(npu_id, 0) + 1
    wanted = [d for d in devices if npu_ids is None or d[0] in npu_ids]
    if not wanted:
        raise MeterError(f"npu-smi lists no NPU with id in {npu_ids} (it lists {sorted(chips)})")
    return [NpuSmiReader(npu_id, chip, sample_hz, runner, chips[npu_id] > 1) for npu_id, chip in wanted]

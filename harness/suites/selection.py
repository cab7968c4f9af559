"""Which items of a suite a run takes: all, the first N (`--limit`), a seeded sample (`--sample N --seed S`,
stratified by subject where the suite has subjects), a subject filter (`--subject`), and the number of
few-shot exemplars (`--shots`). The selection is recorded in the manifest and changes the suite's hash.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import asdict, dataclass

from harness.errors import InputError


@dataclass(frozen=True)
class Selection:
    """The command line's choice of items and exemplars; all None means the whole suite as written."""

    limit: int | None = None
    sample: int | None = None
    seed: int = 0
    shots: int | None = None
    subjects: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.limit is not None and self.sample is not None:
            raise InputError("--limit and --sample: give one of them, not both")
        for flag, value in (("--limit", self.limit), ("--sample", self.sample)):
            if value is not None and value < 1:
                raise InputError(f"{flag}: must be at least 1, got {value}")
        if self.shots is not None and self.shots < 0:
            raise InputError(f"--shots: must be 0 or more, got {self.shots}")

    @property
    def is_default(self) -> bool:
        return self.limit is None and self.sample is None and self.shots is None and not self.subjects

    def to_record(self) -> dict:
        """The selection as plain JSON (what the manifest keeps, and what `--resume` rebuilds it from)."""
        data = asdict(self)
        data["subjects"] = list(self.subjects) if self.subjects else None
        return data

    @classmethod
    def from_record(cls, data: dict | None) -> Selection:
        data = dict(data or {})
        subjects = data.get("subjects")
        return cls(limit=data.get("limit"), sample=data.get("sample"), seed=data.get("seed", 0),
                   shots=data.get("shots"), subjects=tuple(subjects) if subjects else None)


def _quotas(counts: dict[str, int], n: int) -> dict[str, int]:
    """Proportional allocation of `n` over strata, remainders by largest fraction (ties by name)."""
    total = sum(counts.values())
    exact = {s: n * c / total for s, c in counts.items()}
    quotas = {s: int(v) for s, v in exact.items()}
    left = n - sum(quotas.values())
    for stratum in sorted(counts, key=lambda s: (-(exact[s] - quotas[s]), s))[:left]:
        quotas[stratum] += 1
    return quotas


def select_positions(strata: list[str | None], selection: Selection) -> list[int]:
    """Positions (in order) of the items a selection keeps, given each item's stratum (None: no strata).

    `--limit N` keeps the first N; `--sample N` draws N with the seed — within each stratum in proportion
    to its size when items have strata — so the same seed always gives the same items, whatever else runs."""
    positions = list(range(len(strata)))
    if selection.limit is not None:
        return positions[: selection.limit]
    if selection.sample is None or selection.sample >= len(positions):
        return positions
    groups: dict[str, list[int]] = defaultdict(list)
    for position, stratum in zip(positions, strata):
        groups[stratum or ""].append(position)
    chosen: list[int] = []
    for stratum, quota in _quotas({s: len(g) for s, g in groups.items()}, selection.sample).items():
        chosen += random.Random(f"{selection.seed}/{stratum}").sample(groups[stratum], quota)
    return sorted(chosen)


def describe(n_selected: int, n_total: int) -> str:
    """'164 items', or 'sample of 20 of 164' when a selection took part of the suite."""
    return f"{n_total} items" if n_selected == n_total else f"sample of {n_selected} of {n_total}"

"""`RunSpec`: everything a run needs, validated once, whoever starts the run.

The command line only turns flags into a `RunSpec` (`harness.cli.commands.run`); Python callers build one
directly and pass it to `harness.execution`. The manifest records the spec's dump under `settings.spec`, so a
run says exactly what it was asked to do. Values out of range are refused with an `InputError` naming the
setting (and, from the command line, its flag).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from harness.analysis.load_levels import parse_slos
from harness.cost.local import CostOverrides
from harness.energy.meter_setup import ENERGY_CHOICES, EnergySettings
from harness.errors import InputError
from harness.execution.capacity_search import CapacitySearch, parse_capacity_profile
from harness.execution.loadgen import Level, parse_profile
from harness.execution.rate_search import LevelSearch, RateSearch

EnergyChoice = Literal[ENERGY_CHOICES]  # type: ignore[valid-type]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EnergySpec(_Spec):
    """How energy is measured: which readers, the idle baseline, the CPU estimate's watts per core."""

    meter: EnergyChoice = Field(default="auto", description="auto, or insist on one reader")
    idle_s: float = Field(default=3.0, ge=0, le=600, description="idle baseline per model, seconds (0: none)")
    cpu_w_per_core: float | None = Field(default=None, gt=0, description="watts per logical CPU (CPU estimate)")
    gpu_indices: list[int] | None = Field(default=None, description="GPUs to meter (default: those the model uses)")

    def settings(self) -> EnergySettings:
        """The settings object the meters are built from."""
        return EnergySettings(meter=self.meter, idle_s=self.idle_s, cpu_w_per_core=self.cpu_w_per_core,
                              gpu_indices=list(self.gpu_indices) if self.gpu_indices is not None else None)


class CostSpec(_Spec):
    """Local cost-model values that override models.yaml and the defaults for every local model."""

    electricity_usd_per_kwh: float | None = Field(default=None, ge=0)
    pue: float | None = Field(default=None, ge=1, description="power usage effectiveness")
    hardware_usd_per_hour: float | None = Field(default=None, ge=0, description="amortised or rented")
    utilisation: float | None = Field(default=None, gt=0, le=1, description="share of the day the hardware is busy")

    def overrides(self) -> CostOverrides:
        """The overrides object the local cost model reads."""
        return CostOverrides(self.electricity_usd_per_kwh, self.pue, self.hardware_usd_per_hour, self.utilisation)


class RunSpec(_Spec):
    """One run: which suites on which models, how often, under which load, measured and priced how, and
    where its outputs go."""

    suites: list[str] = Field(default_factory=list, description="suite names or files (default: smoke, "
                              "unless a workload is given)")
    workload: str | None = Field(default=None, description="a synthetic workload spec (in=..,out=..) or trace=FILE")
    models_file: Path | None = Field(default=None, description="default: $HARNESS_MODELS or ./models.yaml")
    only: list[str] | None = Field(default=None, description="run only these models")
    limit: int | None = Field(default=None, ge=1, description="the first N items of each suite")
    sample: int | None = Field(default=None, ge=1, description="N items drawn with `seed`")
    seed: int = Field(default=0, description="seed of `sample`")
    subjects: list[str] | None = Field(default=None, description="only these subjects")
    shots: int | None = Field(default=None, ge=0, description="few-shot exemplars per item")
    repeat: int = Field(default=1, ge=1, description="run each task N times")
    profile: str | None = Field(default=None, description="load profile: synchronous | concurrent:N | sweep:.. | "
                                "poisson:RATE[:BURSTINESS] | capacity[:pNN][:MAX] | capacity:rate[:pNN][:MAX_RPS]")
    slo: str | None = Field(default=None, description="service-level objectives: ttft_ms=..,itl_ms=..,e2e_ms=..")
    energy: EnergySpec = Field(default_factory=EnergySpec)
    cost: CostSpec = Field(default_factory=CostSpec)
    judge: str | None = Field(default=None, description="models.yaml entry that grades judged tasks")
    client_processes: int | None = Field(default=None, ge=1, description="client processes per load level")
    client_watch_lag_ms: float = Field(default=10.0, gt=0, description="the load generator's event-loop lag p99 "
                                       "(ms) above which a level is flagged (and, with the client processes chosen "
                                       "by the harness, run again with more)")
    ray: str | None = Field(default=None, description="Ray cluster address (host:port or auto)")
    code_isolation: Literal["best-effort", "required"] = Field(
        default="best-effort", description="model-written code: 'required' refuses to run it without user and "
        "network namespaces (docs/code-sandbox.md)")
    tier: Literal["batch", "flex", "priority"] | None = Field(
        default=None, description="also project API costs in this service tier beside the list price")
    out_dir: Path = Field(default=Path("results"), description="folder for run outputs")
    report_dir: Path = Field(default=Path("reports"), description="where the HTML report goes")
    write_report: bool = Field(default=True, description="write the HTML report at the end")

    @field_validator("profile")
    @classmethod
    def _profile_parses(cls, value: str | None) -> str | None:
        if value is not None and parse_capacity_profile(value) is None:
            parse_profile(value)  # InputError naming the form
        return value

    @field_validator("slo")
    @classmethod
    def _slo_parses(cls, value: str | None) -> str | None:
        parse_slos(value)
        return value

    def suite_names(self) -> list[str]:
        """The suites to load: the given ones, else smoke (none when only a workload is given)."""
        return list(self.suites) or ([] if self.workload else ["smoke"])

    def levels(self) -> list[Level]:
        """The fixed load levels of `profile` (none: one request at a time, or a capacity search)."""
        return parse_profile(self.profile) if self.profile and self.capacity_search() is None else []

    def capacity_search(self) -> LevelSearch | None:
        """The search of a `capacity[:pNN][:MAX]` (closed loop) or `capacity:rate[:pNN][:MAX_RPS]` (open loop)
        profile, which picks its levels as it measures them."""
        return capacity_search_for(self.profile, self.slos()) if self.profile else None

    def slos(self) -> dict[str, float]:
        """The SLO limits, in seconds, by metric column."""
        return parse_slos(self.slo)

    def settings_dump(self) -> dict[str, Any]:
        """The spec as the manifest records it (JSON types only)."""
        return self.model_dump(mode="json")


def capacity_search_for(profile: str, slos: dict[str, float]) -> LevelSearch | None:
    """The capacity search a `--profile` value asks for; None for a profile of fixed levels."""
    found = parse_capacity_profile(profile)
    if found is None:
        return None
    mode, percentile, most = found
    return RateSearch(slos, percentile, most) if mode == "rate" else CapacitySearch(slos, percentile, int(most))


def build_spec(values: dict[str, Any], flags: dict[str, str] | None = None) -> RunSpec:
    """A validated `RunSpec` from plain values; `InputError` naming the setting (or its flag in `flags`,
    keyed by the dotted setting name) and the value when one is out of range."""
    try:
        return RunSpec.model_validate(values)
    except InputError:
        raise
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        dotted = ".".join(str(part) for part in first["loc"])
        name = (flags or {}).get(dotted, dotted)
        cause = first.get("ctx", {}).get("error")
        if isinstance(cause, InputError):
            raise cause from None
        message = first["msg"].removeprefix("Value error, ")
        message = message[:1].lower() + message[1:]
        if first["type"] == "extra_forbidden":
            raise InputError(f"{name}: unknown setting") from None
        raise InputError(f"{name} {first.get('input')}: {message}") from None

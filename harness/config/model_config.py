"""models.yaml: the strict schema of model entries, and its loader.

Validation is strict (unknown keys rejected, types checked, no coercion of strings into numbers) and every
error names the file, the model entry and the key, so a run stops before any model loads.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, model_validator

from harness.config.engines import BASE_URL, ENGINES
from harness.config.providers import OPENAI_COMPATIBLE

# re-exported: suites read and report their files with them too

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
HF_REPO_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$"
OLLAMA_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"


class StrictModel(BaseModel):
    """Base of every config class: unknown keys are errors, values are not coerced between types."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _resolve_path(value: Any, info: ValidationInfo) -> Any:
    """A path written in a config file is relative to that file's folder."""
    if isinstance(value, str):
        value = Path(value).expanduser()
    base_dir = (info.context or {}).get("base_dir")
    if isinstance(value, Path) and not value.is_absolute() and base_dir is not None:
        value = Path(base_dir) / value
    return value


ConfigPath = Annotated[Path, BeforeValidator(_resolve_path)]


class HardwareCost(StrictModel):
    """Bought hardware, amortised over its lifetime at a stated utilisation."""

    name: str
    price_usd: float = Field(gt=0)
    lifetime_years: float = Field(gt=0)
    utilisation: float = Field(gt=0, le=1)
    embodied_kgco2e: float | None = Field(default=None, ge=0, description="manufacturing emissions, amortised like the price")


class LocalCost(StrictModel):
    """Cost inputs for a model run on your own hardware (used by the local cost model)."""

    electricity_usd_per_kwh: float | None = Field(default=None, ge=0)
    pue: float | None = Field(default=None, ge=1)
    hardware: HardwareCost | None = None
    usd_per_hour: float | None = Field(default=None, ge=0)
    grid_gco2_per_kwh: float | None = Field(default=None, ge=0, description="grid carbon intensity")
    grid_zone: str | None = Field(default=None, pattern=r"^[A-Z]{3}$",
                                  description="ISO 3166-1 alpha-3 zone in EcoLogits' electricity-mix data (WOR: world)")

    @model_validator(mode="after")
    def _one_hardware_source(self) -> LocalCost:
        if self.hardware is not None and self.usd_per_hour is not None:
            raise ValueError("give either 'hardware' (bought) or 'usd_per_hour' (rented), not both")
        if self.grid_gco2_per_kwh is not None and self.grid_zone is not None:
            raise ValueError("give either 'grid_gco2_per_kwh' or 'grid_zone', not both")
        if self.grid_zone is not None:
            _known_zone(self.grid_zone)
        return self


def _known_zone(zone: str) -> None:
    """A grid zone must be in EcoLogits' bundled electricity-mix data (checked when EcoLogits is installed)."""
    try:
        from ecologits.electricity_mix_repository import electricity_mixes
    except ImportError:
        return  # the carbon figures say so at run time
    if electricity_mixes.find_electricity_mix(zone) is None:
        raise ValueError(f"grid_zone '{zone}' is not in EcoLogits' electricity-mix data (e.g. FRA, USA, DEU; WOR)")


class TokenPrices(StrictModel):
    """Per-million-token prices that override the bundled price data; must say where they come from."""

    input_usd_per_mtok: float = Field(ge=0)
    output_usd_per_mtok: float = Field(ge=0)
    cached_input_usd_per_mtok: float | None = Field(default=None, ge=0)
    cache_write_usd_per_mtok: float | None = Field(default=None, ge=0)
    cache_write_1h_usd_per_mtok: float | None = Field(default=None, ge=0)
    source: str = Field(min_length=1)
    as_of: dt.date


def check_weights_source(cfg: Any, sources: tuple[str, ...]) -> None:
    """Exactly one weights source, and `file`, `assemble`, `revision` only with the sources they belong to."""
    given = [key for key in sources if getattr(cfg, key, None) is not None]
    if len(given) != 1:
        raise ValueError(f"give exactly one weights source: {', '.join(map(repr, sources))}"
                         + (f" (got {', '.join(given)})" if given else ""))
    if cfg.file is not None and given[0] not in ("package", "hf"):
        raise ValueError("'file' only applies with 'package' or 'hf'")
    if cfg.assemble and given[0] != "package":
        raise ValueError("'assemble' only applies with 'package'")
    if cfg.revision is not None and given[0] != "hf":
        raise ValueError("'revision' only applies with 'hf'")


# KV cache types llama.cpp accepts (common/arg.cpp kv_cache_types), by ggml's names.
KvCacheType = Literal["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1"]


def _yaml_switch(value: Any) -> Any:
    """YAML 1.1 reads a bare `on`/`off` as a boolean: take it as the word that was written."""
    return ("on" if value else "off") if isinstance(value, bool) else value


FlashAttn = Annotated[Literal["auto", "on", "off"], BeforeValidator(_yaml_switch)]


# What a local model's session asks of a Ray cluster node with `harness run --ray` (CPU, GPU, memory in bytes,
# or a custom resource the node was started with); ignored without --ray.
RayResources = dict[Annotated[str, Field(min_length=1)], Annotated[float, Field(gt=0)]]


class LocalKindDefaults:
    """What API kinds configure and an in-process model does not, declared so that every model config answers
    the same attribute reads (the execution stage reads these on any kind)."""

    launch: ClassVar[None] = None
    self_hosted: ClassVar[bool] = False
    provider: ClassVar[None] = None
    ecologits_model: ClassVar[None] = None
    max_tokens_param: ClassVar[None] = None
    max_attempts: ClassVar[int] = 1
    concurrency: ClassVar[int] = 1


class LlamaCppModel(LocalKindDefaults, StrictModel):
    """A GGUF model run in-process by llama-cpp-python."""

    name: str = Field(pattern=NAME_PATTERN)
    kind: Literal["llama_cpp"]
    model_dir: ClassVar[None] = None
    description: str | None = None
    # Source of the weights: a file, a Python distribution that ships one, a Hub repo, or Ollama's store.
    path: ConfigPath | None = None
    package: str | None = None
    hf: str | None = Field(default=None, pattern=HF_REPO_PATTERN, description="a Hugging Face Hub repo, org/name")
    ollama: str | None = Field(default=None, pattern=OLLAMA_NAME_PATTERN, description="a model in Ollama's store")
    file: str | None = Field(default=None, description="name or glob of the GGUF inside `package` or `hf`")
    revision: str | None = Field(default=None, min_length=1, description="branch, tag or commit of `hf`")
    assemble: bool = Field(default=False, description="call the package's assemble() to rebuild the GGUF")
    # Prompting.
    prompt_style: Literal["chat", "completion"] = "chat"
    chat_format: str | None = None
    stop: list[str] = Field(default_factory=list)
    # Runtime options; the defaults are llama.cpp's own (llama_context_default_params), except n_ctx,
    # n_batch and n_gpu_layers, which the harness has always set.
    n_threads: int | None = Field(default=None, ge=1)
    n_threads_batch: int | None = Field(default=None, ge=1, description="threads for prefill (default: n_threads)")
    n_gpu_layers: int = Field(default=0, ge=-1)
    n_ctx: int = Field(default=2048, ge=16)
    n_batch: int = Field(default=512, ge=1)
    n_ubatch: int = Field(default=512, ge=1, description="physical batch size (at most n_batch)")
    flash_attn: FlashAttn = "auto"
    type_k: KvCacheType = "f16"
    type_v: KvCacheType = "f16"
    offload_kqv: bool = True
    use_mmap: bool = True
    use_mlock: bool = False
    main_gpu: int = Field(default=0, ge=0)
    split_mode: Literal["none", "layer", "row"] = "layer"
    tensor_split: list[Annotated[float, Field(ge=0)]] | None = None
    seed: int = Field(default=0, ge=0)
    parallel: int = Field(default=1, ge=1, le=256, description="sequences decoded together in one context "
                          "(continuous batching; n_ctx is shared between them)")
    cost: LocalCost | None = None
    resources: RayResources | None = None

    @model_validator(mode="after")
    def _check_source_and_prompting(self) -> LlamaCppModel:
        check_weights_source(self, ("path", "package", "hf", "ollama"))
        if self.prompt_style == "completion" and self.chat_format is not None:
            raise ValueError("'chat_format' does not apply with prompt_style: completion")
        if self.n_ubatch > self.n_batch:
            raise ValueError(f"'n_ubatch' ({self.n_ubatch}) must not exceed 'n_batch' ({self.n_batch})")
        if self.type_v not in ("f32", "f16", "bf16") and self.flash_attn == "off":
            raise ValueError(f"'type_v: {self.type_v}' (a quantized V cache) needs flash_attn auto or on, not off")
        return self


class TransformersModel(LocalKindDefaults, StrictModel):
    """A model run in-process by Hugging Face transformers on torch: a local model folder, or a GGUF file
    dequantised through `gguf_file=` (converted once and cached by the GGUF's sha256)."""

    name: str = Field(pattern=NAME_PATTERN)
    kind: Literal["transformers"]
    description: str | None = None
    model_dir: ConfigPath | None = Field(default=None, description="a local Hugging Face model folder")
    path: ConfigPath | None = None
    package: str | None = None
    hf: str | None = Field(default=None, pattern=HF_REPO_PATTERN, description="a Hub repo: the full model, or "
                           "with `file` a GGUF in it")
    ollama: str | None = Field(default=None, pattern=OLLAMA_NAME_PATTERN)
    file: str | None = None
    revision: str | None = Field(default=None, min_length=1)
    assemble: bool = False
    device: str = Field(default="cpu", pattern=r"^(cpu|cuda|cuda:\d+|auto)$")
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "float32"
    attn_implementation: str | None = None
    # CUDA settings, off by default: a static (preallocated) KV cache, and torch.compile of the forward pass
    cache_implementation: Literal["dynamic", "static"] = "dynamic"
    compile: bool = False
    prompt_style: Literal["chat", "completion"] = "chat"
    stop: list[str] = Field(default_factory=list)
    n_threads: int | None = Field(default=None, ge=1)
    seed: int = Field(default=0, ge=0)
    parallel: int = Field(default=1, ge=1, le=256, description="requests decoded together by one engine thread "
                          "(continuous batching, greedy; a dynamic KV cache, no compile)")
    cost: LocalCost | None = None
    resources: RayResources | None = None

    @model_validator(mode="after")
    def _one_source(self) -> TransformersModel:
        check_weights_source(self, ("model_dir", "path", "package", "hf", "ollama"))
        if self.device == "cpu" and (self.compile or self.cache_implementation == "static"):
            raise ValueError("'compile' and 'cache_implementation: static' are CUDA settings; device is cpu")
        if self.parallel > 1 and (self.compile or self.cache_implementation == "static"):
            raise ValueError(f"'parallel: {self.parallel}' decodes with a dynamic KV cache: it does not go with "
                             "'compile' or 'cache_implementation: static'")
        return self


class GGUFSource(StrictModel):
    """A GGUF file given by path or by the distribution that ships it (used for tokenizers)."""

    name: str = "tokenizer"
    path: ConfigPath | None = None
    package: str | None = None
    hf: str | None = Field(default=None, pattern=HF_REPO_PATTERN)
    ollama: str | None = Field(default=None, pattern=OLLAMA_NAME_PATTERN)
    file: str | None = None
    revision: str | None = Field(default=None, min_length=1)
    assemble: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> GGUFSource:
        check_weights_source(self, ("path", "package", "hf", "ollama"))
        return self


class ApiModel(StrictModel):
    """Fields shared by models reached over an HTTP API."""

    name: str = Field(pattern=NAME_PATTERN)
    description: str | None = None
    model: str = Field(min_length=1, description="the provider's model id")
    base_url: str | None = None
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    price_provider: str | None = Field(default=None, description="genai-prices provider id, if not the preset's")
    temperature: float | None = Field(default=0.0, ge=0, le=2)
    stop: list[str] = Field(default_factory=list)
    timeout_s: float = Field(default=120.0, gt=0)
    deadline_s: float = Field(default=900.0, gt=0, description="a streamed request's total time limit on the load "
                              "client, however steadily bytes come (timeout_s bounds each wait)")
    max_attempts: int = Field(default=5, ge=1, le=20)
    concurrency: int = Field(default=1, ge=1, le=1024)
    max_tokens_floor: int | None = Field(default=None, ge=1, description="output budget at least this (reasoning models)")
    cost: TokenPrices | None = None
    ecologits_model: str | None = Field(default=None, pattern=r"^[a-z_]+/.+$",
                                        description="EcoLogits provider/model, when the mapping does not find it")
    tier: Literal["standard", "batch", "flex", "priority"] = Field(
        default="standard", description="service tier the requests are priced in (harness.cost.service_tiers)")


class LaunchConfig(StrictModel):
    """How the harness starts a self-hosted server, waits for it, and stops it at the end: an engine preset
    (`engine`, `model`, `args`, `gpus`; see `harness.config.engines`) or a hand-written `command`.

    In `command`, `{python}` is this Python, `{port}` a free port (also put into `base_url`), and
    `{gguf:DIST}` the GGUF shipped by the Python distribution DIST."""

    command: list[str] | None = Field(default=None, min_length=1)
    engine: Literal[ENGINES] | None = None  # type: ignore[valid-type]
    model: str | GGUFSource | None = Field(default=None, union_mode="left_to_right",
                                           description="what the engine serves: a repo id, a path, or a source")
    args: list[str] = Field(default_factory=list, description="appended to the preset's command")
    gpus: list[Annotated[int, Field(ge=0)]] | None = Field(default=None, min_length=1)
    env: dict[str, str] = Field(default_factory=dict)
    ready_url: str | None = Field(default=None, description="polled until it answers 200 (default: base_url/models)")
    timeout_s: float = Field(default=180.0, gt=0)

    @model_validator(mode="after")
    def _command_or_engine(self) -> LaunchConfig:
        if (self.command is None) == (self.engine is None):
            raise ValueError("give either 'engine' (a preset: " + ", ".join(ENGINES) + ") or 'command'")
        if self.command is not None and (self.model is not None or self.args or self.gpus):
            raise ValueError("'model', 'args' and 'gpus' belong to an 'engine' preset, not to 'command'")
        if self.engine not in (None, "ollama") and self.model is None:
            raise ValueError(f"engine {self.engine} needs 'model' (what it serves)")
        return self


class OpenAIModel(ApiModel):
    """Any OpenAI-compatible Chat Completions endpoint: a provider preset, or a `base_url`. A `self_hosted`
    one is priced by the local cost model (energy + hardware) instead of per-token prices."""

    kind: Literal["openai"]
    # What local kinds configure and an API does not (see LlamaCppModel).
    n_threads: ClassVar[None] = None
    model_dir: ClassVar[None] = None
    resources: ClassVar[None] = None
    hf: ClassVar[None] = None
    ollama: ClassVar[None] = None
    self_hosted: bool = False
    launch: LaunchConfig | None = None
    cost: TokenPrices | LocalCost | None = Field(default=None, union_mode="left_to_right")
    provider: Literal[tuple(OPENAI_COMPATIBLE)] | None = None  # type: ignore[valid-type]
    prompt_style: Literal["chat", "completion"] = "chat"
    max_tokens_param: Literal["max_tokens", "max_completion_tokens"] | None = None
    max_stop_strings: int | None = Field(default=None, ge=1, description="stop strings the API takes at most "
                                         "(OpenAI: 4, the preset's default); the rest are cut client-side")
    extra_body: dict[str, Any] | None = None
    tokenizer: GGUFSource | None = Field(default=None, description="counts tokens when the stream has no usage")

    @model_validator(mode="before")
    @classmethod
    def _engine_base_url(cls, data: Any) -> Any:
        """An engine preset serves on 127.0.0.1:{port}/v1 unless `base_url` says otherwise."""
        launch = data.get("launch") if isinstance(data, dict) else None
        if isinstance(launch, dict) and launch.get("engine") and "base_url" not in data:
            return {**data, "base_url": BASE_URL}
        return data

    @model_validator(mode="after")
    def _provider_or_base_url(self) -> OpenAIModel:
        if self.provider is None and self.base_url is None:
            raise ValueError(f"give 'provider' (one of: {', '.join(OPENAI_COMPATIBLE)}) or 'base_url'")
        if self.provider is not None and OPENAI_COMPATIBLE[self.provider].base_url is None and self.base_url is None:
            raise ValueError(f"provider {self.provider} needs 'base_url' (your resource's endpoint)")
        if self.launch is not None and (self.base_url is None or not self.self_hosted):
            raise ValueError("'launch' needs 'base_url' and self_hosted: true (the harness runs that server)")
        if self.launch is not None and self.launch.engine == "ollama" and self.launch.model not in (None, self.model):
            raise ValueError("launch: Ollama serves its models under their own names: leave out 'launch.model' "
                             "and set 'model' to the Ollama name")
        if self.self_hosted and isinstance(self.cost, TokenPrices):
            raise ValueError("a self_hosted model is priced by the local cost model: give 'cost' as "
                             "electricity_usd_per_kwh, pue, hardware or usd_per_hour")
        if not self.self_hosted and isinstance(self.cost, LocalCost):
            raise ValueError("'cost' of an API model gives token prices (input_usd_per_mtok, output_usd_per_mtok, "
                             "source, as_of); set self_hosted: true to price by energy and hardware")
        return self


class AnthropicModel(ApiModel):
    """Anthropic's Messages API. Its current SDK lists no sampling parameters, so `temperature` is unset by
    default; when set, it is sent in the request body as given."""

    kind: Literal["anthropic"]
    # What local kinds configure and an API does not (see LlamaCppModel).
    n_threads: ClassVar[None] = None
    model_dir: ClassVar[None] = None
    resources: ClassVar[None] = None
    hf: ClassVar[None] = None
    ollama: ClassVar[None] = None
    prompt_style: ClassVar[str] = "chat"
    launch: ClassVar[None] = None
    self_hosted: ClassVar[bool] = False
    provider: ClassVar[None] = None
    max_tokens_param: ClassVar[None] = None
    temperature: float | None = Field(default=None, ge=0, le=1)


ModelConfig = LlamaCppModel | TransformersModel | OpenAIModel | AnthropicModel


def has_gguf_source(cfg: Any) -> bool:
    """Whether a model's weights are located (and hashed) by `harness.config.sources`: a GGUF given by `path`,
    `package`, `hf` or `ollama`, or a transformers model folder given by `hf`."""
    return any(getattr(cfg, key, None) is not None for key in ("path", "package", "hf", "ollama"))

"""Engine presets for self-hosted servers: `launch: {engine: ..., model: ..., args: [...], gpus: [...]}` expands
to the engine's documented start command, its readiness URL and its OpenAI-compatible base URL.

Every preset binds 127.0.0.1 on `{port}` (a free port chosen at start) and serves the entry's `model` name
(`--served-model-name`, `--alias`, `--model_alias`), so requests name the model as models.yaml does.
`gpus: [0, 1]` sets CUDA_VISIBLE_DEVICES and the engine's own flag for that many GPUs (tensor parallelism,
shards, or offloading every layer for llama.cpp). `args` are appended as given.

| engine | command | ready |
|---|---|---|
| vllm | `vllm serve MODEL --served-model-name NAME` | /health |
| sglang | `python -m sglang.launch_server --model-path MODEL --served-model-name NAME` | /health |
| llama-server | `llama-server -m GGUF --alias NAME --metrics` | /health |
| llama-cpp-python | `python -m llama_cpp.server --model GGUF --model_alias NAME` | /v1/models |
| tgi | `text-generation-launcher --model-id MODEL` | /health |
| ollama | `ollama serve` with OLLAMA_HOST=127.0.0.1:PORT (the model must be in Ollama's store) | /api/version |
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.errors import ModelSourceError

ENGINES = ("vllm", "sglang", "llama-server", "llama-cpp-python", "tgi", "ollama")
GGUF_ENGINES = ("llama-server", "llama-cpp-python")
HOST = "127.0.0.1"
BASE_URL = f"http://{HOST}:{{port}}/v1"


@dataclass(frozen=True)
class EnginePlan:
    """An expanded preset: command and env (still holding `{port}` and `{python}`), ready URL, weights facts."""

    command: list[str]
    env: dict[str, str]
    ready_url: str
    weights: dict[str, Any] | None = field(default=None)


def _model_argument(launch: Any, engine: str) -> tuple[str, list[str], dict[str, Any] | None]:
    """The model as the engine takes it, extra flags (a pinned revision), and the weights' manifest facts."""
    model = launch.model
    if isinstance(model, str):
        return model, [], None
    if engine in GGUF_ENGINES:  # a GGUF source, resolved (and fetched from the Hub if need be) like a model's
        from harness.config.sources import locate_weights

        weights = locate_weights(model)
        return str(weights.path), [], weights.describe()
    if model.hf is None or model.file is not None:
        raise ModelSourceError(f"launch: engine {engine} takes a Hugging Face repo (hf:, revision:) or a folder "
                               "path as its model, not a GGUF source")
    return model.hf, (["--revision", model.revision] if model.revision else []), {"hf": model.hf,
                                                                                  "revision": model.revision}


def expand_engine(launch: Any, served_name: str) -> EnginePlan:
    """The start command, environment and ready URL of `launch.engine` for the entry serving `served_name`."""
    engine, gpus = launch.engine, list(launch.gpus or [])
    env = {"CUDA_VISIBLE_DEVICES": ",".join(map(str, gpus))} if gpus else {}
    root = f"http://{HOST}:{{port}}"
    if engine == "ollama":
        # Ollama serves what its store holds, under its own names: the entry's model is that name.
        return EnginePlan(["ollama", "serve", *launch.args], {**env, "OLLAMA_HOST": f"{HOST}:{{port}}"},
                          f"{root}/api/version")
    model, revision, weights = _model_argument(launch, engine)
    listen = ["--host", HOST, "--port", "{port}"]
    n = len(gpus)
    if engine == "vllm":
        command = ["vllm", "serve", model, *listen, "--served-model-name", served_name, *revision]
        command += ["--tensor-parallel-size", str(n)] if n > 1 else []
        ready = f"{root}/health"
    elif engine == "sglang":
        command = ["{python}", "-m", "sglang.launch_server", "--model-path", model, *listen,
                   "--served-model-name", served_name, "--enable-metrics", *revision]
        command += ["--tp-size", str(n)] if n > 1 else []
        ready = f"{root}/health"
    elif engine == "tgi":
        command = ["text-generation-launcher", "--model-id", model, "--hostname", HOST, "--port", "{port}", *revision]
        command += ["--num-shard", str(n)] if n > 1 else []
        ready = f"{root}/health"
    elif engine == "llama-server":
        command = ["llama-server", "-m", model, *listen, "--alias", served_name, "--metrics"]
        command += ["--n-gpu-layers", "999"] if n else []
        ready = f"{root}/health"
    elif engine == "llama-cpp-python":
        command = ["{python}", "-m", "llama_cpp.server", "--model", model, *listen, "--model_alias", served_name]
        command += ["--n_gpu_layers", "-1"] if n else []
        ready = f"{root}/v1/models"
    else:
        raise ModelSourceError(f"launch: unknown engine {engine!r} (one of: {', '.join(ENGINES)})")
    return EnginePlan([*command, *launch.args], env, ready, weights)

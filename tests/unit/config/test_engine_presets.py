"""Engine presets for self-hosted servers: each expands to the engine's documented command line, and the
llama-cpp-python one launches for real, serving the SmolLM2 GGUF from a Hugging Face cache offline."""

from __future__ import annotations

import pytest

from harness.config.engines import expand_engine
from harness.config.models_file import load_models_config
from harness.errors import ConfigError
from tests.support.runs import write

REPO, COMMIT = "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF", "7e57" + "c" * 36


def _entries(tmp_path, text: str):
    return {m.name: m for m in load_models_config(write(tmp_path / "models.yaml", text)).models}


@pytest.mark.parametrize("launch, message", [
    ("{engine: vllm, command: [x]}", "give either 'engine'"),
    ("{command: [x], gpus: [0]}", "belong to an 'engine' preset"),
    ("{engine: vllm}", "engine vllm needs 'model'"),
    ("{engine: mlx, model: x}", "launch.engine"),
    ("{engine: ollama, model: other}", "Ollama serves its models under their own names"),
])
def test_bad_presets_name_the_key(tmp_path, launch, message):
    with pytest.raises(ConfigError) as error:
        _entries(tmp_path, f"models:\n  - {{name: m, kind: openai, model: x, self_hosted: true, launch: {launch}}}\n")
    assert "model 'm'" in str(error.value) and message in str(error.value)


def test_vllm_refuses_a_gguf_source(tmp_path):
    from harness.errors import ModelSourceError

    (model,) = _entries(tmp_path, """
        models:
          - {name: v, kind: openai, model: x, self_hosted: true, launch: {engine: vllm, model: {ollama: "llama3.2"}}}
        """).values()
    with pytest.raises(ModelSourceError, match="takes a Hugging Face repo"):
        expand_engine(model.launch, model.model)

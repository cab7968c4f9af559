"""EcoLogits estimates for API models (the real library and its bundled data, with the network blocked),
the harness-to-EcoLogits model mapping, and the local carbon model."""

from __future__ import annotations

import pytest

from harness.config.models_file import load_models_config
from harness.cost.carbon import (
    GridIntensity,
    carbon_break_even_tasks_per_day,
    local_gco2e_per_day,
    local_task_gco2e,
    resolve_grid,
)
from harness.energy import ecologits
from harness.errors import HarnessError
from tests.support.runs import write


@pytest.mark.parametrize("kind, provider, model, expected", [
    ("openai", "openai", "gpt-4o-mini", ("openai", "gpt-4o-mini", "exact")),
    ("openai", "openai", "GPT-4o-Mini", ("openai", "gpt-4o-mini", "lower-case")),
    # a dated id EcoLogits lists is kept; one it does not list maps to the undated model
    ("openai", "openai", "gpt-4o-2024-08-06", ("openai", "gpt-4o-2024-08-06", "exact")),
    ("openai", "openai", "gpt-4o-2031-01-01", ("openai", "gpt-4o", "undated")),
    ("anthropic", None, "claude-haiku-4-5-20991231", ("anthropic", "claude-haiku-4-5", "undated")),
    # EcoLogits' own aliases resolve (claude-sonnet-4-5 is its alias of the dated id)
    ("anthropic", None, "claude-sonnet-4-5", ("anthropic", "claude-sonnet-4-5", "exact")),
    ("openai", "azure_openai", "gpt-35-turbo", ("openai", "gpt-35-turbo", "exact")),
    ("openai", "gemini", "models/gemini-2.5-flash", ("google_genai", "gemini-2.5-flash", "prefix")),
    ("openai", "mistral", "mistral-large-latest", ("mistralai", "mistral-large-latest", "exact")),
    ("openai", "openrouter", "anthropic/claude-opus-4-6", ("anthropic", "claude-opus-4-6", "exact")),
])
def test_mapping_to_ecologits(kind, provider, model, expected):
    mapping = ecologits.resolve(kind, provider, model)
    assert (mapping.provider, mapping.model, mapping.method) == expected


@pytest.mark.parametrize("kind, provider, model, override, reason", [
    ("openai", "deepseek", "deepseek-chat", None, "has no provider for deepseek"),
    ("openai", "xai", "grok-4", None, "has no provider for xai"),
    ("openai", "openai", "gpt-nonexistent-9", None, "has no model 'gpt-nonexistent-9' for provider 'openai'"),
    ("openai", "openrouter", "meta-llama/llama-3.3-70b", None, "OpenRouter model of vendor 'meta-llama'"),
    ("openai", None, "whatever", None, "no provider preset"),
    ("openai", "openai", "gpt-4o", "openai/gpt-nope", "ecologits_model 'openai/gpt-nope'"),
])
def test_unknown_models_are_unavailable_with_the_reason(kind, provider, model, override, reason):
    mapping = ecologits.resolve(kind, provider, model, override)
    assert not mapping.available
    assert reason in mapping.reason
    assert ecologits.estimate(mapping, 100, 1.0) == {"source": "unavailable", "reason": mapping.reason}


def test_override_maps_a_self_named_endpoint():
    mapping = ecologits.resolve("openai", None, "my-llama", "huggingface_hub/openai/gpt-oss-20b")
    assert (mapping.provider, mapping.model, mapping.method) == ("huggingface_hub", "openai/gpt-oss-20b", "override")


def test_assumptions_name_version_pue_and_zone():
    manifest = ecologits.assumptions(ecologits.resolve("anthropic", None, "claude-sonnet-4-5"))
    assert manifest["ecologits_version"] == "0.11.3"
    assert manifest["datacenter_zone"] == "USA"
    assert manifest["datacenter_pue"] == {"min": 1.09, "max": 1.14}
    assert manifest["grid_gco2_per_kwh"] == pytest.approx(384.4)
    assert ecologits.assumptions(ecologits.resolve("openai", "groq", "x"))["source"] == "unavailable"


def write_models(folder, text):
    (folder / "x.gguf").write_bytes(b"GGUF")
    return write(folder / "models.yaml", text)


def test_grid_intensity_sources(tmp_path):
    default = resolve_grid(None)
    assert (default.basis, default.zone) == ("default", "WOR")
    assert default.gco2_per_kwh == pytest.approx(458.29)
    assert "default: world average WOR" in default.label
    config = load_models_config(write_models(tmp_path, """
        models:
          - {name: a, kind: llama_cpp, path: x.gguf, cost: {grid_zone: FRA}}
          - {name: b, kind: llama_cpp, path: x.gguf, cost: {grid_gco2_per_kwh: 120,
             hardware: {name: box, price_usd: 2000, lifetime_years: 4, utilisation: 0.5, embodied_kgco2e: 350.4}}}
        """))
    fra, stated = (resolve_grid(m.cost) for m in config.models)
    assert (fra.basis, fra.gco2_per_kwh) == ("zone", pytest.approx(41.44))
    assert (stated.basis, stated.gco2_per_kwh) == ("models.yaml", 120.0)
    assert stated.embodied_gco2e_per_s == pytest.approx(350.4e3 / (4 * 8760 * 3600))


@pytest.mark.parametrize("cost, message", [
    ("{grid_zone: XXX}", "grid_zone 'XXX' is not in EcoLogits' electricity-mix data"),
    ("{grid_zone: fra}", "grid_zone"),
    ("{grid_zone: FRA, grid_gco2_per_kwh: 50}", "not both"),
])
def test_bad_grid_settings_name_the_key(tmp_path, cost, message):
    with pytest.raises(HarnessError, match=message):
        load_models_config(write_models(tmp_path, f"""
            models:
              - {{name: a, kind: llama_cpp, path: x.gguf, cost: {cost}}}
            """))


def test_local_carbon_per_task_and_per_day():
    grid = GridIntensity(400.0, "models.yaml", None)
    # 36 kJ = 0.01 kWh; x PUE 1.5 x 400 g/kWh = 6 g
    assert local_task_gco2e(grid, 1.5, 0.5, 36_000.0, 10.0) == pytest.approx(6.0)
    assert local_task_gco2e(grid, 1.5, 0.5, None, 10.0) is None
    embodied = GridIntensity(400.0, "models.yaml", None, embodied_gco2e_per_s=0.01)
    assert local_task_gco2e(embodied, 1.0, 0.5, 0.0, 10.0) == pytest.approx(0.2)  # 0.01 g/s / 0.5 x 10 s
    # a day: 1,000 tasks of 36 J and 1 s, idle 10 W the other 85,400 s, PUE 1
    day = local_gco2e_per_day(grid, 1.0, 1000, 36.0, 1.0, 10.0)
    assert day == pytest.approx((1000 * 36 + 10 * 85_400) / 3.6e6 * 400)
    assert local_gco2e_per_day(grid, 1.0, 100_000, 36.0, 1.0, 10.0) is None  # beyond capacity


def test_carbon_break_even():
    grid = GridIntensity(360.0, "models.yaml", None)  # 1e-4 g per J
    # idle 10 W all day = 864 kJ = 86.4 g fixed; marginal (36 - 10 x 1) J x 1e-4 = 0.0026 g per task
    n = carbon_break_even_tasks_per_day(grid, 1.0, 36.0, 1.0, 10.0, 0.05)
    assert n == pytest.approx(86.4 / (0.05 - 0.0026))
    assert carbon_break_even_tasks_per_day(grid, 1.0, 36.0, 1.0, 10.0, 0.001) is None  # API always lower
    assert carbon_break_even_tasks_per_day(grid, 1.0, 36.0, 1.0, 0.0, 0.05) == 0.0     # no idle: any volume


def test_projections_without_the_suites_prompts_are_unknown_not_a_crash():
    # A report over a run whose suite file is gone has no tasks to project: unknown, never a division by zero.
    from harness.analysis.comparison import projected_costs
    from harness.analysis.emissions import projected_carbon
    from harness.analysis.model_summary import records_frame
    from harness.config.model_config import AnthropicModel

    cfg = AnthropicModel(name="claude", kind="anthropic", model="claude-haiku-4-5")
    frame = records_frame([])
    assert projected_costs(frame, [cfg], []).iloc[0]["cost_usd_per_task"] is None
    assert projected_carbon(frame, [cfg], []).iloc[0]["carbon_source"] == "unavailable"

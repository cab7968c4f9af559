"""The HTML report, opened over file:// in Debian's Chromium through Playwright: charts drawn, every model in
the table, the glossary, projected costs apart, model output that contains HTML shown as text and never
run, no request leaving the file. A screenshot is saved to reports/test-report.png."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from harness.store.records import read_records
from tests.conftest import REPO, run_cli, write
from tests.fake_api import FakeAPI

pytestmark = pytest.mark.model
CHROMIUM = "/usr/bin/chromium"
HOSTILE = ["<script>window.__xss = 1</script>", " <img src=x onerror=\"window.__xss = 2\">", " 42"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, smollm2_gguf):
    tmp = tmp_path_factory.mktemp("report")
    suite = write(tmp / "mini.yaml", """
        name: mini
        version: 1
        tasks:
          - {id: add, prompt: "What is 40 + 2? Reply with the number only.", max_tokens: 12, expected: 42, checker: numeric}
          - {id: cap, prompt: "What is the capital of France? One word.", max_tokens: 8, expected: Paris, checker: contains}
          - {id: hot, prompt: "Is fire hot? Answer yes or no.", max_tokens: 6, expected: "yes", checker: {kind: choice, options: ["yes", "no"]}}
        """)
    with FakeAPI(usage={"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42}, answer=HOSTILE) as api:
        models = write(tmp / "models.yaml", f"""
            models:
              - {{name: smol, kind: llama_cpp, path: {smollm2_gguf}}}
              - {{name: hostile-api, kind: openai, base_url: '{api.base_url}/v1', model: m,
                  cost: {{input_usd_per_mtok: 0.4, output_usd_per_mtok: 1.6, source: test, as_of: 2026-12-01}}}}
              - {{name: gpt-5-mini, kind: openai, provider: openai, model: gpt-5-mini, api_key_env: HARNESS_NO_SUCH_KEY}}
            """)
        proc = run_cli("run", "--models", str(models), "--suite", str(suite), "--out", str(tmp / "out"),
                       "--report-dir", str(tmp / "reports"))
    assert proc.returncode == 0, proc.stderr
    (run,) = (tmp / "out").iterdir()
    assert f"report:   {tmp / 'reports' / run.name}.html" in proc.stdout
    return run


@pytest.fixture(scope="module")
def report(run_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("html") / "report.html"
    proc = run_cli("report", str(run_dir), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def page(report):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"])
        tab = browser.new_page(viewport={"width": 1280, "height": 900})
        requests, errors = [], []
        tab.on("request", lambda request: requests.append(request.url))
        tab.on("pageerror", lambda error: errors.append(str(error)))
        tab.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
        tab.goto(report.as_uri())
        tab.wait_for_load_state("load")
        (REPO / "reports").mkdir(exist_ok=True)
        tab.screenshot(path=str(REPO / "reports" / "test-report.png"), full_page=True)
        yield tab, requests, errors
        browser.close()


def test_report_opens_offline_with_nothing_fetched(page, report):
    tab, requests, errors = page
    assert requests == [report.as_uri()], requests      # no CDN, no font, no image from anywhere
    assert errors == []
    assert tab.title().startswith("harness report")


def test_charts_are_drawn(page):
    tab, _, _ = page
    charts = tab.locator("svg.chart")
    assert charts.count() >= 6
    for index in range(charts.count()):
        assert charts.nth(index).locator("circle, rect, polyline, line").count() > 0
        assert charts.nth(index).bounding_box()["height"] > 50


def test_every_model_is_in_the_headline_table_and_projected_costs_stand_apart(page):
    tab, _, _ = page
    table = tab.locator("#headline table").inner_text()
    for name in ("smol", "hostile-api", "gpt-5-mini"):
        assert name in table
    assert "roofline share" in table  # the local model's decode speed as a share of the bandwidth bound
    assert re.search(r"\d+%", tab.locator("#headline tr", has_text="smol").first.inner_text())
    projected = tab.locator("#headline tr.projected")
    assert projected.count() == 1 and "gpt-5-mini*" in projected.inner_text() and "projected" in projected.inner_text()
    assert tab.locator("#headline tr:not(.projected)", has_text="hostile-api").count() == 1
    assert "font-style: italic" in tab.locator("#headline tr.projected td").first.evaluate(
        "el => 'font-style: ' + getComputedStyle(el).fontStyle")


def test_glossary_and_manifest(page):
    tab, _, _ = page
    glossary = tab.locator("#glossary").inner_text()
    for term in ("TTFT", "TTFAT", "ITL", "TPOT", "end-to-end output rate", "break-even", "projected", "energy labels"):
        assert term in glossary
    manifest = tab.locator("#manifest").text_content()  # model details are collapsed
    assert "weights sha256" in manifest and "suite mini" in manifest


def test_model_output_with_html_is_shown_as_text_and_never_executed(page):
    tab, _, _ = page
    assert tab.evaluate("typeof window.__xss") == "undefined"
    assert tab.locator("img").count() == 0
    tab.locator("#tasks details").first.evaluate("el => el.open = true")
    shown = tab.locator("#tasks pre", has_text="<script>window.__xss = 1</script>")
    assert shown.count() >= 1
    assert '<img src=x onerror="window.__xss = 2">' in shown.first.inner_text()


def test_exports_beside_the_html(report, run_dir):
    records = read_records(run_dir / "records.jsonl")
    for name in ("report.records.csv", "report.records.parquet"):
        path = report.parent / name
        table = pd.read_parquet(path) if name.endswith("parquet") else pd.read_csv(path)
        assert len(table) == len(records) and {"model", "task_id", "ttft_s", "cost_usd", "output_text"} <= set(table)
    summary = pd.read_csv(report.parent / "report.summary.csv")
    assert set(summary["model"]) == {"smol", "hostile-api"}


def test_runs_of_the_same_suite_merge_and_different_suites_are_refused(run_dir, tmp_path):
    merged = tmp_path / "merged.html"
    proc = run_cli("report", str(run_dir), str(run_dir), "-o", str(merged))
    assert proc.returncode == 0, proc.stderr
    assert "smol #2" in merged.read_text()
    other = tmp_path / "other"
    other.mkdir()
    manifest = json.loads((run_dir / "run.json").read_text())
    manifest["suites"][0]["sha256"] = "0" * 64
    (other / "run.json").write_text(json.dumps(manifest))
    (other / "records.jsonl").write_text((run_dir / "records.jsonl").read_text())
    refused = run_cli("report", str(run_dir), str(other), "-o", str(tmp_path / "x.html"))
    assert refused.returncode == 2 and "the runs are of different suites" in refused.stderr
    assert "--allow-different-suites" in refused.stderr
    allowed = run_cli("report", str(run_dir), str(other), "-o", str(tmp_path / "x.html"), "--allow-different-suites")
    assert allowed.returncode == 0, allowed.stderr

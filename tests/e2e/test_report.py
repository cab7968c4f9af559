"""The HTML report, opened over file:// in Debian's Chromium through Playwright: charts drawn, every model in
the table, the glossary, projected costs apart, model output that contains HTML shown as text and never
run (and stopped by the page's Content-Security-Policy even if it got in unescaped), no request leaving the
file. A screenshot is saved beside the report (test-report.png, in the test's temporary folder)."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from harness.store.records import read_records
from tests.support.fake_api import FakeAPI
from tests.support.runs import MINI_SUITE, run_cli, write

pytestmark = pytest.mark.model
CHROMIUM = "/usr/bin/chromium"
HOSTILE = ["<script>window.__xss = 1</script>", " <img src=x onerror=\"window.__xss = 2\">", " 42"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, smollm2_gguf):
    tmp = tmp_path_factory.mktemp("report")
    suite = write(tmp / "mini.yaml", MINI_SUITE)
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
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def page(report, browser):
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    requests, errors = [], []
    tab.on("request", lambda request: requests.append(request.url))
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
    tab.goto(report.as_uri())
    tab.wait_for_load_state("load")
    tab.screenshot(path=str(report.parent / "test-report.png"), full_page=True)
    assert tab.locator("details.section[open]").count() == 0         # below the answer: closed until opened
    tab.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    yield tab, requests, errors
    tab.close()


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
    tables = tab.locator("#headline table")
    assert tables.count() == 2                       # quality and cost; speed and energy
    for index in range(2):
        table = tables.nth(index)
        assert table.locator("tr").first.locator("th").count() <= 8
        for name in ("smol", "hostile-api", "gpt-5-mini"):
            assert name in table.inner_text()
    assert "roofline share" in tables.nth(1).inner_text()  # the local model's decode speed against the bandwidth bound
    assert re.search(r"\d+%", tab.locator("#headline tr", has_text="smol").first.inner_text())
    projected = tab.locator("#headline tr.projected")
    assert projected.count() == 2 and "gpt-5-mini*" in projected.first.inner_text()
    assert "projected" in projected.first.inner_text()
    assert tab.locator("#headline tr:not(.projected)", has_text="hostile-api").count() == 2
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


PAYLOAD = "<script>window.__xss = 3</script><img src='data:,' onerror='window.__xss = 4'>"


def test_content_security_policy_blocks_a_payload_that_got_in_unescaped(page, report, tmp_path):
    tab, _, _ = page
    meta = tab.locator("meta[http-equiv='Content-Security-Policy']")
    assert meta.count() == 1
    policy = meta.get_attribute("content")
    assert "script-src 'none'" in policy and "default-src 'none'" in policy
    assert tab.locator("script").count() == 0
    # The test plays a broken escaper: the payload goes into a copy of the page as markup. The same copy
    # without the policy runs it (so the payload works); with the policy, nothing runs.
    html = report.read_text()
    assert html.count("</main>") == 1
    guarded, bare = tmp_path / "guarded.html", tmp_path / "bare.html"
    guarded.write_text(html.replace("</main>", PAYLOAD + "</main>"))
    bare.write_text(re.sub(r"<meta http-equiv=.Content-Security-Policy.[^>]*>", "",
                           html.replace("</main>", PAYLOAD + "</main>")))
    results = {}
    for copy in (bare, guarded):
        other = tab.context.browser.new_page()
        violations = []
        other.on("console", lambda message, seen=violations: seen.append(message.text))
        other.goto(copy.as_uri())
        other.wait_for_load_state("load")
        results[copy.name] = (other.evaluate("typeof window.__xss === 'undefined' ? null : window.__xss"), violations)
        other.close()
    assert results["bare.html"][0] in (3, 4)
    assert results["guarded.html"][0] is None
    assert any("Content Security Policy" in text for text in results["guarded.html"][1])


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


MARKS = "svg.chart circle, svg.chart rect, svg.chart polyline, svg.chart line:not(.grid)"


def test_every_chart_mark_has_a_title_with_its_model_value_and_interval(page, report):
    tab, _, _ = page
    marks = tab.eval_on_selector_all(MARKS, "els => els.map(e => [e.getAttribute('class'), "
                                            "(e.querySelector(':scope > title') || {}).textContent || ''])")
    assert len(marks) > 10
    assert [m for m in marks if not m[1].strip()] == []
    summary = pd.read_csv(report.parent / "report.summary.csv")
    models = set(summary["model"])
    for cls, title in marks:
        if cls in ("point", "bar", "box", "median", "whisker", "ci"):
            assert any(title.startswith(m) for m in models), title
    for row in summary[summary["cost_usd_per_correct"] > 0].to_dict("records"):   # the accuracy/cost chart
        (point,) = [t for c, t in marks if c == "point" and t.startswith(f"{row['model']}:")]
        assert f"accuracy {row['accuracy']:.0%} [{row['accuracy_ci_low']:.0%}–{row['accuracy_ci_high']:.0%}]" in point
        assert "$ per correct task $" in point
    bars = [t for c, t in marks if c == "bar"]
    for row in summary.dropna(subset=["output_tok_per_s_p50"]).to_dict("records"):
        assert f"{row['model']}: {row['output_tok_per_s_p50']:.1f} output tok/s" in " ".join(bars)


def test_the_report_opens_with_the_answer_naming_models_of_the_run(page, report):
    tab, _, _ = page
    assert tab.locator("main > section").first.get_attribute("id") == "answer"
    summary = pd.read_csv(report.parent / "report.summary.csv")
    findings = tab.eval_on_selector_all("#answer li.finding", "els => els.map(e => [e.className, e.innerText])")
    by_kind: dict[str, list[str]] = {}
    for cls, text in findings:
        by_kind.setdefault(cls.split()[1], []).append(text)
    (most,) = by_kind["most_accurate"]
    best = summary["accuracy"].max()
    assert any(f"Most accurate: {m}" in most for m in summary[summary["accuracy"] == best]["model"])
    assert f"{best:.0%} correct" in most
    (cheapest,) = by_kind["cheapest_equivalent"]
    assert any(m in cheapest for m in summary["model"])
    (local,) = by_kind["local_vs_api"]
    assert local.startswith("smol (local)")
    assert "hostile-api" in local or ("gpt-5-mini*" in local and "projected" in local)
    for cls, text in findings:
        assert ("projected" in cls.split()) == ("*" in text)


def test_break_even_matrix_local_by_api_coloured_by_verdict(page):
    tab, _, _ = page
    matrix = tab.locator("#answer table.matrix")
    rows = matrix.locator("tr")
    assert rows.count() == 2                                   # the header, then one row per local model
    header = rows.first.inner_text()
    assert "hostile-api" in header and "gpt-5-mini*" in header
    assert rows.nth(1).locator("th").inner_text().startswith("smol")
    colours = {"be-local": "rgb(215, 242, 221)", "be-never": "rgb(251, 220, 220)", "be-capacity": "rgb(255, 240, 200)"}
    verdicts = {"be-local": "local cheaper above this volume", "be-never": "api cheaper at any volume",
                "be-capacity": "beyond one machine's capacity"}
    cells = matrix.locator("td")
    assert cells.count() == 2
    for index in range(cells.count()):
        cell = cells.nth(index)
        cls = cell.get_attribute("class")
        assert cell.evaluate("el => getComputedStyle(el).backgroundColor") == colours[cls]
        assert verdicts[cls] in cell.get_attribute("title")


@pytest.mark.parametrize("width", [390, 1280])
def test_the_page_never_scrolls_sideways(browser, report, width):
    tab = browser.new_page(viewport={"width": width, "height": 800})
    tab.goto(report.as_uri())
    assert tab.evaluate("document.documentElement.scrollWidth") == width
    # a table wider than the screen scrolls inside its own box, the page does not
    assert tab.evaluate("Array.from(document.querySelectorAll('table')).every(t => t.parentElement.className == 'tw')")
    tab.close()


def test_printed_tables_fit_the_page(browser, report):
    tab = browser.new_page(viewport={"width": 794, "height": 1123})    # A4 at 96 dpi
    tab.emulate_media(media="print")
    tab.goto(report.as_uri())
    assert tab.evaluate("document.documentElement.scrollWidth") == 794
    clipped = tab.evaluate("Array.from(document.querySelectorAll('.tw')).filter(d => d.scrollWidth > d.clientWidth + 1)"
                           ".map(d => d.firstElementChild.innerText.slice(0, 40))")
    assert clipped == []
    tab.close()

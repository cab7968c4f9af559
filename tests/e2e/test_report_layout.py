"""The report's layout measured in Debian's Chromium at 390 px (a phone) and 1,280 px, on a run shaped like the
default bench and on a run of 12 models: no table cell's text wraps inside a word (each character's line read
from its range's client rect, see report_layout.js), no chart legend leaves its chart's box, the page never
scrolls sideways (wide tables scroll in their own box), and the first screen holds the answer, the frontier chart
and the break-even matrix, with every other section closed in a <details>."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.bench_runs import bench_run, models_in, twelve_run  # noqa: F401 - fixtures
from tests.e2e.test_report import browser  # noqa: F401 - the Chromium fixture

pytestmark = pytest.mark.model
MEASURE = (Path(__file__).parent / "report_layout.js").read_text()


@pytest.fixture(params=["bench", "twelve"])
def run_report(request):
    if request.param == "bench":
        run_dir, _, _, report = request.getfixturevalue("bench_run")
    else:
        run_dir, report = request.getfixturevalue("twelve_run")
    return run_dir, report


@pytest.mark.parametrize("width", [390, 1280])
def test_no_cell_wraps_inside_a_word_and_legends_stay_in_their_charts(browser, run_report, width):  # noqa: F811
    run_dir, report = run_report
    tab = browser.new_page(viewport={"width": width, "height": 900})
    tab.goto(report.as_uri())
    first = tab.locator("main > section").first
    assert first.get_attribute("id") == "answer"
    assert first.locator("figure.frontier svg.chart").count() == 1 and first.locator("table.matrix").count() == 1
    assert tab.locator("details.section").count() >= 8 and tab.locator("details.section[open]").count() == 0
    tab.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    measured = tab.evaluate(MEASURE)
    assert measured["cells"] > 50 and measured["legends"] > 0
    assert measured["broken"] == [], measured["broken"][:20]
    assert measured["overflowing"] == []
    assert tab.evaluate("document.documentElement.scrollWidth") == width
    names = models_in(run_dir)
    headline = tab.locator("#headline").inner_text()
    assert all(name in headline for name in names)
    tab.close()


def test_the_twelve_model_report_says_how_many_failed(browser, twelve_run):  # noqa: F811
    run_dir, report = twelve_run
    assert len(models_in(run_dir)) == 12
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    tab.goto(report.as_uri())
    tab.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    row = tab.locator("#headline table").first.locator("tr", has_text="fake-api-model-flaky").inner_text()
    assert "1 failed" in row and "/3" in row          # correct of 3 attempted: the failure is in the denominator
    tab.close()

"""The fault matrix, continued: defects found by trying the harness as a user would (issue 17). Each test is
named after the fault and asserts what the user sees: where files land, what outputs hold, how fast a stop
is, how often a request is paid for, and that bad input is one line naming the file and key (exit 2).

API behaviour comes from the local server the tests control (tests/fake_api.py); runs go through the real
command line in a subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.store.records import read_records
from tests.support.fake_api import FakeAPI
from tests.support.runs import REPO, run_cli, write

pytestmark = [pytest.mark.browser]

USAGE = {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25}


def _suite(folder: Path, n: int = 2, name: str = "user") -> Path:
    tasks = "\n".join(f'  - {{id: t{i}, prompt: "What is 6 times 7?", max_tokens: 8, expected: 42, checker: numeric}}'
                      for i in range(1, n + 1))
    return write(folder / f"{name}.yaml", f"name: {name}\nversion: 1\ntasks:\n{tasks}\n")


def _models(folder: Path, api: FakeAPI, extra: str = "", attempts: int = 2) -> Path:
    return write(folder / "models.yaml", f"models:\n  - {{name: fake, kind: openai, base_url: '{api.base_url}/v1',"
                                         f" model: m, max_attempts: {attempts}{extra}}}\n")


def _no_traceback_one_line(proc, code: int = 2) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    (line,) = [line for line in proc.stderr.splitlines() if line.strip()]
    return line


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A complete two-task run against the fake API."""
    folder = tmp_path_factory.mktemp("finished")
    with FakeAPI(usage=USAGE) as api:
        proc = run_cli("run", "--models", str(_models(folder, api)), "--suite", str(_suite(folder)),
                       "--out", str(folder / "out"), "--no-report")
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (folder / "out").iterdir()
    return run_dir


def _copy_run(run_dir: Path, target: Path, edit=None) -> Path:
    shutil.copytree(run_dir, target)
    if edit is not None:
        records = read_records(target / "records.jsonl")
        (target / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in edit(records)))
    return target


# --- report and compare on runs with no or partial records --------------------------------------------------

def test_report_and_compare_on_a_run_stopped_before_its_first_record(tmp_path, finished_run):
    empty = _copy_run(finished_run, tmp_path / "empty", edit=lambda records: [])
    unopened = _copy_run(finished_run, tmp_path / "unopened")
    (unopened / "records.jsonl").unlink()  # stopped before records.jsonl was opened
    for run_dir in (empty, unopened):
        line = _no_traceback_one_line(run_cli("report", str(run_dir), "-o", str(tmp_path / "r.html")))
        assert "records.jsonl" in line and "no records" in line, line
        for pair in ((finished_run, run_dir), (run_dir, finished_run)):
            line = _no_traceback_one_line(run_cli("compare", *map(str, pair)))
            assert f"{run_dir}/records.jsonl" in line and "no records" in line, line
    assert not (tmp_path / "r.html").exists()
    proc = run_cli("report", str(finished_run), str(empty), "-o", str(tmp_path / "both.html"))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert f"run {empty}: no records" in (tmp_path / "both.html").read_text()


def test_report_and_compare_on_records_without_suite_or_verdict(tmp_path, finished_run):
    def strip(records):
        return [{k: v for k, v in r.items() if k not in ("suite", "verdict")} for r in records]

    partial = _copy_run(finished_run, tmp_path / "partial", edit=strip)
    proc = run_cli("report", str(partial), "-o", str(tmp_path / "r.html"), "--allow-different-suites")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert (tmp_path / "r.html").exists()
    for pair in ((partial, partial), (finished_run, partial)):
        proc = run_cli("compare", *map(str, pair))
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
        assert "not compared" in proc.stdout or "unchanged" in proc.stdout


def test_compare_runs_without_a_model_in_common(tmp_path, finished_run):
    renamed = _copy_run(finished_run, tmp_path / "renamed",
                        edit=lambda records: [{**r, "model": "other"} for r in records])
    proc = run_cli("compare", str(finished_run), str(renamed))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr


def test_report_compare_and_resume_refuse_a_record_without_its_identity(tmp_path, finished_run):
    broken = _copy_run(finished_run, tmp_path / "broken",
                       edit=lambda records: [records[0], {k: v for k, v in records[1].items() if k != "task_id"}])
    before = (broken / "records.jsonl").read_bytes()
    for args in (("report", str(broken), "-o", str(tmp_path / "r.html")), ("compare", str(finished_run), str(broken)),
                 ("run", "--resume", str(broken), "--no-report")):
        line = _no_traceback_one_line(run_cli(*args))
        assert f"{broken}/records.jsonl:2" in line and "key 'task_id'" in line, line
    assert (broken / "records.jsonl").read_bytes() == before



def test_report_compare_and_trend_name_a_manifest_key_they_need(tmp_path, finished_run):
    results = tmp_path / "results"
    broken = _copy_run(finished_run, results / finished_run.name)
    manifest = json.loads((broken / "run.json").read_text())
    del manifest["suites"][0]["sha256"]
    (broken / "run.json").write_text(json.dumps(manifest))
    for args in (("report", str(broken), "-o", str(tmp_path / "r.html")), ("compare", str(finished_run), str(broken))):
        line = _no_traceback_one_line(run_cli(*args))
        assert f"{broken}/run.json" in line and "key 'suites.0'" in line, line
    proc = run_cli("trend", str(results), "-o", str(tmp_path / "trend.html"))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr

# --- every path stays under the folder the user chose ------------------------------------------------------

@pytest.mark.parametrize("name", ["x/../../../../escaped-by-suite-name", "a<b/c", "..", "with space"])
def test_suite_name_that_cannot_be_a_file_name_is_rejected(tmp_path, name):
    work = tmp_path / "a" / "b" / "c" / "d"
    work.mkdir(parents=True)
    suite = write(work / "bad.yaml", f"name: {json.dumps(name)}\nversion: 1\ntasks:\n"
                                     '  - {id: t1, prompt: "6*7?", max_tokens: 4, expected: 42, checker: numeric}\n')
    with FakeAPI(usage=USAGE) as api:
        proc = run_cli("run", "--models", str(_models(work, api)), "--suite", str(suite), "--out", str(work / "out"),
                       "--report-dir", str(work / "rep"), cwd=work)
        assert not api.requests
    line = _no_traceback_one_line(proc)
    assert str(suite) in line and "key 'name'" in line, line
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted(["a", "b", "c", "d", "bad.yaml", "models.yaml"])


def test_jsonl_suite_named_after_an_unsafe_file_name_is_rejected(tmp_path):
    suite = tmp_path / "my suite.jsonl"
    suite.write_text('{"id": "t1", "prompt": "6*7?", "max_tokens": 4, "expected": 42, "checker": "numeric"}\n')
    with FakeAPI(usage=USAGE) as api:
        proc = run_cli("run", "--models", str(_models(tmp_path, api)), "--suite", str(suite),
                       "--out", str(tmp_path / "out"))
    line = _no_traceback_one_line(proc)
    assert str(suite) in line and "file name" in line, line
    assert not (tmp_path / "out").exists()


def test_resume_refuses_a_run_id_that_would_leave_the_report_folder(tmp_path, finished_run):
    run_dir = _copy_run(finished_run, tmp_path / "run")
    manifest = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**manifest, "run_id": "../../escaped-by-run-id"}))
    work = tmp_path / "w1" / "w2"
    work.mkdir(parents=True)
    records_before = (run_dir / "records.jsonl").read_bytes()
    line = _no_traceback_one_line(run_cli("run", "--resume", str(run_dir), cwd=work))
    assert f"{run_dir}/run.json" in line and "key 'run_id'" in line, line
    assert not list(tmp_path.rglob("escaped*"))
    assert (run_dir / "records.jsonl").read_bytes() == records_before


# --- environment values never reach an output; a launched server that needs a key ------------------------

ENV_SECRET = "env-secret-value-7f3a9c"
SERVER_KEY = "server-key-51c0d2e8"


def _launched_models(folder: Path, timeout_s: float = 20, echo: bool = False) -> Path:
    script = Path(__file__).resolve().parents[1] / "support" / "keyed_server.py"
    return write(folder / "models.yaml", f"""
        models:
          - name: served
            kind: openai
            base_url: http://127.0.0.1:{{port}}/v1
            model: m
            self_hosted: true
            api_key_env: HARNESS_TEST_SERVER_KEY
            max_attempts: 1
            launch:
              command: ["{{python}}", "{script}", "{{port}}", "{SERVER_KEY}"{', "echo"' if echo else ''}]
              env: {{HARNESS_TEST_ENV_SECRET: "{ENV_SECRET}"}}
              timeout_s: {timeout_s}
        """)


def _outputs(*folders: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for folder in folders for p in folder.rglob("*") if p.is_file()}


def test_env_values_and_the_key_never_reach_records_manifest_logs_or_reports(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_TEST_SERVER_KEY", SERVER_KEY)
    proc = run_cli("run", "--models", str(_launched_models(tmp_path, echo=True)), "--suite", str(_suite(tmp_path)),
                   "--out", str(tmp_path / "out"), "--report-dir", str(tmp_path / "rep"))
    assert proc.returncode == 1, proc.stderr      # ready (the probe sent the key); the first request failed
    (run_dir,) = (tmp_path / "out").iterdir()
    echoed, served = read_records(run_dir / "records.jsonl")
    assert "400 - bad setting ***" in echoed["error"]["message"] and served["verdict"] == "correct"
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["models"]["served"]["config"]["launch"]["env"] == {"HARNESS_TEST_ENV_SECRET": "***"}
    assert "with key ***; env secret ***" in (run_dir / "server-served.log").read_text()
    outputs = _outputs(run_dir, tmp_path / "rep")
    assert any(p.suffix == ".html" for p in outputs) and any(p.name.endswith(".summary.csv") for p in outputs)
    for secret in (ENV_SECRET, SERVER_KEY):
        assert secret not in proc.stdout + proc.stderr
        assert not [p for p, data in outputs.items() if secret.encode() in data], secret


def test_launched_server_that_rejects_the_key_fails_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_TEST_SERVER_KEY", "a-wrong-key-0000")
    proc = run_cli("run", "--models", str(_launched_models(tmp_path, timeout_s=60)), "--suite", str(_suite(tmp_path)),
                   "--out", str(tmp_path / "out"), "--no-report", timeout=50)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "is up but rejects the key (HTTP 401)" in proc.stderr, proc.stderr
    (run_dir,) = (tmp_path / "out").iterdir()
    entry = json.loads((run_dir / "run.json").read_text())["models"]["served"]
    assert entry["status"] == "failed" and entry["error"]["message"].startswith("the server at http://127.0.0.1:")
    assert not [p for p, data in _outputs(run_dir).items() if ENV_SECRET.encode() in data]


# --- one Ctrl-C stops a retry wait at once; nothing more is sent ---------------------------------------------

@pytest.mark.parametrize("extra, args", [("", []), (", concurrency: 2", []), ("", ["--profile", "concurrent:2"])],
                         ids=["sequential", "threads", "loadgen"])
def test_first_ctrl_c_cancels_a_retry_wait_and_sends_nothing_more(tmp_path, extra, args):
    rate_limited = {"do": "status", "status": 429, "headers": {"retry-after": "20"}}
    with FakeAPI([dict(rate_limited) for _ in range(20)], usage=USAGE) as api:
        models = _models(tmp_path, api, extra, attempts=5)
        proc = subprocess.Popen(
            [sys.executable, "-m", "harness", "run", "--models", str(models), "--suite", str(_suite(tmp_path, 3)),
             "--out", str(tmp_path / "out"), "--no-report", "--idle-seconds", "0", *args],
            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        expected = 2 if "2" in extra + "".join(args) else 1
        deadline = time.monotonic() + 60
        while len(api.requests) < expected:
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        time.sleep(0.3)                                             # every request is now in its 20 s wait
        proc.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        _, stderr = proc.communicate(timeout=30)
        stopped_s = time.monotonic() - t0
        sent = len(api.requests)
    assert proc.returncode == 130, stderr
    assert stopped_s < 5, stopped_s                                 # not the 20 s Retry-After
    assert sent == expected                                         # no new attempt, no new request
    assert "done" not in stderr.split("stopping after the request in flight")[-1], stderr
    (run_dir,) = (tmp_path / "out").iterdir()
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
    assert read_records(run_dir / "records.jsonl") == []           # the waiting requests are left to --resume


# --- a complete non-streamed reply is paid for once ----------------------------------------------------------

@pytest.mark.parametrize("kind, args", [("openai", []), ("anthropic", []), ("openai", ["--profile", "synchronous"])],
                         ids=["openai", "anthropic", "openai-load-generator"])
def test_complete_json_reply_to_a_streaming_request_is_not_retried(tmp_path, kind, args, monkeypatch):
    monkeypatch.setenv("HARNESS_TEST_KEY", "test-key")
    with FakeAPI([{"do": "json"}], usage=USAGE) as api:
        url = f"{api.base_url}/v1" if kind == "openai" else api.base_url
        models = write(tmp_path / "models.yaml", f"models:\n  - {{name: fake, kind: {kind}, base_url: '{url}',"
                                                 " model: m, max_attempts: 3, api_key_env: HARNESS_TEST_KEY}\n")
        proc = run_cli("run", "--models", str(models), "--suite", str(_suite(tmp_path, 1)),
                       "--out", str(tmp_path / "out"), "--no-report", *args)
        sent = len(api.requests)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert sent == 1                                                # paid for once, not three times
    (record,) = read_records(next((tmp_path / "out").iterdir()) / "records.jsonl")
    assert record["error"]["error_class"] == "not_streamed" and record["attempts"] == 1
    assert "application/json" in record["error"]["message"]


# --- resume keeps the run's own settings, from any folder ------------------------------------------------------

def _interrupted_run(tmp_path: Path, api: FakeAPI, n_done: int = 2) -> tuple[Path, Path]:
    """A 4-task run started from `tmp_path/start` with a relative models file and --report-dir, then cut back
    to its first `n_done` records and marked interrupted, as a Ctrl-C leaves it."""
    start = tmp_path / "start"
    start.mkdir()
    _models(start, api)
    _suite(start, 4)
    proc = run_cli("run", "--models", "models.yaml", "--suite", "user.yaml", "--out", "out", "--report-dir", "my-reports",
                   cwd=start)
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (start / "out").iterdir()
    lines = (run_dir / "records.jsonl").read_bytes().splitlines(keepends=True)
    (run_dir / "records.jsonl").write_bytes(b"".join(lines[:n_done]))
    manifest = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**manifest, "status": "interrupted"}))
    for report in (start / "my-reports").iterdir():
        report.unlink()
    return start, run_dir


def test_resume_from_another_folder_keeps_the_report_dir_and_finds_the_models_file(tmp_path):
    with FakeAPI(usage=USAGE) as api:
        start, run_dir = _interrupted_run(tmp_path, api)
        models = start / "models.yaml"
        models.write_text(models.read_text().replace("model: m,", "model: m, description: a note,"))
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        proc = run_cli("run", "--resume", str(run_dir), cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr                       # a changed description does not block it
    assert len(read_records(run_dir / "records.jsonl")) == 4
    assert (start / "my-reports" / f"{run_dir.name}.html").is_file()
    assert not (elsewhere / "reports").exists()


def test_resume_refuses_flags_that_change_the_run_and_names_those_it_ignores(tmp_path):
    with FakeAPI(usage=USAGE) as api:
        start, run_dir = _interrupted_run(tmp_path, api)
        before = (run_dir / "records.jsonl").read_bytes()
        for flags, named in ((["--repeat", "3"], "--repeat 3"), (["--suite", "arith"], "--suite arith"),
                             (["--only", "fake"], "--only fake")):
            line = _no_traceback_one_line(run_cli("run", "--resume", str(run_dir), *flags, cwd=start))
            assert f"--resume {run_dir}: {named}" in line and "keeps its own" in line, line
            assert (run_dir / "records.jsonl").read_bytes() == before
        proc = run_cli("run", "--resume", str(run_dir), "--report-dir", "other", cwd=start)
    assert proc.returncode == 0, proc.stderr
    assert "ignored: --report-dir other" in proc.stderr
    assert (start / "my-reports" / f"{run_dir.name}.html").is_file() and not (start / "other").exists()


def test_resume_names_a_missing_manifest_key(tmp_path, finished_run):
    run_dir = _copy_run(finished_run, tmp_path / "run")
    manifest = json.loads((run_dir / "run.json").read_text())
    del manifest["settings"]["repeat"]
    (run_dir / "run.json").write_text(json.dumps(manifest))
    line = _no_traceback_one_line(run_cli("run", "--resume", str(run_dir), "--no-report"))
    assert f"{run_dir}/run.json" in line and "key 'settings.repeat'" in line, line


# --- the terminal shows what failed ------------------------------------------------------------------------

def test_summary_shows_error_classes_counts_and_the_first_message(tmp_path):
    script = [{"do": "status", "status": 500, "body": {"error": {"message": "engine exploded", "type": "x"}}},
              {"do": "status", "status": 500}, {"do": "status", "status": 400}]
    with FakeAPI(script, usage=USAGE) as api:
        proc = run_cli("run", "--models", str(_models(tmp_path, api, attempts=1)), "--suite",
                       str(_suite(tmp_path, 3)), "--out", str(tmp_path / "out"), "--no-report", env_columns=220)
    assert proc.returncode == 1, proc.stderr
    (row,) = [line for line in proc.stdout.splitlines() if line.startswith("│ fake") and "×" in line]
    assert "3/3" in row and "server_error ×2, bad_request ×1" in row and "engine exploded" in row, proc.stdout
    assert "Failed requests" in proc.stdout
    progress = [line for line in proc.stderr.splitlines() if line.startswith("fake ")]
    assert progress and "0 correct · 3 failed · done" in progress[-1], proc.stderr


# --- long unbroken text wraps everywhere in the report ---------------------------------------------------------

def test_long_unbroken_text_wraps_in_the_report(tmp_path):
    from playwright.sync_api import sync_playwright

    long_expected, long_answer = "x" * 10_000, "y" * 10_000
    suite = write(tmp_path / "long.yaml", f"name: long\nversion: 1\ntasks:\n  - id: t1\n    prompt: \"{'p' * 3000}\"\n"
                                          f"    max_tokens: 8\n    expected: \"{long_expected}\"\n    checker: exact\n")
    with FakeAPI(usage=USAGE, answer=[long_answer]) as api:
        proc = run_cli("run", "--models", str(_models(tmp_path, api)), "--suite", str(suite), "--out",
                       str(tmp_path / "out"), "--report-dir", str(tmp_path / "rep"))
    assert proc.returncode == 0, proc.stderr
    (report,) = (tmp_path / "rep").glob("*.html")
    assert long_expected in report.read_text()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"])
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 900})
            tab.goto(report.as_uri())
            tab.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
            widths = tab.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        finally:
            browser.close()
    assert widths[0] <= widths[1], widths


# --- tests write only under temporary folders --------------------------------------------------------------

def test_a_run_through_the_test_helper_writes_nothing_into_the_checkout(tmp_path):
    def listing() -> set[str]:
        return {str(p) for folder in ("reports", "results") for p in (REPO / folder).rglob("*")}

    before = listing()
    with FakeAPI(usage=USAGE) as api:
        proc = run_cli("run", "--models", str(_models(tmp_path, api)), "--suite", str(_suite(tmp_path, 1)))
    assert proc.returncode == 0, proc.stderr
    assert listing() == before
    assert "report:   " in proc.stdout and f"report:   {REPO}" not in proc.stdout


# --- intervals carry no float noise ------------------------------------------------------------------------------

def test_summary_csv_interval_of_a_single_task_equals_its_exact_cost(tmp_path):
    # 20 input tokens at 1.00 and 5 output tokens at 179.91 USD per million: exactly 0.00091955 USD.
    price = ", cost: {input_usd_per_mtok: 1.0, output_usd_per_mtok: 179.91, source: test, as_of: 2026-01-01}"
    with FakeAPI(usage=USAGE) as api:
        proc = run_cli("run", "--models", str(_models(tmp_path, api, price)), "--suite", str(_suite(tmp_path, 1)),
                       "--out", str(tmp_path / "out"), "--report-dir", str(tmp_path / "rep"))
    assert proc.returncode == 0, proc.stderr
    (csv,) = (tmp_path / "rep").glob("*.summary.csv")
    header, row = csv.read_text().splitlines()
    values = dict(zip(header.split(","), row.split(",")))
    assert values["cost_usd_per_task"] == "0.00091955"
    for column in ("cost_usd_per_correct", "cost_usd_per_correct_ci_low", "cost_usd_per_correct_ci_high"):
        assert values[column] == "0.00091955", (column, values[column])


# --- bad input: one line naming the file and the key --------------------------------------------------------

def test_suite_task_without_a_prompt_names_prompt(tmp_path):
    suite = write(tmp_path / "noprompt.yaml", "name: noprompt\nversion: 1\ntasks:\n"
                                              "  - {id: t1, max_tokens: 4, expected: 42, checker: numeric}\n")
    with FakeAPI(usage=USAGE) as api:
        proc = run_cli("run", "--models", str(_models(tmp_path, api)), "--suite", str(suite),
                       "--out", str(tmp_path / "out"))
        assert not api.requests
    line = _no_traceback_one_line(proc)
    assert f"{suite}: task 't1': key 'prompt': required (a task needs 'prompt' or 'messages')" in line, line
    assert "messages': Field required" not in line and not (tmp_path / "out").exists()


def test_a_launched_server_that_needs_a_key_has_its_metrics_scraped_with_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_TEST_SERVER_KEY", SERVER_KEY)
    proc = run_cli("run", "--models", str(_launched_models(tmp_path)), "--suite", str(_suite(tmp_path)),
                   "--out", str(tmp_path / "out"), "--no-report", "--profile", "concurrent:2")
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (tmp_path / "out").iterdir()
    level = json.loads((run_dir / "run.json").read_text())["models"]["served"]["levels"]["concurrent:2"]
    assert level["metrics_delta"] == {"fake_requests_total": 2.0, 'fake_tokens_total{kind="output"}': 10.0}

"""The full terminal summary (`--full`) as a user sees it: `harness run` and `harness summary` inside a real
pseudo-terminal (stdlib pty, window size set with TIOCSWINSZ) at 80, 100 and 120 columns. At each width no line is wider
than the terminal, nothing is cut with an ellipsis, every model's full name can be read from its table
rows, and every figure of the summary CSV's headline columns appears whole in its model's row."""

from __future__ import annotations

import errno
import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios

import pandas as pd
import pytest
from rich.cells import cell_len

from harness.formatting import number
from tests.support.fake_api import FakeAPI
from tests.support.runs import MINI_SUITE, REPO, write

pytestmark = pytest.mark.model
LOCAL = "smollm2-135m-instruct-q4_1-via-llama-cpp"     # 40 characters: must wrap at 80 columns, never be cut
API = "fake-api-model"
MISSING = "gpt-5-mini"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def in_pty(args: list[str], columns: int, cwd=REPO) -> tuple[int, str, str]:
    """Run `python -m harness ARGS` with stdin and stdout on a pseudo-terminal of `columns` x 50; return the
    exit code, what the terminal received (colour codes removed) and stderr."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    proc = subprocess.Popen([sys.executable, "-m", "harness", *args], stdin=slave, stdout=slave,
                            stderr=subprocess.PIPE, cwd=cwd, env=env)
    os.close(slave)
    chunks = []
    while True:  # read as it comes, or the child blocks on a full pty buffer
        try:
            data = os.read(master, 65536)
        except OSError as exc:  # EIO: the child closed the terminal
            if exc.errno != errno.EIO:
                raise
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=600)
    text = ANSI.sub("", b"".join(chunks).decode()).replace("\r\n", "\n")
    return proc.returncode, text, stderr


def summary_rows(screen: str) -> list[tuple[list[str], list[str]]]:
    """(headers, cells) for every model row of every `Summary ·` table: multi-line cells joined with
    newlines, the header of each column joined with spaces."""
    rows, lines = [], screen.splitlines()
    for start, line in enumerate(lines):
        if not line.startswith("Summary ·"):
            continue
        # the title wraps to the table's width when the table is narrower: the header starts after "┏"
        head_start = next(i for i in range(start, len(lines)) if lines[i].startswith("┏")) + 1
        head_end = next(i for i in range(head_start, len(lines)) if lines[i].startswith("┡"))
        head = [ln.split("┃")[1:-1] for ln in lines[head_start:head_end]]
        headers = [" ".join(h[j].strip() for h in head).strip() for j in range(len(head[0]))]
        block: list[list[str]] = []
        for ln in lines[head_end + 1:]:
            if ln.startswith(("├", "└")):
                rows.append((headers, ["\n".join(c[j].strip() for c in block).strip() for j in range(len(headers))]))
                block = []
                if ln.startswith("└"):
                    break
            else:
                block.append(ln.split("│")[1:-1])
    return rows


def numbers(text: str) -> list[float]:
    return [float(n.replace(",", "")) for n in re.findall(r"\$([0-9][0-9,]*\.?[0-9]*)", text)]


SCALE = {"task": 1.0, "1k tasks": 1e3, "1M tasks": 1e6, "correct task": 1.0, "1k correct": 1e3, "1M correct": 1e6}


def summary_lines(screen: str) -> list[str]:
    """The lines of every `Summary ·` table, title to bottom border."""
    out, inside = [], False
    for line in screen.splitlines():
        inside = inside or line.startswith("Summary ·")
        if inside:
            out.append(line)
            inside = not line.startswith("└")
    return out


def check_screen(screen: str, columns: int, summary: pd.DataFrame) -> None:
    for line in summary_lines(screen):
        assert "…" not in line, f"something was cut at {columns} columns: {line!r}"
        assert cell_len(line) <= columns, f"wider than {columns} columns: {line!r}"
    by_model: dict[str, dict[str, str]] = {}
    for headers, cells in summary_rows(screen):
        name = cells[0].replace("\n", "")           # a wrapped name reads back whole
        by_model.setdefault(name, {}).update(zip(headers[1:], cells[1:]))
    assert set(by_model) == set(summary["model"]), by_model.keys()
    for row in summary.to_dict("records"):
        cells = by_model[row["model"]]
        acc = cells["accuracy [95% CI]"]
        assert f"{row['accuracy']:.0%} ({row['n_correct']}/{row['n_attempted']}" in acc   # failures count
        assert f"[{row['accuracy_ci_low']:.0%}–{row['accuracy_ci_high']:.0%}]" in acc
        (task_header,) = [h for h in cells if h.startswith("$ per") and "CI" not in h]
        (correct_header,) = [h for h in cells if h.startswith("$ per") and "CI" in h]
        scale = SCALE[task_header.removeprefix("$ per ")]
        assert SCALE[correct_header.removeprefix("$ per ").removesuffix(" [95% CI]")] == scale
        (per_task,) = numbers(cells[task_header])
        assert per_task == pytest.approx(row["cost_usd_per_task"] * scale, rel=5e-3)
        shown = numbers(cells[correct_header])
        expected = [row["cost_usd_per_correct"], row["cost_usd_per_correct_ci_low"], row["cost_usd_per_correct_ci_high"]]
        expected = [v * scale for v in expected if not pd.isna(v)]
        assert shown == pytest.approx(expected, rel=5e-3), cells[correct_header]
        ttft = cells["TTFT p50 / p90"].split("\n")
        assert ttft == [f"{row['ttft_p50_s'] * 1000:.0f} ms", f"{row['ttft_p90_s'] * 1000:.0f} ms"]
        assert cells["out tok/s p50"] == f"{row['output_tok_per_s_p50']:.1f}"
        assert cells["E2E p50"] == f"{row['e2e_p50_s']:.2f} s"
        assert cells["tokens in / out"].split("\n") == [f"{row['input_tokens']:.0f}", f"{row['output_tokens']:.0f}"]
        energy = number(row["energy_j_per_task"])         # three significant digits, as everywhere
        assert cells["J/task (source)"].split("\n") == [energy, row["energy_source"]]


@pytest.fixture(scope="module")
def run_in_pty(tmp_path_factory, smollm2_gguf):
    tmp = tmp_path_factory.mktemp("pty")
    suite = write(tmp / "mini.yaml", MINI_SUITE)
    with FakeAPI(usage={"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42}) as api:
        models = write(tmp / "models.yaml", f"""
            models:
              - {{name: {LOCAL}, kind: llama_cpp, path: {smollm2_gguf}}}
              - {{name: {API}, kind: openai, base_url: '{api.base_url}/v1', model: m,
                  cost: {{input_usd_per_mtok: 0.4, output_usd_per_mtok: 1.6, source: test, as_of: 2026-12-01}}}}
              - {{name: {MISSING}, kind: openai, provider: openai, model: gpt-5-mini, api_key_env: HARNESS_NO_SUCH_KEY}}
            """)
        code, screen, stderr = in_pty(["run", "--models", str(models), "--suite", str(suite), "--out",
                                       str(tmp / "out"), "--report-dir", str(tmp / "reports"), "--idle-seconds", "0.2",
                                       "--full"], 100)
    assert code == 0, stderr
    (run_dir,) = (tmp / "out").iterdir()
    summary = pd.read_csv(tmp / "reports" / f"{run_dir.name}.summary.csv")
    return run_dir, screen, summary


def test_run_at_100_columns_shows_every_name_and_figure_whole(run_in_pty):
    _, screen, summary = run_in_pty
    check_screen(screen, 100, summary)
    assert "The answer · mini" in screen and "Break-even: tasks/day" in screen


@pytest.mark.parametrize("columns", [80, 120])
def test_summary_at_80_and_120_columns_shows_every_name_and_figure_whole(run_in_pty, columns):
    run_dir, _, summary = run_in_pty
    code, screen, stderr = in_pty(["summary", str(run_dir), "--full"], columns)
    assert code == 0, stderr
    check_screen(screen, columns, summary)
    if columns == 80:  # too narrow for one table: quality and cost apart from speed and energy
        assert "· quality and cost" in screen and "· speed and energy" in screen
        assert any("\n" in cells[0] for _, cells in summary_rows(screen))   # the long name wrapped, not cut


def test_answer_and_break_even_matrix_in_the_terminal(run_in_pty):
    _, screen, summary = run_in_pty
    answer = screen[screen.index("The answer · mini"):]
    flat = " ".join(answer.split())
    best = summary.sort_values("accuracy", ascending=False).iloc[0]
    tied = summary[summary["accuracy"] == best["accuracy"]]["model"]
    assert any(f"Most accurate: {name}" in flat for name in tied)
    assert f"{best['accuracy']:.0%} correct" in flat
    assert "(local)" in flat and ("cheaper than" in flat or "beats no API" in flat)
    start = screen.index("Break-even: tasks/day")
    matrix = screen[start:screen.index("≥ N/day:", start)]          # up to the matrix's own caption
    assert f"{MISSING}*" in matrix and API in matrix           # one row per API, the projected one marked
    assert sum(line.startswith("│") for line in matrix.splitlines()) == 2   # compact: 2 APIs, 2 rows

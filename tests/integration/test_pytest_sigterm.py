"""The test process stops on SIGTERM (a CI runner's timeout), even after a library started in-process installed
its own handler: Ray's in-process cluster installs one (through `ray._private.utils.set_sigterm_handler`) that
turns SIGTERM into a `SystemExit`, which pytest reported as one failed test before going on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.support.runs import REPO

SESSION = '''
import sys, time
from pathlib import Path

import pytest
from ray._private.utils import set_sigterm_handler


@pytest.fixture(scope="module")
def cluster_like_ray():
    def sigterm_handler(signum, frame):  # what ray._private.node.Node installs: clean up, then exit 1
        sys.exit(1)

    set_sigterm_handler(sigterm_handler)
    yield


def test_first(cluster_like_ray):
    pass


def test_slow(cluster_like_ray):
    Path("{started}").touch()
    time.sleep(60)


def test_after():
    pass
'''


def _session(tmp_path: Path, guard: bool) -> tuple[subprocess.CompletedProcess, float]:
    started = tmp_path / "started"
    test_file = tmp_path / "test_session.py"
    test_file.write_text(textwrap.dedent(SESSION).replace("{started}", str(started)))
    plugin = ["-p", "tests.support.signal_guard"] if guard else []
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugin, str(test_file)],
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not started.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    time.sleep(0.2)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=90)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out), time.monotonic() - t0


def test_the_test_process_stops_on_sigterm_with_its_summary(tmp_path):
    done, stopped_s = _session(tmp_path, guard=True)
    assert stopped_s < 10, (stopped_s, done.stdout)
    assert done.returncode == pytest.ExitCode.INTERRUPTED, done.stdout
    assert "SIGTERM received: stopping the test session" in done.stdout
    assert "1 passed" in done.stdout and "2 passed" not in done.stdout     # the summary; test_after never ran


def test_without_the_guard_a_library_handler_keeps_the_session_going(tmp_path):
    """The failure the guard prevents, shown on the same session: SIGTERM becomes one failed test."""
    done, _ = _session(tmp_path, guard=False)
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout
    assert "1 failed, 2 passed" in done.stdout and "SystemExit" in done.stdout

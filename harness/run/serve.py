"""Self-hosted servers the harness starts (`launch:` in models.yaml: an engine preset, expanded by
`harness.config.engines`, or a command), waits for, and always stops.

The command runs in a process group of its own with its output captured in the run folder
(`server-<model>.log`). The harness polls the ready URL (default: `base_url/models`) until it answers
200, and stops the group at the end — on success, on failure and on Ctrl-C — with SIGTERM, then SIGKILL
after 15 s. The server is also told to die with the harness (Linux parent-death signal), so even a
SIGKILL of the harness leaves no orphan behind.
"""

from __future__ import annotations

import ctypes
import importlib.metadata as md
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from harness.config.engines import expand_engine
from harness.errors import ModelLoadError

PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _gguf_of(dist_name: str) -> str:
    try:
        files = [f for f in md.distribution(dist_name).files or [] if str(f).endswith(".gguf")]
    except md.PackageNotFoundError:
        raise ModelLoadError(f"launch: {{gguf:{dist_name}}}: package {dist_name} is not installed") from None
    if len(files) != 1:
        raise ModelLoadError(f"launch: {{gguf:{dist_name}}}: the package ships {len(files)} GGUF files")
    return str(md.distribution(dist_name).locate_file(files[0]))


def expand(text: str, port: int) -> str:
    """Placeholders in a launch command or URL: {python}, {port}, {gguf:DIST}."""
    text = text.replace("{python}", sys.executable).replace("{port}", str(port))
    return re.sub(r"\{gguf:([A-Za-z0-9._-]+)\}", lambda m: _gguf_of(m.group(1)), text)


def _die_with_parent() -> None:
    os.setsid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


class Server:
    """A launched server process; use as a context manager, or call start() and stop()."""

    def __init__(self, launch: Any, base_url: str, log_path: Path, served_model: str | None = None) -> None:
        self.port = free_port()
        self.base_url = expand(base_url, self.port)
        command, env, ready_url, self.weights = launch.command, dict(launch.env), launch.ready_url, None
        if launch.engine is not None:  # a preset: its command, env and ready URL under the entry's own settings
            plan = expand_engine(launch, served_model or "model")
            command, env, self.weights = plan.command, {**plan.env, **env}, plan.weights
            ready_url = ready_url or plan.ready_url
        self.command = [expand(part, self.port) for part in command]
        self.env = {**os.environ, **{k: expand(v, self.port) for k, v in env.items()}}
        self.ready_url = expand(ready_url, self.port) if ready_url else self.base_url.rstrip("/") + "/models"
        self.timeout_s = launch.timeout_s
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> float:
        """Start the server and wait until it is ready; returns the seconds that took."""
        t0 = time.perf_counter()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                            preexec_fn=_die_with_parent)
        deadline = t0 + self.timeout_s
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise ModelLoadError(f"the server exited with status {self.process.returncode} before it was ready: "
                                     f"{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.ready_url, timeout=2) as response:
                    if response.status == 200:
                        return time.perf_counter() - t0
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.25)
        self.stop()
        raise ModelLoadError(f"the server did not answer {self.ready_url} within {self.timeout_s:g} s: {self.log_tail()}")

    def log_tail(self, lines: int = 5) -> str:
        try:
            return " / ".join(self.log_path.read_text(errors="replace").strip().splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Stop the whole process group: SIGTERM, then SIGKILL after 15 s."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)
        except ProcessLookupError:
            pass

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None


def scrape_metrics(base_url: str) -> dict[str, float] | None:
    """Prometheus counters and gauges from the server's /metrics (text format), or None when it has none."""
    root = re.sub(r"/v1/?$", "", base_url.rstrip("/"))
    try:
        with urllib.request.urlopen(f"{root}/metrics", timeout=5) as response:
            if response.status != 200:
                return None
            text = response.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError, ValueError):
        return None
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                values[name.strip()] = float(value)
            except ValueError:
                continue
    return values

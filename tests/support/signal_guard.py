"""A pytest plugin: the test process stops on SIGTERM, whatever a test or a library started in-process installs.

Libraries started inside the test process install signal handlers and leave them: Ray's in-process test cluster
(`ray.cluster_utils.Cluster`, through `ray._private.utils.set_sigterm_handler`) turns SIGTERM into a
`SystemExit` that pytest reports as one failed test before going on, so `timeout` could not stop the run.
Here SIGTERM (and SIGHUP) stop the session like Ctrl-C: pytest tears the fixtures down (the cluster, servers)
and prints the summary of what ran. Every handler a test changes is put back after it, and the stop handler is
put back before each test body runs, in case a fixture replaced it.
"""

from __future__ import annotations

import signal

import pytest

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
_CATCHABLE = [s for s in signal.valid_signals() if s not in (signal.SIGKILL, signal.SIGSTOP)]
_saved: dict[int, object] = {}


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"{signal.Signals(signum).name} received: stopping the test session")


def _snapshot() -> dict[int, object]:
    handlers = {}
    for signum in _CATCHABLE:
        try:
            handlers[signum] = signal.getsignal(signum)
        except (OSError, ValueError):
            continue
    return handlers


def _restore(handlers: dict[int, object]) -> None:
    for signum, handler in handlers.items():
        if handler is None or signal.getsignal(signum) is handler:
            continue  # None: installed outside Python; it cannot be put back, and nothing here changed it
        try:
            signal.signal(signum, handler)
        except (OSError, ValueError, TypeError):
            continue


def pytest_configure(config: pytest.Config) -> None:
    for signum in STOP_SIGNALS:
        signal.signal(signum, _stop)
    _saved.update(_snapshot())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    for signum in STOP_SIGNALS:  # a fixture (set up before the body) may have replaced it
        signal.signal(signum, _stop)
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    yield
    _restore(_saved)  # after the test and the fixtures it tore down: what the session started with

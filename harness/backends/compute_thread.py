"""One thread per loaded llama.cpp model runs every computation of it: loading, generating, scoring, and the
steps of a batched engine.

Why one thread: llama.cpp's CPU backend (built with OpenMP, the default) runs each graph on an OpenMP team
owned by the calling thread. Every thread that ever calls `llama_decode` gets a team of its own, and once the
process has more OpenMP threads than cores, libgomp throttles the spinning of idle team members (100 spins
instead of ~300,000 before sleeping), so each of the graph's parallel regions waits for threads to wake.
Measured on a 2-core machine with SmolLM2-135M on 2 threads: 115-120 tok/s decoding when one thread does
all the work, 65-80 tok/s as soon as a second thread has decoded once — whichever thread decodes afterwards.
llama-bench and llama-batched-bench decode on their main thread only. With every computation on this thread,
handing each token to another thread costs nothing measurable (97-100 tok/s with and without a per-token
queue to the caller in the same measurement).
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Stepper(Protocol):
    """A batched engine driven by the compute thread: `step()` whenever `busy()`."""

    def busy(self) -> bool: ...

    def step(self) -> None: ...


class _Done:
    __slots__ = ()


_DONE = _Done()


class ComputeThread:
    """A thread that runs queued jobs in order and, between jobs, the steps of an attached engine."""

    def __init__(self, name: str) -> None:
        self.cond = threading.Condition()  # also guards an attached engine's queues
        self._jobs: deque[Callable[[], None]] = deque()
        self._stepper: Stepper | None = None
        self._closing = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            with self.cond:
                while not self._jobs and not self._closing and not (self._stepper and self._stepper.busy()):
                    self.cond.wait()
                if self._closing and not self._jobs:
                    return
                jobs, self._jobs = self._jobs, deque()
            for job in jobs:
                job()
            stepper = self._stepper
            if stepper is not None and stepper.busy():
                stepper.step()

    def on_thread(self) -> bool:
        """True when called from the compute thread itself."""
        return threading.current_thread() is self._thread

    def submit(self, job: Callable[[], None]) -> None:
        """Run `job` on the thread, after the jobs queued before it; returns at once."""
        with self.cond:
            if self._closing:
                raise RuntimeError("the model was closed")
            self._jobs.append(job)
            self.cond.notify()

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the thread and return what it returns (or raise what it raises)."""
        if self.on_thread():
            return fn()
        box: list[Any] = []
        done = threading.Event()

        def job() -> None:
            try:
                box.append((True, fn()))
            except BaseException as exc:  # noqa: BLE001 - re-raised on the caller's thread
                box.append((False, exc))
            done.set()

        self.submit(job)
        done.wait()
        ok, value = box[0]
        if not ok:
            raise value
        return value

    def iterate(self, make: Callable[[], Iterator[T]]) -> Iterator[T]:
        """The items of `make()`, produced on the thread and handed over one by one. A caller that stops
        reading (closes the generator) stops the producer at its next item."""
        inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        abandoned = threading.Event()

        def job() -> None:
            try:
                for item in make():
                    inbox.put(item)
                    if abandoned.is_set():
                        break
            except BaseException as exc:  # noqa: BLE001 - raised on the reader's thread
                inbox.put(exc)
            inbox.put(_DONE)

        self.submit(job)
        try:
            while (item := inbox.get()) is not _DONE:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            abandoned.set()

    def attach(self, stepper: Stepper | None) -> None:
        """Drive `stepper` (None: stop driving one) between jobs."""
        with self.cond:
            self._stepper = stepper
            self.cond.notify()

    def close(self) -> None:
        """Finish the queued jobs, then end the thread."""
        with self.cond:
            self._closing = True
            self.cond.notify()
        if not self.on_thread():
            self._thread.join()

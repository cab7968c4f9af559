"""The compute thread of an in-process model: every job and every engine step on one thread, results and
errors handed back, a reader that stops reading stops the producer."""

from __future__ import annotations

import threading

import pytest

from harness.backends.compute_thread import ComputeThread


def test_jobs_run_in_order_on_one_thread_and_return_or_raise():
    compute = ComputeThread("test-compute")
    try:
        names = {compute.call(lambda: threading.current_thread().name) for _ in range(3)}
        assert names == {"test-compute"}
        assert compute.call(lambda: compute.on_thread()) is True and compute.on_thread() is False
        with pytest.raises(ValueError, match="bad weights"):
            compute.call(lambda: (_ for _ in ()).throw(ValueError("bad weights")))
        assert compute.call(lambda: 6 * 7) == 42  # a failed job leaves the thread working
    finally:
        compute.close()
    with pytest.raises(RuntimeError, match="closed"):
        compute.submit(lambda: None)


def test_iterate_hands_items_over_and_a_reader_that_stops_stops_the_producer():
    compute = ComputeThread("test-compute")
    made: list[int] = []

    def produce():  # a token every 5 ms, as a model makes them
        for i in range(1000):
            made.append(i)
            yield i
            threading.Event().wait(0.005)

    try:
        items = compute.iterate(produce)
        assert [next(items) for _ in range(3)] == [0, 1, 2]
        items.close()
        compute.call(lambda: None)  # the producer's job has ended before this one runs
        assert len(made) < 20
        assert list(compute.iterate(lambda: iter("abc"))) == ["a", "b", "c"]
    finally:
        compute.close()


class _Engine:
    """A stepper with `n` steps of work, recording the thread each step ran on."""

    def __init__(self, n: int) -> None:
        self.left, self.threads = n, []

    def busy(self) -> bool:
        return self.left > 0

    def step(self) -> None:
        self.threads.append(threading.current_thread().name)
        self.left -= 1


def test_an_attached_engine_steps_on_the_compute_thread_between_jobs():
    compute = ComputeThread("test-compute")
    engine = _Engine(5)
    try:
        compute.attach(engine)
        deadline = threading.Event()
        for _ in range(200):
            if not engine.busy():
                break
            deadline.wait(0.01)
        assert engine.threads == ["test-compute"] * 5
        compute.attach(None)
    finally:
        compute.close()

"""The handoff from an in-process engine's thread to the event loop: stamps taken on the producing thread,
wake-ups batched, ends and errors delivered at once, a reader that stops tells the producer."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from harness.backends.base import Backend
from harness.backends.thread_handoff import Handoff, LoopMailbox, StampedBlock
from harness.execution.request import timed_stream_async


def _produce(handoff: Handoff, n: int, gap_s: float, stamps: list[int], fail: BaseException | None = None) -> None:
    for i in range(n):
        before = time.perf_counter_ns()
        handoff.block([f"t{i}"])
        stamps.append(before)
        time.sleep(gap_s)
    if fail is not None:
        handoff.fail(fail)
    handoff.end()


def test_blocks_keep_the_producer_stamps_and_wakes_are_batched(monkeypatch):
    wakes = []
    deliver = LoopMailbox._deliver

    def counting(self):
        wakes.append(time.perf_counter_ns())
        deliver(self)

    monkeypatch.setattr(LoopMailbox, "_deliver", counting)

    async def main():
        handoff, stamps = Handoff(asyncio.get_running_loop()), []
        producer = threading.Thread(target=_produce, args=(handoff, 40, 0.005, stamps))
        producer.start()
        got = [block async for block in handoff.blocks()]
        producer.join()
        return got, stamps

    t0 = time.perf_counter_ns()
    got, stamps = asyncio.run(main())
    elapsed_s = (time.perf_counter_ns() - t0) / 1e9
    assert [block[0] for block in got] == [f"t{i}" for i in range(40)]
    assert all(isinstance(block, StampedBlock) for block in got)
    # each block's stamp is when it was made (between its `before` and the next block's), not when the loop
    # read it (the loop reads many blocks per wake)
    bounds = [*stamps[1:], time.perf_counter_ns()]
    assert all(before <= block.t_ns <= after for block, before, after in zip(got, stamps, bounds))
    # at most one wake per 0.1 s plus the first and the end's: far fewer wakes than blocks
    assert 2 <= len(wakes) <= min(20, elapsed_s / 0.1 + 2), (len(wakes), elapsed_s)


def test_an_error_reaches_the_reader_at_once():
    async def main():
        handoff, stamps = Handoff(asyncio.get_running_loop()), []
        threading.Thread(target=_produce, args=(handoff, 2, 0.0, stamps, ValueError("engine broke"))).start()
        seen = []
        with pytest.raises(ValueError, match="engine broke"):
            async for block in handoff.blocks():
                seen.append(block[0])
        return seen

    assert asyncio.run(main()) == ["t0", "t1"]


def test_a_reader_that_stops_reading_stops_the_producer():
    async def main():
        handoff = Handoff(asyncio.get_running_loop())
        handoff.block(["first"])
        handoff.end()
        blocks = handoff.blocks()
        async for _ in blocks:
            break
        await blocks.aclose()  # what a cancelled or abandoned stream's generator gets
        return handoff.block(["after the reader left"])

    assert asyncio.run(main()) is False


class _Counting(Backend):
    """An in-process backend whose stream yields three chunks and its usage, slowly."""

    kind = "counting"

    def load(self):
        pass

    def stream(self, prompt):
        from harness.backends import Usage

        for word in ("a", "b", "c"):
            time.sleep(0.03)
            yield word
        yield Usage(input_tokens=1, output_tokens=3, input_tokens_source="runtime", output_tokens_source="runtime",
                    finish_reason="length")


def test_an_in_process_stream_is_timed_by_when_its_chunks_were_made():
    from harness.backends import Prompt

    backend = _Counting.__new__(_Counting)
    raw = asyncio.run(timed_stream_async(backend, Prompt(style="completion", max_tokens=3, text="x")))
    assert raw["error"] is None and raw["output_text"] == "abc" and raw["output_tokens"] == 3
    offsets_ms = [o / 1e6 for o in raw["chunk_offsets_ns"]]
    # ~30 ms apart as they were made, though the loop may have read all three in one wake
    assert all(b - a >= 25 for a, b in zip(offsets_ms, offsets_ms[1:])), offsets_ms
    assert raw["end_offset_ns"] >= raw["chunk_offsets_ns"][-1]

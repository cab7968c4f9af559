"""Hand an in-process engine's output from its own thread to the load generator's event loop, cheaply.

An in-process engine stamps each block on its own thread at the moment its step hands the token over (what a
synchronous caller would stamp on receipt), and the event loop is woken for a batch of blocks at a time: at
most once per `FLUSH_INTERVAL_S`, at once when a stream ends or fails. The stamps, not the wake-ups, are the
timing: a token's time is when the engine produced it, however busy the loop was when it read it, and a level
of N streams costs the loop one wake-up per interval instead of one per token. (A slowdown first blamed on
per-token wake-ups was llama.cpp's OpenMP teams on several threads — harness.backends.compute_thread; with
every computation on one thread, a per-token handoff measured no slower than none.)

Stop strings and cancellation are decided on the engine's thread (the text of each token is made there), so
delivering late never lets a sequence decode past its stop.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections.abc import AsyncIterator, Sequence
from typing import Any

FLUSH_INTERVAL_S = 0.1  # the longest a produced block waits for the loop while its stream goes on


class StampedBlock(list):
    """A block of stream items (answer text, reasoning, usage) produced together at `t_ns`
    (time.perf_counter_ns, on the producing thread): the request's chunk stamps use `t_ns`, not the moment
    the event loop read the block."""

    __slots__ = ("t_ns",)

    def __init__(self, items: Sequence[Any], t_ns: int) -> None:
        super().__init__(items)
        self.t_ns = t_ns


class _End:
    __slots__ = ()


END = _End()  # put after a stream's last block


class LoopMailbox:
    """Worker threads put (stream, item) pairs; the event loop is woken to deliver them in batches.

    One mailbox per event loop (`mailbox_for`), shared by every stream of that loop, so that N concurrent
    streams cost one wake-up per interval, not N.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, flush_interval_s: float = FLUSH_INTERVAL_S) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._pending: list[tuple[asyncio.Queue, Any]] = []
        self._scheduled = False
        self._interval_ns = int(flush_interval_s * 1e9)
        self._last_flush_ns = 0

    def put(self, inbox: asyncio.Queue, item: Any, urgent: bool = False) -> bool:
        """Queue `item` for `inbox` (read on the loop). It reaches the loop within the flush interval, or at
        once when `urgent` (a stream's end or error). False once the loop is closed: nobody reads any more."""
        now_ns = time.perf_counter_ns()
        with self._lock:
            self._pending.append((inbox, item))
            if self._scheduled or not (urgent or now_ns - self._last_flush_ns >= self._interval_ns):
                return not self._loop.is_closed()
            self._scheduled, self._last_flush_ns = True, now_ns
        try:
            self._loop.call_soon_threadsafe(self._deliver)
        except RuntimeError:  # the loop is closed
            return False
        return True

    def _deliver(self) -> None:
        with self._lock:
            items, self._pending, self._scheduled = self._pending, [], False
        for inbox, item in items:
            inbox.put_nowait(item)


_mailboxes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopMailbox] = weakref.WeakKeyDictionary()
_mailboxes_lock = threading.Lock()


def mailbox_for(loop: asyncio.AbstractEventLoop) -> LoopMailbox:
    """The mailbox of `loop` (made on first use)."""
    with _mailboxes_lock:
        mailbox = _mailboxes.get(loop)
        if mailbox is None:
            mailbox = _mailboxes[loop] = LoopMailbox(loop)
        return mailbox


class Handoff:
    """One stream's side of the mailbox: the producer thread calls `block`/`fail`/`end`; the loop iterates."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._mailbox = mailbox_for(loop)
        self._inbox: asyncio.Queue[Any] = asyncio.Queue()
        self.abandoned = threading.Event()  # the reader stopped reading: the producer should stop

    def block(self, items: Sequence[Any], t_ns: int | None = None) -> bool:
        """Hand over `items`, stamped `t_ns` (when the engine produced them; default now). False when nobody
        reads any more (stop producing)."""
        block = StampedBlock(items, time.perf_counter_ns() if t_ns is None else t_ns)
        return self._mailbox.put(self._inbox, block) and not self.abandoned.is_set()

    def fail(self, exc: BaseException) -> None:
        """The stream failed: the reader raises `exc`."""
        self._mailbox.put(self._inbox, exc, urgent=True)

    def end(self) -> None:
        """The stream is over (after its last block, or after `fail`)."""
        self._mailbox.put(self._inbox, END, urgent=True)

    async def blocks(self) -> AsyncIterator[StampedBlock]:
        """The stream's blocks on the event loop, in order; raises what the producer failed with."""
        try:
            while (item := await self._inbox.get()) is not END:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.abandoned.set()

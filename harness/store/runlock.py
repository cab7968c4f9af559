"""The run lock: a run folder is written by one process at a time.

The lock is an OS lock (`flock`) on `run.lock` in the run folder. The kernel releases it when its holder
exits however it ends (Ctrl-C, SIGKILL, a crash), so a killed run never blocks its resume; a stale
`run.lock` file means nothing by itself. The holder writes its pid, host and start time into the file, so a
second process that finds the lock taken can say who holds it.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import os
import platform
from pathlib import Path

LOCK_FILE = "run.lock"


class LockHeld(Exception):
    """The run folder is held by another live process; `holder` is what it wrote about itself."""

    def __init__(self, run_dir: Path, holder: dict) -> None:
        self.run_dir = run_dir
        self.holder = holder
        pid, host, since = (holder.get(k, "?") for k in ("pid", "host", "since"))
        super().__init__(f"{run_dir}: the run is in use by pid {pid} on {host} since {since}")


class RunLock:
    """An exclusive, non-blocking lock on a run folder, held until `release()` or the process ends."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> RunLock:
        """Take the lock, or raise `LockHeld` naming the holder; `OSError` if the folder cannot be written."""
        if self._fd is not None:
            return self
        fd = os.open(self.run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise LockHeld(self.run_dir, read_holder(self.run_dir)) from None
            raise
        self._fd = fd
        holder = {"pid": os.getpid(), "host": platform.node(),
                  "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        try:  # who holds it is for messages only: a full disk must not stop the lock itself
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(holder).encode(), 0)
        except OSError:
            pass
        return self

    def release(self) -> None:
        """Give the lock up (closing the descriptor releases it)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def read_holder(run_dir: Path) -> dict:
    """What the holder of a run's lock wrote about itself (pid, host, since), or `{}` if nothing readable yet."""
    try:
        holder = json.loads((Path(run_dir) / LOCK_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}

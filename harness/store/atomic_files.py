"""Small file-system helpers shared by writers of run outputs."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


def child_path(folder: Path, name: str, suffix: str = "") -> Path:
    """`folder / (name + suffix)` for a name that comes from data (a run id, a model or suite name): only a
    plain file name of letters, digits and . _ + - is accepted, so the path stays inside `folder` whatever
    the name holds; `ValueError` otherwise."""
    if not isinstance(name, str) or not SAFE_NAME.fullmatch(name) or len(name) > 200:
        raise ValueError(f"{name!r} cannot be part of a file name (letters, digits and . _ + - only)")
    return Path(folder) / f"{name}{suffix}"


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder and a rename.

    A reader sees either the old file or the new one, never a half-written file, even if the process is
    killed mid-write.
    """
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """`atomic_write_text` for bytes."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside `path` for a writer that wants a file name; renamed onto `path` on success."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)

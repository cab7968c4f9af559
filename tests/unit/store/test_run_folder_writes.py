"""The run folder's writers and readers under stress: a write that fails part-way, two records with one key,
two holders of one run."""

from __future__ import annotations

import errno
import io
import os
import platform

import pytest

from harness.store.records import RecordWriter, read_records, record_key
from harness.store.runlock import LOCK_FILE, LockHeld, RunLock


def _record(task: str, repetition: int = 0, **extra) -> dict:
    return {"model": "m", "suite": "s", "task_id": task, "repetition": repetition, **extra}


class _FillsUp:
    """A file handle whose device fills up after `room` more bytes: the write takes what fits, then ENOSPC."""

    def __init__(self, handle, room: int) -> None:
        self.handle, self.room = handle, room

    def write(self, data) -> int:
        if self.room <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        taken = self.handle.write(bytes(data[: self.room]))
        self.room -= taken
        return taken

    def close(self) -> None:
        self.handle.close()


def test_a_write_that_fails_part_way_is_cut_back_to_the_last_whole_record(tmp_path):
    path = tmp_path / "records.jsonl"
    with RecordWriter(path) as writer:
        writer.write(_record("a"))
        writer.write(_record("b"))
        whole = path.read_bytes()
        writer._handle = _FillsUp(writer._handle, room=10)
        with pytest.raises(OSError) as raised:
            writer.write(_record("c", output_text="x" * 100))
    assert raised.value.errno == errno.ENOSPC
    assert path.read_bytes() == whole                               # the 10 bytes of "c" are gone
    warnings = io.StringIO()
    assert [r["task_id"] for r in read_records(path, warn=warnings)] == ["a", "b"] and not warnings.getvalue()


def test_a_writer_reopened_on_an_existing_file_appends_after_it(tmp_path):
    path = tmp_path / "records.jsonl"
    with RecordWriter(path) as writer:
        writer.write(_record("a"))
    with RecordWriter(path) as writer:
        assert writer.valid_bytes == path.stat().st_size
        writer.write(_record("b"))
    assert [r["task_id"] for r in read_records(path)] == ["a", "b"]


def test_the_later_of_two_records_with_one_key_wins_and_the_reader_says_so(tmp_path):
    path = tmp_path / "records.jsonl"
    with RecordWriter(path) as writer:
        for record in (_record("a", verdict="wrong"), _record("b"), _record("a", 1), _record("a", verdict="right"),
                       _record("b", level="concurrent:2")):
            writer.write(record)
    warnings = io.StringIO()
    records = read_records(path, warn=warnings)
    assert [(r["task_id"], r["repetition"], r.get("level"), r.get("verdict")) for r in records] == [
        ("b", 0, None, None), ("a", 1, None, None), ("a", 0, None, "right"), ("b", 0, "concurrent:2", None)]
    assert len({record_key(r) for r in records}) == len(records)
    assert f"warning: {path}: 1 record(s) repeat an earlier (model, suite, task, repetition) key; the later " \
           "record of each is used" in warnings.getvalue()


def test_a_run_without_repeated_keys_reads_as_written_without_a_warning(tmp_path):
    path = tmp_path / "records.jsonl"
    with RecordWriter(path) as writer:
        for task in "abc":
            writer.write(_record(task))
    warnings = io.StringIO()
    assert [r["task_id"] for r in read_records(path, warn=warnings)] == ["a", "b", "c"]
    assert warnings.getvalue() == ""


def test_a_held_run_refuses_a_second_holder_naming_the_first_until_it_lets_go(tmp_path):
    first = RunLock(tmp_path).acquire()
    with pytest.raises(LockHeld) as held:
        RunLock(tmp_path).acquire()
    assert held.value.holder["pid"] == os.getpid() and held.value.holder["host"] == platform.node()
    assert str(held.value).startswith(f"{tmp_path}: the run is in use by pid {os.getpid()} on {platform.node()} "
                                      "since 20")
    first.release()
    with RunLock(tmp_path) as second:                              # the kernel lock is free again
        assert second.held
    assert (tmp_path / LOCK_FILE).exists()                          # a left-over file holds nothing by itself
    RunLock(tmp_path).acquire().release()

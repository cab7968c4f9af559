"""Raw per-request records: one JSON line per (model, task, repetition), appended and flushed as each ends.

A record keeps what was observed — timestamps, token counts and their sources, the output text, the
checker's verdict, the error if any — and nothing derived: latencies and rates are computed from it by
`harness.analysis.request_metrics`. Field reference (schema 1):

- `run_id`, `model`, `task_id`, `repetition`, `suite`, `suite_sha256`
- `started_at`: wall-clock ISO-8601 UTC time of the request start (for people; never used for latency)
- `chunk_offsets_ns`: perf_counter offset of each received chunk from the request start, in ns
- `chunk_chars`: characters in each chunk (0 for a token whose text was held back)
- `reasoning_offsets_ns`, `reasoning_chars`, `reasoning_text`: the same for reasoning ("thinking") chunks,
  kept apart from the answer; present only when the stream carried reasoning
- `end_offset_ns`: offset at which the stream ended
- `input_tokens`, `output_tokens` and their `*_source` (`runtime`, `provider`, `tokenizer`, `chunks`)
- `finish_reason`, `output_text`, `expected`, `checker`, `verdict`, `extracted`, `verdict_detail`
- `error`: null, or `{"type": ..., "message": ...}` when the request or the model failed
- `level` (profiled runs): the load level; `attempt` (absent: 1): which run of that level the record belongs
  to — a level whose client was flagged is run again with more client processes, and only a level's latest
  attempt counts (`accepted_attempts`); the earlier attempt's lines stay in the file, superseded
- `ecologits` (API models): the request's EcoLogits estimate, `{"source": "estimated (ecologits)", "energy_j":
  {"min", "max"}, "gco2e": {"min", "max"}, ...}`, or `{"source": "unavailable", "reason": ...}`
"""

from __future__ import annotations

import contextlib
import gc
import json
import operator
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

RECORD_SCHEMA = 1
RECORDS_FILE = "records.jsonl"

try:  # orjson parses large record files several times faster; the standard library does the same job
    import orjson

    _loads: Callable[[bytes | str], Any] = orjson.loads
except ImportError:
    _loads = json.loads


class RecordWriter:
    """Appends records to a JSONL file, one line per record, written to the OS at once so a kill loses at most
    one line. A write that fails (disk full, read-only folder) is cut back to the last whole record, so the
    file never keeps a torn line the writer knows of; the `OSError` is raised after that."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._handle: IO[bytes] = self.path.open("ab", buffering=0)
        self.valid_bytes = self._handle.seek(0, os.SEEK_END)  # the end of the last whole record written

    def write(self, record: dict[str, Any]) -> None:
        """Write one record as a single line; on `OSError`, truncate what part of it reached the file."""
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        view = memoryview(line)
        try:
            while view:  # an unbuffered write may take only part of the line (a disk filling up)
                written = self._handle.write(view)
                view = view[written or 0:]
        except OSError:
            self._cut_back()
            raise
        self.valid_bytes += len(line)

    def _cut_back(self) -> None:
        try:  # truncating frees space, so it works on a full disk; not on a read-only one
            os.truncate(self.path, self.valid_bytes)
        except OSError:
            pass  # the reader and --resume drop a torn last line, with a warning

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


IDENTITY_KEYS = ("model", "task_id", "repetition")


def check_record(record: Any, where: str) -> dict[str, Any]:
    """`record` if it is a JSON object with the identity keys every reader relies on (`model`, `task_id`,
    `repetition`); else `ValueError` naming `where` (file:line) and the first missing key."""
    if record.__class__ is not dict:
        raise ValueError(f"{where}: a record must be a JSON object")
    for key in IDENTITY_KEYS:
        if key not in record:
            raise ValueError(f"{where}: key '{key}': missing (every record needs {', '.join(IDENTITY_KEYS)})")
    return record


def read_records(path: Path, warn: IO[str] | None = sys.stderr) -> list[dict[str, Any]]:
    """All complete records of a JSONL file. A torn last line (a kill mid-write) is dropped with a warning;
    a malformed line elsewhere, or a record without its identity keys, raises `ValueError` naming the line."""
    path = Path(path)
    records: list[dict[str, Any]] = []
    lines = path.read_bytes().split(b"\n")
    with paused_gc():
        _parse_lines(path, lines, records, warn)
        return latest_records(accepted_attempts(records), path, warn)


Key = tuple[str, str, str, int, str]


def record_key(record: dict[str, Any]) -> Key:
    """What identifies a request within a run: (model, suite, task, repetition) and, in a profiled run, the load
    level. A run holds one record per key; two processes writing one run (before the run lock) could leave two."""
    return record["model"], record.get("suite", ""), record["task_id"], record["repetition"], record.get("level") or ""


def attempt_of(record: dict[str, Any]) -> int:
    """Which run of its load level a record belongs to (1 unless the level was run again)."""
    return record.get("attempt") or 1


def accepted_attempts(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`records` without those of superseded attempts: per (model, level), only the latest attempt's records
    count (a level run again with more client processes supersedes its earlier run, whose lines stay)."""
    if not any("attempt" in record for record in records):
        return records
    latest: dict[tuple[str, str], int] = {}
    for record in records:
        where = (record["model"], record.get("level") or "")
        latest[where] = max(latest.get(where, 1), attempt_of(record))
    return [r for r in records if attempt_of(r) == latest[(r["model"], r.get("level") or "")]]


_PLAIN_KEY = operator.itemgetter("model", "suite", "task_id", "repetition")


def latest_records(records: list[dict[str, Any]], path: Path, warn: IO[str] | None) -> list[dict[str, Any]]:
    """`records` with one record per key: where a key repeats, the later line wins (it replaced the earlier
    attempt), the survivors stay in file order, and a warning says how many earlier lines were set aside."""
    try:  # the common case first, at C speed: unique without the level, so unique with it
        plain = list(map(_PLAIN_KEY, records))
        if len(set(plain)) == len(plain):
            return records
    except KeyError:  # a record without `suite` (older runs)
        pass
    keys = list(map(record_key, records))
    if len(set(keys)) == len(keys):
        return records
    last = {key: index for index, key in enumerate(keys)}
    kept = sorted(last.values())
    if warn is not None:
        print(f"warning: {path}: {len(records) - len(kept)} record(s) repeat an earlier (model, suite, task, "
              "repetition) key; the later record of each is used", file=warn)
    return [records[index] for index in kept]


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cycle collector while building many acyclic containers (records, rows): with 100k records
    in memory its full passes cost as much as the work itself. Reference counting still frees memory."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _parse_lines(path: Path, lines: list[bytes], records: list[dict[str, Any]], warn: IO[str] | None) -> None:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = _loads(line)
        except ValueError:  # json.JSONDecodeError and orjson.JSONDecodeError are both ValueErrors
            is_last = all(not rest.strip() for rest in lines[number:])
            if not is_last:
                raise ValueError(f"{path}:{number}: malformed record line") from None
            if warn is not None:
                print(f"warning: {path}:{number}: dropped a torn last line (the run was killed mid-write)", file=warn)
            continue
        if record.__class__ is not dict or "model" not in record or "task_id" not in record \
                or "repetition" not in record:
            check_record(record, f"{path}:{number}")  # raises, naming the line and the key
        records.append(record)

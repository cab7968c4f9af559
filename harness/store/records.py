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
- `ecologits` (API models): the request's EcoLogits estimate, `{"source": "estimated (ecologits)", "energy_j":
  {"min", "max"}, "gco2e": {"min", "max"}, ...}`, or `{"source": "unavailable", "reason": ...}`
"""

from __future__ import annotations

import contextlib
import gc
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

RECORD_SCHEMA = 1
RECORDS_FILE = "records.jsonl"

try:  # orjson parses large record files several times faster; the standard library does the same job
    from orjson import loads as _loads
except ImportError:
    _loads = json.loads


class RecordWriter:
    """Appends records to a JSONL file, one line per record, flushed at once so a kill loses at most one line."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._handle: IO[str] = self.path.open("a", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        """Write one record as a single line and flush it to the OS."""
        self._handle.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        self._handle.flush()

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
    return records


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

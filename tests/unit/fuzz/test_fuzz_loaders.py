"""Fuzzing the loaders of files a user may be handed: suite files (YAML and JSONL), workload specs and
trace files, GGUF headers. Each input ends in a result or the loader's own classified error (SuiteError,
InputError, GGUFError) within the time and memory bounds; an accepted trace holds only finite, bounded
numbers. Seeds: the attack cases of benchmarks/attack_cases_http.py."""

from __future__ import annotations

import json
import math
import struct
import tempfile
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from harness.config.gguf import GGUFError, GGUFInfo, parse_gguf
from harness.errors import InputError
from harness.suites import load_suite_file
from harness.suites.workload import MAX_TOKENS, MAX_TRACE_AT_S, parse_workload
from tests.unit.fuzz.fuzz_budget import FUZZ, bounded

JSON_ATOMS = st.one_of(st.integers(-10, 10**40), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                       st.none(), st.text(max_size=8))
JSON_VALUES = st.recursive(JSON_ATOMS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(["input_tokens", "output_tokens", "prefix_id", "prefix_tokens", "at_s", "x"]), inner,
    max_size=5), max_leaves=10)
TRACE_LINES = st.one_of(JSON_VALUES.map(lambda v: json.dumps(v)), st.text(max_size=60),
                        st.sampled_from(['{"input_tokens": 5, "output_tokens": 2, "at_s": Infinity}',
                                         '{"input_tokens": 5, "output_tokens": 2, "at_s": NaN}',
                                         '{"input_tokens": 1e300, "output_tokens": 2}', "[" * 5000 + "]" * 5000,
                                         '{"input_tokens": 5, "output_tokens": 2, "at_s": 1e308}']))


def _written(name: str, content: bytes) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="fuzz-"))
    path = folder / name
    path.write_bytes(content)
    return path


@FUZZ
@given(lines=st.lists(TRACE_LINES, min_size=1, max_size=6), raw=st.binary(max_size=40))
@example(lines=['{"input_tokens": 5, "output_tokens": 2}'], raw=b"\xff\xfe")
def test_trace_files_load_or_are_refused(lines, raw):
    content = "\n".join(lines).encode() + (b"\n" + raw if raw else b"")
    path = _written("trace.jsonl", content)
    outcome = bounded(lambda: parse_workload(f"trace={path}"), (InputError,))
    if isinstance(outcome, InputError):
        assert str(path) in str(outcome)
        return
    for row in outcome.trace_rows:
        assert 1 <= row["input_tokens"] <= MAX_TOKENS and 1 <= row["output_tokens"] <= MAX_TOKENS
        assert "at_s" not in row or (math.isfinite(row["at_s"]) and 0 <= row["at_s"] <= MAX_TRACE_AT_S)


SPEC_PARTS = st.sampled_from(["in=", "out=", "n=", "seed=", "prefix=", "reuse=", "normal:", "uniform:",
                              "lognormal:", "hist:", "1e300", "inf", "nan", "-1", "0", "5", "2000", ":", ",", "="])


@FUZZ
@given(parts=st.lists(SPEC_PARTS, max_size=12), text=st.text(max_size=20))
@example(parts=["in=", "1e300", ",", "out=", "5"], text="")
@example(parts=["in=", "5", ",", "out=", "5", ",", "n=", "1e300"], text="")
def test_workload_specs_parse_or_are_refused(parts, text):
    outcome = bounded(lambda: parse_workload("".join(parts) + text), (InputError,))
    if not isinstance(outcome, InputError) and outcome.input is not None:
        from harness.suites.workload import workload_rows
        rows = bounded(lambda: workload_rows(outcome) if outcome.n_requests <= 1000 else [], ())
        assert all(1 <= r["input_tokens"] <= MAX_TOKENS and 1 <= r["output_tokens"] <= MAX_TOKENS for r in rows)


YAML_PIECES = st.sampled_from(["name: s\n", "version: 1\n", "tasks:\n", "- id: a\n", "  prompt: hi\n",
                               "  checker: {kind: exact}\n", "  expected: x\n", "kind: dataset\n", "defaults: 3\n",
                               "&a [*a]\n", "!!python/object:os.system\n", "tasks: [1, [2], {x: 3}]\n", "{{{{\n",
                               "\t- \n", "key: \"\\ud800\"\n", "- " * 300 + "x\n", "a: " + "[" * 2000 + "\n"])


@FUZZ
@given(pieces=st.lists(YAML_PIECES, max_size=8), raw=st.binary(max_size=30), jsonl=st.booleans())
@example(pieces=[], raw=b"\xff\xfe\x00", jsonl=True)
@example(pieces=["[" * 5000], raw=b"", jsonl=True)
def test_suite_files_load_or_are_refused(pieces, raw, jsonl):
    content = "".join(pieces).encode() + raw
    path = _written("suite.jsonl" if jsonl else "suite.yaml", content)
    outcome = bounded(lambda: load_suite_file(path), (InputError,))
    if isinstance(outcome, InputError):
        assert str(path) in str(outcome) or "suite" in str(outcome)


def _string(text: bytes) -> bytes:
    return struct.pack("<Q", len(text)) + text


VALUE_KINDS = st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 99])


@st.composite
def gguf_files(draw) -> bytes:
    """A GGUF header from parts (metadata of any value type, nested arrays, tensors of any ggml type), then
    some of its bytes replaced."""
    kvs = []
    for _ in range(draw(st.integers(0, 4))):
        key = draw(st.sampled_from([b"general.alignment", b"general.name", b"general.architecture", b"x"]))
        kind = draw(VALUE_KINDS)
        payload = draw(st.binary(max_size=24))
        if kind == 9:
            payload = struct.pack("<IQ", draw(VALUE_KINDS), draw(st.sampled_from([0, 1, 3, 2**63]))) + payload
        kvs.append(_string(key) + struct.pack("<I", kind) + payload)
    tensors = []
    for index in range(draw(st.integers(0, 3))):
        dims = draw(st.lists(st.sampled_from([0, 1, 31, 32, 256, 4096, 2**40]), max_size=3))
        kind = draw(st.sampled_from([0, 1, 2, 8, 12, 16, 19, 20, 23, 29, 34, 35, 39, 41, 77]))
        tensors.append(_string(f"t{index}".encode()) + struct.pack("<I", len(dims))
                       + b"".join(struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", kind, draw(st.integers(0, 4096))))
    head = b"GGUF" + struct.pack("<IQQ", draw(st.sampled_from([2, 3, 4])), len(tensors), len(kvs)) + b"".join(kvs)
    data = head + b"".join(tensors)
    data += b"\0" * draw(st.integers(0, 4096))
    for _ in range(draw(st.integers(0, 3))):
        if data:
            at = draw(st.integers(0, len(data) - 1))
            data = data[:at] + draw(st.binary(min_size=1, max_size=4)) + data[at + 1:]
    return data


@FUZZ
@given(data=gguf_files())
@example(data=b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + _string(b"general.alignment") + struct.pack("<II", 4, 0))
@example(data=b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + _string(b"x") + struct.pack("<IQ", 9, 1)
         + struct.pack("<IQ", 9, 1) * 3000)
def test_gguf_headers_parse_or_are_refused(data):
    outcome = bounded(lambda: parse_gguf(data, len(data)), (GGUFError,))
    if isinstance(outcome, GGUFInfo) and outcome.n_tensors:  # the tensors' data is all in the file
        assert outcome.required_bytes <= len(data)

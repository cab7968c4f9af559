"""A small GGUF header reader: validates a weights file before a runtime loads it, and reads its metadata.

It reads the header only (magic, version, metadata, tensor table) and checks that the file is long enough
to hold every tensor, so a truncated or corrupt download is reported with a clear message instead of a
crash inside the runtime. Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAGIC = b"GGUF"
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
# ggml tensor types: (elements per block, bytes per block), for the types whose size we can check.
_BLOCKS = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34), 9: (32, 36),
    10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210), 15: (256, 292),
    24: (1, 1), 25: (1, 2), 26: (1, 4), 27: (1, 8), 28: (1, 8), 30: (1, 2),
    # the i-quants, ternary and FP4 types (sizes as ggml's block structs; gguf-py's GGML_QUANT_SIZES agrees)
    16: (256, 66), 17: (256, 74), 18: (256, 98), 19: (256, 50), 20: (32, 18), 21: (256, 110), 22: (256, 82),
    23: (256, 136), 29: (256, 56), 34: (256, 54), 35: (256, 66), 39: (32, 17), 40: (64, 36), 41: (128, 18),
}
MAX_ARRAY_DEPTH = 4  # arrays of arrays: ggml itself reads none; a deeper nesting is a corrupt or hostile header
# Metadata keys kept for the manifest (vocabularies and templates are large and left out).
KEPT_KEYS = ("general.architecture", "general.name", "general.size_label", "general.file_type",
             "general.quantization_version")


class GGUFError(ValueError):
    """The file is not a readable GGUF (bad magic, unsupported version, truncated, corrupt header)."""


@dataclass(frozen=True)
class GGUFInfo:
    """What the header says: version, counts, the size the tensors need, and a few metadata values."""

    version: int
    n_tensors: int
    n_parameters: int
    required_bytes: int
    metadata: dict[str, Any]


class _Reader:
    def __init__(self, buffer: mmap.mmap) -> None:
        self.buffer, self.pos = buffer, 0

    def take(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.buffer):
            raise GGUFError("header ends early (truncated file)")
        (value,) = struct.unpack_from(fmt, self.buffer, self.pos)
        self.pos += size
        return value

    def string(self) -> str:
        length = self.take("<Q")
        if self.pos + length > len(self.buffer):
            raise GGUFError("header ends early (truncated file)")
        raw = self.buffer[self.pos : self.pos + length]
        self.pos += length
        return raw.decode("utf-8", errors="replace")

    def value(self, kind: int, keep: bool, depth: int = 0) -> Any:
        if kind in _SCALARS:
            return self.take(_SCALARS[kind])
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            if depth >= MAX_ARRAY_DEPTH:
                raise GGUFError(f"metadata arrays nested more than {MAX_ARRAY_DEPTH} deep (corrupt header)")
            item_kind, count = self.take("<I"), self.take("<Q")
            if item_kind in _SCALARS and not keep:  # skip fixed-size arrays without decoding them
                self.pos += struct.calcsize(_SCALARS[item_kind]) * count
                if self.pos > len(self.buffer):
                    raise GGUFError("header ends early (truncated file)")
                return None
            items = [self.value(item_kind, keep, depth + 1) for _ in range(count)]
            return items if keep else None
        raise GGUFError(f"unknown metadata value type {kind} (corrupt header)")


def read_gguf_info(path: Path) -> GGUFInfo:
    """Parse and check a GGUF header; raise `GGUFError` saying what is wrong (never another exception for a
    file's content: the header is untrusted bytes)."""
    with Path(path).open("rb") as handle:
        size = Path(path).stat().st_size
        if size < 24:
            raise GGUFError(f"file has {size} bytes, too short for a GGUF header")
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buffer:
            return parse_gguf(buffer, size)


def parse_gguf(buffer: Any, size: int) -> GGUFInfo:
    """`read_gguf_info` on bytes already in memory (a buffer of `size` bytes)."""
    if size < 24:
        raise GGUFError(f"file has {size} bytes, too short for a GGUF header")
    try:
        return _parse(_Reader(buffer), size)
    except (struct.error, OverflowError, MemoryError, RecursionError, ValueError, TypeError) as exc:
        if isinstance(exc, GGUFError):
            raise
        raise GGUFError(f"corrupt header ({type(exc).__name__}: {exc})") from None


def _alignment(value: Any) -> int:
    """general.alignment: a power of two (ggml refuses anything else; 0 would divide by zero below)."""
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0 or value & (value - 1):
        raise GGUFError(f"general.alignment {value!r} is not a power of two (corrupt header)")
    return value


def _parse(reader: _Reader, size: int) -> GGUFInfo:
    if reader.buffer[:4] != MAGIC:
        raise GGUFError(f"bad magic {bytes(reader.buffer[:4])!r} (not a GGUF file)")
    reader.pos = 4
    version = reader.take("<I")
    if version not in (2, 3):
        raise GGUFError(f"unsupported GGUF version {version}")
    n_tensors, n_kv = reader.take("<Q"), reader.take("<Q")
    metadata: dict[str, Any] = {}
    alignment = 32
    for _ in range(n_kv):
        key = reader.string()
        value = reader.value(reader.take("<I"), keep=key in KEPT_KEYS)
        if key == "general.alignment":
            alignment = _alignment(value)
        elif key in KEPT_KEYS:
            metadata[key] = value
    required, n_parameters = 0, 0
    for _ in range(n_tensors):
        name = reader.string()
        n_dims = reader.take("<I")
        if n_dims > 8:
            raise GGUFError(f"tensor with {n_dims} dimensions (corrupt header)")
        dims = [reader.take("<Q") for _ in range(n_dims)]
        elements = 1
        for dim in dims:
            elements *= dim
        kind, offset = reader.take("<I"), reader.take("<Q")
        n_parameters += elements
        block = _BLOCKS.get(kind)
        if block and dims and dims[0] % block[0]:
            raise GGUFError(f"tensor {name[:80]!r}: its first dimension {dims[0]} is not a multiple of its type's "
                            f"block of {block[0]} (corrupt header)")
        nbytes = elements // block[0] * block[1] if block else 0
        required = max(required, offset + nbytes)
    data_start = -(-reader.pos // alignment) * alignment
    if n_tensors and data_start + required > size:
        raise GGUFError(f"truncated: the tensors need {data_start + required} bytes, the file has {size}")
    return GGUFInfo(version=version, n_tensors=n_tensors, n_parameters=n_parameters,
                    required_bytes=data_start + required, metadata=metadata)

"""The GGUF header check: real weights pass, truncated or foreign files are refused with a clear reason."""

from __future__ import annotations

import pytest

from harness.config.gguf import GGUFError, read_gguf_info


def test_foreign_file_is_refused(tmp_path):
    path = tmp_path / "model.gguf"
    path.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(GGUFError, match="bad magic"):
        read_gguf_info(path)
    path.write_bytes(b"GGUF")
    with pytest.raises(GGUFError, match="too short"):
        read_gguf_info(path)

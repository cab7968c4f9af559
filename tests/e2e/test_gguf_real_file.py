"""The GGUF header check: real weights pass, truncated or foreign files are refused with a clear reason."""

from __future__ import annotations

import pytest

from harness.config.gguf import GGUFError, read_gguf_info


def test_real_smollm2_header(smollm2_gguf):
    info = read_gguf_info(smollm2_gguf)
    assert info.version == 3
    assert info.metadata["general.architecture"] == "llama"
    assert 130e6 < info.n_parameters < 140e6                  # "135M"
    assert info.required_bytes == smollm2_gguf.stat().st_size  # tensors end exactly at the end of the file


def _truncated_copy(src, dst, n_bytes):
    with src.open("rb") as handle:
        dst.write_bytes(handle.read(n_bytes))
    return dst


def test_truncated_tensor_data_is_refused(smollm2_gguf, tmp_path):
    size = smollm2_gguf.stat().st_size
    path = _truncated_copy(smollm2_gguf, tmp_path / "cut.gguf", size // 2)
    with pytest.raises(GGUFError, match=rf"truncated: the tensors need {size} bytes, the file has {size // 2}"):
        read_gguf_info(path)


def test_truncated_header_is_refused(smollm2_gguf, tmp_path):
    path = _truncated_copy(smollm2_gguf, tmp_path / "cut.gguf", 4096)
    with pytest.raises(GGUFError, match="header ends early"):
        read_gguf_info(path)

"""models.yaml's llama.cpp settings default to llama.cpp's own (read from the installed llama-cpp-python, so this
needs the compiled runtime: not a unit test)."""

from __future__ import annotations

from harness.config.models_file import load_models_config
from tests.support.runs import write


def test_llama_cpp_settings_default_to_llama_cpps_own(tmp_path):
    import inspect

    import llama_cpp

    from harness.backends.llama_context import FLASH_ATTN, KV_TYPE

    path = write(tmp_path / "models.yaml", "models:\n  - {name: a, kind: llama_cpp, path: a.gguf}\n"
                                           "  - {name: b, kind: llama_cpp, path: b.gguf, flash_attn: on, n_ubatch: 256}\n")
    default, switched = load_models_config(path).models
    reference = llama_cpp.llama_context_default_params()
    assert FLASH_ATTN[default.flash_attn] == reference.flash_attn_type  # auto
    assert KV_TYPE[default.type_k] == reference.type_k and KV_TYPE[default.type_v] == reference.type_v
    assert default.n_ubatch == reference.n_ubatch and default.offload_kqv == reference.offload_kqv
    # loading options go through llama-cpp-python's Llama (it maps use_mmap/use_mlock to llama.cpp's load_mode)
    loading = inspect.signature(llama_cpp.Llama.__init__).parameters
    assert (default.use_mmap, default.use_mlock, default.main_gpu) == (
        loading["use_mmap"].default, loading["use_mlock"].default, loading["main_gpu"].default)
    assert switched.flash_attn == "on" and switched.n_ubatch == 256  # YAML's bare `on` is the word, not True

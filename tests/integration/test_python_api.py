"""`harness.run(RunSpec(...))`: the Python API runs the same checked plan as the command line, prints nothing
but warnings, writes the same records, manifest and report, and records the spec in the manifest."""

from __future__ import annotations

import json

import pytest

import harness
from harness.errors import InputError
from harness.store.records import read_records
from tests.support.fake_api import FakeAPI
from tests.support.runs import fake_openai_models, load_suite


def test_run_spec_runs_a_suite_and_records_the_spec(tmp_path, capsys):
    with FakeAPI(usage={"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}) as api:
        models = fake_openai_models(tmp_path, f"{api.base_url}/v1")
        spec = harness.RunSpec(suites=[str(load_suite(tmp_path, 3))], models_file=models, repeat=2,
                               out_dir=tmp_path / "out", report_dir=tmp_path / "reports",
                               energy={"idle_s": 0})
        result = harness.run(spec)
    assert isinstance(result, harness.RunResult)
    records = read_records(result.run_dir / "records.jsonl")
    assert len(records) == result.n_records == 6 and result.n_errors == 0
    assert {(r["task_id"], r["repetition"]) for r in records} == {(f"t{i}", k) for i in range(3) for k in range(2)}
    manifest = json.loads((result.run_dir / "run.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["settings"]["spec"] == spec.settings_dump()
    assert manifest["settings"]["spec"]["repeat"] == 2
    assert result.report_path is not None and result.report_path.is_file()
    assert capsys.readouterr().out == ""  # the API prints nothing; the CLI does the talking


def test_run_spec_refuses_a_bad_value_before_anything_runs(tmp_path):
    with pytest.raises(ValueError, match="repeat"):
        harness.RunSpec(repeat=0)
    with pytest.raises(ValueError, match="unknown_key|extra"):
        harness.RunSpec(unknown_key=1)
    with pytest.raises(InputError, match="--profile"):
        harness.RunSpec(profile="sideways:3")
    assert not (tmp_path / "out").exists()

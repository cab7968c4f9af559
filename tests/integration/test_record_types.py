"""The typed record definitions cover what a real run writes: every key of every record and of the manifest is
declared (and so described in docs/reference/records.md)."""

from __future__ import annotations

import json

import harness
from harness.store import record_types
from harness.store.records import read_records
from tests.support.fake_api import FakeAPI
from tests.support.runs import fake_openai_models, load_suite


def test_every_written_key_is_declared(tmp_path):
    with FakeAPI(usage={"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}) as api:
        spec = harness.RunSpec(suites=[str(load_suite(tmp_path, 2))],
                               models_file=fake_openai_models(tmp_path, f"{api.base_url}/v1"),
                               out_dir=tmp_path / "out", write_report=False, energy={"idle_s": 0})
        result = harness.run(spec)
    records = read_records(result.run_dir / "records.jsonl")
    assert records
    for record in records:
        assert set(record) <= set(record_types.Record.__annotations__), set(record) - set(record_types.Record.__annotations__)
    manifest = json.loads((result.run_dir / "run.json").read_text())
    assert set(manifest) <= set(record_types.Manifest.__annotations__)
    for suite in manifest["suites"]:
        assert set(suite) <= set(record_types.SuiteEntry.__annotations__)

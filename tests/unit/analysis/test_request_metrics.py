"""Derived metrics follow their written definitions; the records reader survives a torn last line."""

from __future__ import annotations

import io
import json

import pytest

from harness.analysis.model_summary import records_frame, summarize
from harness.analysis.request_metrics import chunk_gaps_s, request_metrics
from harness.store.records import RecordWriter, read_records

MS = 1_000_000  # ns


def _record(**overrides):
    record = {
        "model": "m", "task_id": "t", "repetition": 0, "error": None, "verdict": "correct",
        # a held-back (empty) chunk first, then content at 100, 120, 140 ms; stream ends at 150 ms
        "chunk_offsets_ns": [90 * MS, 100 * MS, 120 * MS, 140 * MS],
        "chunk_chars": [0, 3, 4, 2],
        "end_offset_ns": 150 * MS,
        "input_tokens": 50, "output_tokens": 5,
    }
    record.update(overrides)
    return record


def test_metrics_follow_definitions():
    m = request_metrics(_record())
    assert m["ttft_s"] == pytest.approx(0.100)                       # first non-empty chunk
    assert m["e2e_s"] == pytest.approx(0.150)
    assert m["itl_s"] == pytest.approx((0.140 - 0.100) / (5 - 1))    # (t_last - t_first) / (N_out - 1)
    assert m["tpot_s"] == pytest.approx((0.150 - 0.100) / (5 - 1))   # (E2E - TTFT) / (N_out - 1)
    assert m["output_tok_per_s"] == pytest.approx((5 - 1) / 0.040)
    assert m["prompt_tok_per_s"] == pytest.approx(50 / 0.100)
    assert chunk_gaps_s(_record()) == pytest.approx([0.020, 0.020])


def test_undefined_metrics_are_none_not_zero():
    single = request_metrics(_record(chunk_offsets_ns=[100 * MS], chunk_chars=[3], output_tokens=1))
    assert single["ttft_s"] == pytest.approx(0.1)
    assert single["itl_s"] is None and single["output_tok_per_s"] is None and single["tpot_s"] is None
    failed = request_metrics(_record(error={"type": "X", "message": "boom"}))
    assert all(value is None for value in failed.values())
    empty = request_metrics(_record(chunk_offsets_ns=[], chunk_chars=[]))
    assert empty["ttft_s"] is None and empty["e2e_s"] == pytest.approx(0.15)


def test_summary_accuracy_counts_failures_and_checker_errors_as_not_correct():
    records = [_record(), _record(verdict="incorrect"), _record(verdict="error"),
               _record(verdict=None, error={"type": "X", "message": "x"})]
    (row,) = summarize(records).to_dict("records")
    assert (row["n_requests"], row["n_scored"], row["n_attempted"], row["n_correct"]) == (4, 2, 4, 1)
    assert row["accuracy"] == 0.25                                     # 1 correct of 4 attempted
    assert row["accuracy_of_answered"] == 0.5                          # 1 of the 2 that got a verdict
    assert (row["n_errors"], row["n_checker_errors"]) == (1, 1)
    assert row["ttft_p50_s"] == pytest.approx(0.1)
    assert row["output_tokens"] == 20                                  # the failed request reported 5 too


ID = {"model": "m", "task_id": "a", "repetition": 0}  # what every reader relies on


def test_torn_last_line_is_dropped_with_a_warning(tmp_path):
    path = tmp_path / "records.jsonl"
    with RecordWriter(path) as writer:
        writer.write({**ID, "n": 1})
        writer.write({**ID, "repetition": 1, "n": 2})
    with path.open("a") as handle:
        handle.write('{"n": 3, "output_te')                             # killed mid-write
    warnings = io.StringIO()
    assert read_records(path, warn=warnings) == [{**ID, "n": 1}, {**ID, "repetition": 1, "n": 2}]
    assert "dropped a torn last line" in warnings.getvalue()


def test_corrupt_line_in_the_middle_is_an_error(tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_text(json.dumps({**ID, "n": 1}) + "\n{broken\n" + json.dumps({**ID, "n": 3}) + "\n")
    with pytest.raises(ValueError, match=r"records.jsonl:2: malformed record line"):
        read_records(path)


def test_overlapping_requests_share_the_model_window_by_tokens():
    records = [_record(task_id="a", input_tokens=30, output_tokens=10, energy=None),
               _record(task_id="b", input_tokens=50, output_tokens=10, energy=None)]
    manifest = {"models": {"m": {"energy_window": {"window_s": 2.0, "readings": [
        {"device": "gpu0", "source": "nvml_counter", "j": 100.0}]}}}}
    frame = records_frame(records, manifest)
    assert list(frame["energy_j"]) == pytest.approx([40.0, 60.0])      # 40 and 60 of 100 tokens
    assert set(frame["energy_source"]) == {"nvml_counter (token share)"}


def test_net_energy_subtracts_idle_power_over_the_window():
    window = {"window_s": 0.5, "readings": [{"device": "cpu", "source": "rapl", "j": 20.0}]}
    manifest = {"models": {"m": {"idle": {"window_s": 3, "readings": [{"device": "cpu", "source": "rapl", "w": 8.0}]}}}}
    (row,) = summarize([_record(energy=window)], manifest).to_dict("records")
    assert row["energy_j_per_task"] == 20.0 and row["energy_net_j_per_task"] == pytest.approx(20.0 - 8.0 * 0.5)
    assert row["energy_source"] == "rapl" and row["energy_j_per_output_token"] == pytest.approx(20.0 / 5)


def test_reasoning_chunks_count_for_ttft_and_speed_but_not_ttfat():
    # reasoning at 40, 60, 80 ms; answer at 100, 120, 140 ms (one held back at 90); 8 tokens all streamed
    record = _record(reasoning_offsets_ns=[40 * MS, 60 * MS, 80 * MS], reasoning_chars=[4, 3, 6],
                     reasoning_text="Let me think", output_text="abcdefghi", output_tokens=8,
                     output_tokens_source="provider", reasoning_tokens=3)
    m = request_metrics(record)
    assert m["ttft_s"] == pytest.approx(0.040)                        # first streamed token of any kind
    assert m["ttfat_s"] == pytest.approx(0.100)                       # first answer token
    assert m["output_tok_per_s"] == pytest.approx((8 - 1) / (0.140 - 0.040))
    assert m["itl_s"] == pytest.approx((0.140 - 0.040) / (8 - 1))
    assert m["tpot_s"] == pytest.approx((0.150 - 0.040) / (8 - 1))
    assert m["e2e_output_tok_per_s"] == pytest.approx(8 / 0.150)
    assert chunk_gaps_s(record) == pytest.approx([0.020, 0.020, 0.020, 0.020, 0.020])


def test_hidden_reasoning_tokens_never_divide_the_streamed_window():
    # the provider counts 567 output tokens, 560 of them reasoning it did not stream: 7 were streamed
    hidden = request_metrics(_record(output_tokens=567, reasoning_tokens=560, output_tokens_source="provider",
                                     output_text="The answer is 42."))
    assert hidden["output_tok_per_s"] == pytest.approx((7 - 1) / 0.040)
    assert hidden["tpot_s"] == pytest.approx((0.150 - 0.100) / (7 - 1))
    assert hidden["e2e_output_tok_per_s"] == pytest.approx(567 / 0.150)
    # no reasoning count, and more tokens than the 17 streamed bytes could hold: the streamed count is unknown
    unknown = request_metrics(_record(output_tokens=567, output_tokens_source="provider",
                                      output_text="The answer is 42."))
    assert unknown["output_tok_per_s"] is None and unknown["itl_s"] is None and unknown["tpot_s"] is None
    assert unknown["ttft_s"] == pytest.approx(0.100) and unknown["e2e_output_tok_per_s"] == pytest.approx(567 / 0.150)
    # a local runtime streamed every token it counted, whatever their text
    local = request_metrics(_record(output_tokens=5, output_tokens_source="runtime", output_text=""))
    assert local["output_tok_per_s"] == pytest.approx((5 - 1) / 0.040)

"""GSM8K (completion and chat forms), MMLU generative (both forms) and IFEval scored by lm-evaluation-harness
itself and by the harness, on the same items and the same SmolLM2 weights (`benchmarks/vs_lm_eval.py`): per
item the rendered prompt and stop strings byte for byte, each filter's extracted answer, the verdict, and the
aggregates must be equal. The reference decides; nothing here is an expectation written by hand.

Cost: the first two items of each task (lm-eval's --limit; its exemplar draw still advances in document
order, so the second GSM8K item's exemplars depend on the first draw), 8 new tokens per reply, one generation
(lm-eval's) scored by both sides."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.model
def test_harness_scores_agree_with_lm_eval_item_by_item(tmp_path):
    report_path = tmp_path / "vs_lm_eval.json"
    env = {**os.environ, "PYTHONPATH": str(REPO), "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "vs_lm_eval.py"), "--limit", "2",
                           "--max-new-tokens", "8", "--no-loglik", "--json", str(report_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1800, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(report_path.read_text())
    sections = report["sections"]
    assert set(sections) == {"gsm8k_completion", "gsm8k_chat", "mmlu_generative", "mmlu_generative_chat", "ifeval"}
    for name, compared in sections.items():
        assert len(compared) >= 2, name
        for item in compared:
            assert item["prompt"], (name, item["id"], item.get("prompt_diff"))
            assert item["extracted"], (name, item["id"], item["reply"], item["detail"])
            assert item["verdict"], (name, item["id"], item["reply"], item["detail"])
    assert sum(len(c) for c in sections.values()) == 2 + 2 + 6 + 6 + 2
    for line in report["lines"]:
        if "agreement:" in line:
            assert "agreement: 100% of" in line, line
        if ": lm-eval " in line and ", harness " in line:  # an aggregate: both sides' figures, equal
            theirs, ours = line.split(": lm-eval ")[1].split(", harness ")
            assert float(theirs) == pytest.approx(float(ours), abs=1e-9), line

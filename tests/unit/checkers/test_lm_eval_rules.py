"""The GSM8K and MMLU rules against lm-eval's own: each reply of an adversarial corpus goes through the filter
pipelines and the `exact_match` metric built from lm-eval's installed task YAMLs (its FilterEnsemble, its
registry's filters, its metric function), and through the harness's checker; extraction and verdict must agree.
The reference decides: nothing here is an expectation written by hand."""

from __future__ import annotations

from pathlib import Path

import lm_eval  # the `test` extra (lm-eval==0.4.13): the reference these rules must agree with
import pytest
import yaml
from lm_eval.api.instance import Instance
from lm_eval.api.metrics import exact_match_hf_evaluate
from lm_eval.filters import build_filter_ensemble

from harness.checkers import Gsm8kChecker, MmluChecker

TASKS = Path(lm_eval.__file__).parent / "tasks"

NATALIA = "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips.\n#### 72"
GSM8K_REPLIES = [
    " She sold 72 clips.\n#### 72", "#### 72", "#### 72.", "The answer is #### 72.", "#### $72", "#### 72.00",
    "#### 7,2", "#### -72", " 48 + 24 = 72\nSo 72 clips.", "The answer is 72", "72 clips, not 71", "no number",
    "#### 72\n#### 71", "#### 71\nthe answer is 72", "$72.", "It is 72.5", "72 apples\n\n", "", "####72",
    "#### 72 clips", "##### 72", "Answer: 1,000 or 72", "#### 0.72e2", "The total is $1,234.", "#### 72!",
]
MMLU_REPLIES = [
    "B", "B.", "(B)", "**B**", "B) Paris", "B: Paris", "b.", "  > *C*: because it is", "D\nbecause A is wrong",
    "B. Paris is the capital; A is wrong.", "C, because the others are wrong", "Ａ", "A cat is a mammal. ANSWER: C",
    "ANSWER: C", "Answer: b.", "answer: c", "Answer: **D**", "ANSWER: (C)", "Let me think.\nANSWER: $B$",
    "B or B", "A", "ANSWER: A or B", "A, C", "B/D", "Because of gravity", "The answer is C.", "E", "", " B ",
    "\nB", "B\n", "[B]", "B!", "'B'", "b", "B\tC", "B.\n\nA", " \t C", "B,", "ANSWER: B\nANSWER: B", "¿B?",
]


def _yaml(relative: str) -> dict:
    return yaml.safe_load((TASKS / relative).read_text())


def _run_filters(config: dict, reply: str, doc: dict) -> dict[str, str]:
    """Each of the task's filter pipelines over one reply, as lm-eval's task applies them."""
    answers = {}
    for entry in config["filter_list"]:
        components = [[f["function"], {k: v for k, v in f.items() if k != "function"}] for f in entry["filter"]]
        instance = Instance(request_type="generate_until", doc=doc, arguments=("", {}), idx=0)
        instance.resps = [reply]
        build_filter_ensemble(entry["name"], components).apply([instance])
        answers[entry["name"]] = instance.filtered_resps[entry["name"]]
    return answers


def _exact_match(config: dict, prediction: str, reference: str) -> bool:
    options = {k: v for k, v in config["metric_list"][0].items()
               if k not in ("metric", "aggregation", "higher_is_better")}
    return bool(exact_match_hf_evaluate(predictions=[prediction], references=[reference], **options)["exact_match"])


@pytest.mark.parametrize("reply", GSM8K_REPLIES)
def test_gsm8k_extraction_and_verdict_equal_lm_eval(reply):
    config = _yaml("gsm8k/gsm8k.yaml")
    theirs = _run_filters(config, reply, {"answer": NATALIA})
    for lm_filter, headline in (("strict-match", "strict_match"), ("flexible-extract", "flexible_extract")):
        verdict = Gsm8kChecker(headline=headline).check(reply, NATALIA)
        assert verdict.extracted == theirs[lm_filter]
        assert verdict.scores[headline] == _exact_match(config, theirs[lm_filter], NATALIA)


@pytest.mark.parametrize("reply", MMLU_REPLIES)
@pytest.mark.parametrize("letter", ["B", "C"])
def test_mmlu_generative_extraction_and_verdict_equal_lm_eval(reply, letter):
    config = _yaml("mmlu/generative/_default_template_yaml")
    theirs = _run_filters(config, reply, {})["get_response"]
    verdict = MmluChecker().check(reply, letter)
    assert verdict.extracted == theirs
    assert verdict.correct == _exact_match(config, theirs, letter)
    assert verdict.detail == "rule: lm-eval mmlu_generative"


def test_other_rules_are_chosen_by_name_and_labelled():
    assert MmluChecker(rule="inspect").check("ANSWER: C", "C").correct
    assert not MmluChecker(rule="inspect").check("C", "C").correct  # Inspect reads only `ANSWER: X`
    assert MmluChecker(rule="simple_evals").check("Answer: **Ｃ**", "C").correct
    assert not MmluChecker(rule="lm_eval").check("ANSWER: C", "C").correct
    assert MmluChecker(rule="harness").check("B) Paris", "B").detail.startswith("rule: harness (own rule)")

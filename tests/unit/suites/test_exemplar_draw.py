"""Few-shot exemplars drawn as lm-eval's own samplers draw them (its ContextSampler and FirstNSampler, run
here on the same rows): one Random(seed) per pool, advanced once per item in document order."""

from __future__ import annotations

from pathlib import Path

import pytest
from lm_eval.api.samplers import ContextSampler, FirstNSampler

from harness.suites.dataset_suite import draw_exemplars, parse_spec

REVISION = "0" * 40


def _spec(split: str, fewshot_split: str, select: str = "random", same_subject: bool = False, k: int = 3):
    return parse_spec({"kind": "dataset", "name": "s", "version": 1, "subject": "subject",
                       "source": {"hub": "o/d", "revision": REVISION, "split": split},
                       "prompt": {"chat": "{{ q }}"}, "expected": "a", "checker": "exact", "max_tokens": 4,
                       "few_shot": {"split": fewshot_split, "k": k, "select": select, "same_subject": same_subject,
                                    "answer": "{{ a }}"}}, Path("s.yaml"))


def _rows(n: int, tag: str, subjects=("x",)) -> list[dict]:
    return [{"q": f"{tag} {i}", "a": str(i), "subject": subjects[i % len(subjects)], "index": i} for i in range(n)]


def _strip(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "index"} for r in rows]


def test_random_draw_equals_lm_eval_context_sampler_in_document_order():
    test, train = _rows(9, "test"), _rows(20, "train")
    sampler = ContextSampler(_strip(train), rnd=1234)
    theirs = [sampler.sample(n=5) for _ in test]  # eval_doc=None: another split, as for GSM8K
    ours = draw_exemplars(_spec("test", "train", k=5), test, train, 5, {r["index"] for r in test})
    assert [_strip(ours[i]) for i in range(9)] == theirs


def test_a_selected_item_gets_the_exemplars_of_the_full_run():
    test, train = _rows(9, "test"), _rows(20, "train")
    full = draw_exemplars(_spec("test", "train"), test, train, 3, set(range(9)))
    alone = draw_exemplars(_spec("test", "train"), test, train, 3, {6})
    assert set(alone) == {6} and alone[6] == full[6]
    assert full[6] != draw_exemplars(_spec("test", "train"), test[6:], train, 3, {6})[6]  # the draw is positional


def test_same_split_draws_one_more_and_drops_the_item_itself():
    rows = _rows(8, "row")
    sampler = ContextSampler(_strip(rows), rnd=1234)
    theirs = [sampler.sample(n=3, eval_doc=doc) for doc in _strip(rows)]
    ours = draw_exemplars(_spec("test", "test"), rows, rows, 3, set(range(8)))
    assert [_strip(ours[i]) for i in range(8)] == theirs
    assert all(_strip([rows[i]])[0] not in _strip(ours[i]) for i in range(8))


@pytest.mark.parametrize("same_split", [False, True])
def test_first_n_per_subject_equals_lm_eval_first_n_sampler(same_split):
    test = _rows(6, "test", subjects=("x", "y"))
    dev = test if same_split else _rows(10, "dev", subjects=("x", "y"))
    spec = _spec("test", "test" if same_split else "dev", select="first", same_subject=True, k=2)
    ours = draw_exemplars(spec, test, dev, 2, set(range(6)))
    for row in test:
        pool = _strip([r for r in dev if r["subject"] == row["subject"]])
        theirs = FirstNSampler(pool).sample(n=2, eval_doc=_strip([row])[0] if same_split else None)
        assert _strip(ours[row["index"]]) == theirs


def test_random_same_subject_has_one_generator_per_subject_as_lm_eval_has_one_per_task():
    test, train = _rows(6, "test", subjects=("x", "y")), _rows(12, "train", subjects=("x", "y"))
    ours = draw_exemplars(_spec("test", "train", same_subject=True, k=2), test, train, 2, set(range(6)))
    for subject in ("x", "y"):
        sampler = ContextSampler(_strip([r for r in train if r["subject"] == subject]), rnd=1234)
        for row in (r for r in test if r["subject"] == subject):
            assert _strip(ours[row["index"]]) == sampler.sample(n=2)

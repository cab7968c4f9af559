"""The unbiased pass@k estimator (Chen et al., 2021) against values worked by hand from 1 - C(n-c, k) / C(n, k)."""

from __future__ import annotations

import pytest

from harness.analysis.passk import mean_pass_at_k, pass_at_k


@pytest.mark.parametrize(("n", "c", "k", "value"), [
    (1, 1, 1, 1.0),
    (1, 0, 1, 0.0),
    (10, 3, 1, 0.3),              # 1 - 7/10
    (10, 3, 2, 24 / 45),          # 1 - C(7,2)/C(10,2) = 1 - 21/45
    (5, 2, 3, 0.9),               # 1 - C(3,3)/C(5,3) = 1 - 1/10
    (5, 3, 3, 1.0),               # fewer than k failures: some k-subset always holds a pass
    (4, 0, 2, 0.0),
    (200, 1, 100, 0.5),           # C(199,100)/C(200,100) = 100/200
    (20, 5, 10, 1 - 3003 / 184756),  # C(15,10) = 3003, C(20,10) = 184756
])
def test_pass_at_k_hand_values(n, c, k, value):
    assert pass_at_k(n, c, k) == pytest.approx(value, abs=1e-12)


def test_mean_over_problems():
    passes = {"HumanEval/0": [True, False], "HumanEval/1": [False, False]}
    assert mean_pass_at_k(passes, 1) == pytest.approx(0.25)
    assert mean_pass_at_k(passes, 2) == pytest.approx(0.5)   # problem 0: one failure < k=2, so 1.0


@pytest.mark.parametrize(("n", "c", "k"), [(3, 4, 1), (3, 1, 0), (2, 1, 3), (0, 0, 1)])
def test_invalid_counts_refused(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_too_few_samples_or_no_problems_refused():
    with pytest.raises(ValueError, match="only 1 samples"):
        mean_pass_at_k({"p": [True]}, 2)
    with pytest.raises(ValueError):
        mean_pass_at_k({}, 1)

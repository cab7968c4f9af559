"""pass@k: the chance that at least one of k samples solves a problem, estimated without bias from n >= k
samples of which c passed (Chen et al., 2021, "Evaluating Large Language Models Trained on Code", eq. 1):

    pass@k = E_problems[ 1 - C(n - c, k) / C(n, k) ]

computed as 1 - prod_{i = n-c+1..n} (1 - k / i), which avoids the huge binomials. Meaningful for k > 1 only
when the n samples were drawn at temperature > 0 (`--repeat n`); at n = 1 it is the plain pass rate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k of one problem with `c` passing samples out of `n`."""
    if not 0 <= c <= n or k < 1 or n < 1:
        raise ValueError(f"pass@k needs 0 <= c <= n, n >= 1 and k >= 1 (got n={n}, c={c}, k={k})")
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples per problem, got {n}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def mean_pass_at_k(passes_by_problem: Mapping[str, Iterable[bool]], k: int) -> float:
    """pass@k over problems: the mean of each problem's estimate from its own samples' pass/fail."""
    values = []
    for problem, passes in passes_by_problem.items():
        flags = [bool(p) for p in passes]
        if len(flags) < k:
            raise ValueError(f"pass@{k}: problem {problem!r} has only {len(flags)} samples")
        values.append(pass_at_k(len(flags), sum(flags), k))
    if not values:
        raise ValueError("pass@k of no problems")
    return float(np.mean(values))

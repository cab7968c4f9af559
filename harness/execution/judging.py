"""The judge model behind the `judge` checker: loaded on first use, one request per judged answer.

Its requests go through the same timing, retry and pricing path as any other request; what it answers
and costs is returned to the checker, which stores it in the judged record's `judge` field, apart from
the judged model's own cost. `judge_record` checks a finished request's answer (asking the judge where
its checker does) and stores the verdict in the record.
"""

from __future__ import annotations

import threading
from typing import Any

from harness.backends import Backend, Prompt, backend_class
from harness.checkers import LoglikelihoodChecker, run_checker
from harness.checkers.scoring_identity import scoring_label
from harness.config.kinds import API_KINDS
from harness.config.model_config import has_gguf_source
from harness.config.sources import locate_weights
from harness.cost.pricing import RequestPricer
from harness.execution.request import execute
from harness.execution.retry import RetryPolicy
from harness.suites import Task

JUDGE_MAX_TOKENS = 256


class JudgeClient:
    """Asks one configured model to grade answers; thread-safe (requests are serialised)."""

    def __init__(self, cfg: Any, warn=lambda message: None) -> None:
        self.cfg = cfg
        self._warn = warn
        self._lock = threading.Lock()
        self._backend: Backend | None = None
        self._pricer = RequestPricer(cfg, warn) if cfg.kind in API_KINDS else None

    def _load(self) -> Backend:
        weights = locate_weights(self.cfg).path if has_gguf_source(self.cfg) else None
        backend = backend_class(self.cfg.kind)(self.cfg, weights)
        backend.load()
        return backend

    def ask(self, text: str) -> dict[str, Any]:
        """Send one grading prompt; return the reply text, token counts, cost and error (if any)."""
        with self._lock:
            if self._backend is None:
                self._backend = self._load()
            prompt = Prompt(style="chat", max_tokens=JUDGE_MAX_TOKENS, messages=[{"role": "user", "content": text}])
            raw = execute(self._backend, prompt, RetryPolicy(max_attempts=self.cfg.max_attempts))
        prices, cost = self._pricer.price(raw) if self._pricer else (None, None)
        return {"model": self.cfg.name, "text": raw["output_text"], "input_tokens": raw["input_tokens"],
                "output_tokens": raw["output_tokens"], "cost_usd": cost, "prices": prices, "error": raw["error"]}

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()


def judge_record(task: Task, record: dict[str, Any], completion_style: bool, judge: Any) -> None:
    """Check a finished request's answer and store the verdict (and a judge's reply) in its record."""
    record["expected"] = task.expected
    record["checker"] = task.checker.kind
    record["scoring"] = scoring_label(task.checker)
    record["score_form"] = task.score_form
    if record["error"] is not None:
        record.update(verdict=None, extracted=None, verdict_detail=None, judge=None, scores=None)
        return
    if task.choices is not None:
        assert isinstance(task.checker, LoglikelihoodChecker), "Task's validator: choices go with that checker"
        verdict = task.checker.check_scores([s["logprob"] for s in record["loglikelihoods"]], task.choices,
                                            task.expected)
        record.update(verdict=verdict.verdict, extracted=verdict.extracted, verdict_detail=verdict.detail,
                      judge=None, scores=verdict.scores)
        return
    answer = record["output_text"]
    if completion_style and task.answer_prefix:
        answer = task.answer_prefix + answer
    verdict = run_checker(task.checker, answer, task.expected, judge=judge.ask if judge else None,
                          question=task.question, prompt_style="completion" if completion_style else "chat")
    record.update(verdict=verdict.verdict, extracted=verdict.extracted, verdict_detail=verdict.detail,
                  judge=verdict.judge, scores=verdict.scores)

"""The judge model behind the `judge` checker: loaded on first use, one request per judged answer.

Its requests go through the same timing, retry and pricing path as any other request; what it answers
and costs is returned to the checker, which stores it in the judged record's `judge` field, apart from
the judged model's own cost.
"""

from __future__ import annotations

import threading
from typing import Any

from harness.backends import Prompt, backend_class
from harness.config.kinds import API_KINDS
from harness.config.model_config import has_gguf_source
from harness.config.sources import locate_weights
from harness.cost.pricing import RequestPricer
from harness.execution.request import execute
from harness.execution.retry import RetryPolicy

JUDGE_MAX_TOKENS = 256


class JudgeClient:
    """Asks one configured model to grade answers; thread-safe (requests are serialised)."""

    def __init__(self, cfg: Any, warn=lambda message: None) -> None:
        self.cfg = cfg
        self._warn = warn
        self._lock = threading.Lock()
        self._backend = None
        self._pricer = RequestPricer(cfg, warn) if cfg.kind in API_KINDS else None

    def _load(self):
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

"""A Jinja2 sandbox with resource limits, for the templates of dataset suites.

Jinja's own sandbox stops a template from reaching Python internals; it does not stop one from using the
machine up: `{{ 'x' * 10**10 }}`, `{{ 9 ** 9 ** 9 }}` (which Jinja would otherwise fold at compile time),
`{% for i in range(10**5) %}{% for j in range(10**5) %}...`. A suite file may come from someone else, and
its templates run over rows of a dataset from someone else, so here:

- `*` and `**` are checked before they run: a repeated string may not pass `MAX_RENDER_CHARS`, a repeated
  list or tuple `MAX_REPEATED_ITEMS`, and a power `MAX_POWER_BITS`;
- `range()` takes at most `MAX_RANGE` items and checks the render's deadline as it goes;
- a render may write at most `MAX_RENDER_CHARS` characters and take at most `RENDER_DEADLINE_S` seconds,
  checked at every piece of output, every call, every attribute access and every range item.

Each limit raises `TemplateLimitError` (a Jinja `SecurityError`), which the caller reports with the suite
file, the template's key and the row. Not bounded: a loop that writes nothing, calls nothing and iterates
over a row's own value (its length is the dataset's) — the row's size bounds it.
"""

from __future__ import annotations

import operator
import time
from collections.abc import Iterator
from typing import Any

from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

MAX_RENDER_CHARS = 1_000_000
MAX_POWER_BITS = 4096
MAX_RANGE = 100_000
MAX_REPEATED_ITEMS = 10_000  # a list or tuple times n: each item may be long, and all are written out
RENDER_DEADLINE_S = 2.0


class TemplateLimitError(SecurityError):
    """A template went past one of the render limits."""


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """ImmutableSandboxedEnvironment with the limits of this module; `render` is the way to use it."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self) -> None:
        super().__init__(undefined=StrictUndefined, keep_trailing_newline=True)
        self._deadline = float("inf")
        self.globals["range"] = self._range

    def check_time(self) -> None:
        """Raise `TemplateLimitError` past the current render's deadline."""
        if time.monotonic() > self._deadline:
            raise TemplateLimitError(f"the template took longer than {RENDER_DEADLINE_S:g} s to render")

    def _range(self, *args: int) -> Iterator[int]:
        numbers = range(*args)
        if len(numbers) > MAX_RANGE:
            raise TemplateLimitError(f"range() of {len(numbers)} items (at most {MAX_RANGE})")
        for index, number in enumerate(numbers):
            if index % 256 == 0:
                self.check_time()
            yield number

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        self.check_time()
        if operator_name == "*":
            for seq, times in ((left, right), (right, left)):
                limit = MAX_RENDER_CHARS if isinstance(seq, str) else MAX_REPEATED_ITEMS
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and len(seq) * max(times, 0) > limit:
                    raise TemplateLimitError(f"a repetition of {len(seq)} x {times} items (at most {limit:,})")
            return operator.mul(left, right)
        if operator_name == "**":
            if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 \
                    and right * max(abs(left).bit_length(), 1) > MAX_POWER_BITS:
                raise TemplateLimitError(f"{left} ** {right} is larger than {MAX_POWER_BITS} bits")
            return operator.pow(left, right)
        return super().call_binop(context, operator_name, left, right)

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        self.check_time()
        return super().call(context, obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        self.check_time()
        return super().getattr(obj, attribute)

    def render(self, template: Any, values: dict[str, Any]) -> str:
        """`template` rendered over `values` within the limits."""
        self._deadline = time.monotonic() + RENDER_DEADLINE_S
        pieces, size = [], 0
        try:
            for piece in template.generate(**values):
                size += len(piece)
                if size > MAX_RENDER_CHARS:
                    raise TemplateLimitError(f"the template wrote more than {MAX_RENDER_CHARS:,} characters")
                self.check_time()
                pieces.append(piece)
        finally:
            self._deadline = float("inf")
        return "".join(pieces)

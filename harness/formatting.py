"""How every figure is written, wherever it is shown: money, counts, percentages, grams and missing values.

The terminal summary (its cells and its unit-bearing headers) and the report format through this module, so one
figure reads the same in each (never `$3.21e-05` in one place and `$0.0000321` in another); the CSV exports keep
raw numbers, in columns named with their units:

- money: three significant digits in plain decimals with thousands separators ($0.0000321, $1.23, $12.3,
  $1,234); a column of small figures may be scaled to dollars per 1k or 1M tasks (`money_unit`) so that it
  stays short, and says so in its header.
- numbers (grams, joules, ratios): three significant digits, plain decimals, never an exponent (0.000374,
  3,670).
- counts per day: three significant digits with separators (7,700; 1,560,000), or compact (7.7k, 1.56M).
- percentages: whole percent by default (68%); shares of points with a true minus sign (−23).
- missing (None or NaN): an en dash.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

MISSING = "–"


def is_missing(value: Any) -> bool:
    """None or NaN."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def sig3(value: float) -> str:
    """Three significant digits in plain decimals with separators: 0.000374, 0.0123, 12.3, 4,560."""
    if value == 0:
        return "0"
    if abs(value) >= 99.95:
        return f"{value:,.0f}"
    return f"{value:.{max(0, 2 - math.floor(math.log10(abs(value))))}f}"


def number(value: Any, missing: str = MISSING) -> str:
    """A measured figure (grams, joules, a ratio) to three significant digits; `missing` when unknown."""
    return missing if is_missing(value) else sig3(float(value))


def fixed(value: Any, spec: str, unit: str = "", scale: float = 1.0) -> str:
    """A figure in a fixed format (`.1f`, `.0%`, `d` for counts that pandas stored as floats) and its unit."""
    if is_missing(value):
        return MISSING
    if spec == "d":
        return format(round(value), spec) + unit
    return format(value * scale, spec) + unit


def number_range(low: Any, high: Any) -> str:
    """A min–max estimate (one figure when both ends agree); – when unknown."""
    if is_missing(low):
        return MISSING
    return number(low) if is_missing(high) or number(low) == number(high) else f"{number(low)}–{number(high)}"


def usd(value: Any, missing: str = MISSING) -> str:
    """Dollars to three significant digits in plain decimals: $0.0000321, $1.23, $12.3, $1,234."""
    if is_missing(value):
        return missing
    return ("−$" if value < 0 else "$") + sig3(abs(float(value)))


def pct(value: Any, decimals: int = 0) -> str:
    """A share as a percentage (0.68 -> 68%); – when unknown."""
    return MISSING if is_missing(value) else f"{value:.{decimals}%}"


def points(share: float) -> str:
    """A difference of shares in percentage points, signed, with a true minus sign: +23, −5."""
    return f"{share * 100:+.0f}".replace("-", "−")


def per_day(value: float) -> str:
    """A daily volume to three significant digits with separators: 950, 7,700, 1,560,000 (never 1e+03)."""
    if value >= 999.5:
        digits = math.floor(math.log10(value)) + 1
        return f"{round(value, 3 - digits):,.0f}"
    return f"{value:.3g}"


def compact_count(value: float) -> str:
    """A count to three significant digits with a suffix: 950, 7.7k, 156k, 1.2M."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if round(value, -int(f"{value:e}".split("e")[1]) + 2) >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


@dataclass(frozen=True)
class MoneyUnit:
    """Dollars per `per` tasks (1, 1k or 1M), chosen so the smallest figure shows three significant digits in few
    characters."""

    scale: float
    per: str

    def fmt(self, value: Any) -> str:
        """The figure in this unit ($ per `per`), or – when unknown."""
        return usd(None if is_missing(value) else value * self.scale)

    @property
    def per_correct(self) -> str:
        """The same unit counted in correct tasks: 'correct task', '1k correct', '1M correct'."""
        return self.per.replace("tasks", "correct").replace("task", "correct task")


def money_unit(values: list[Any]) -> MoneyUnit:
    """The first of $ per task, per 1k tasks, per 1M tasks at which the smallest known figure is >= 0.1 (so three
    significant digits take at most four decimals)."""
    known = [v for v in values if not is_missing(v) and v > 0]
    for scale, per in ((1.0, "task"), (1e3, "1k tasks"), (1e6, "1M tasks")):
        if known and min(known) * scale >= 0.1:
            return MoneyUnit(scale, per)
    return MoneyUnit(1e6, "1M tasks") if known else MoneyUnit(1.0, "task")


def accuracy_text(row: dict[str, Any]) -> str:
    """The headline accuracy of a summary row with its denominator and its failures: '40% (4/10, 2 failed)'.
    Failed requests and checker errors are in the denominator as not correct (`harness.analysis.model_summary`)."""
    if is_missing(row.get("accuracy")):
        return MISSING
    denominator = row.get("n_attempted", row.get("n_scored"))
    return f"{pct(row['accuracy'])} ({row['n_correct']}/{denominator}{failed_text(row, ', ')})"


def failed_text(row: dict[str, Any], lead: str = "") -> str:
    """', 2 failed' for a row whose accuracy counts failed requests or checker errors; '' when there are none."""
    n_failed = int(row.get("n_attempted", row.get("n_scored")) or 0) - int(row.get("n_scored") or 0)
    return f"{lead}{n_failed} failed" if n_failed > 0 else ""


def of_answered_text(row: dict[str, Any]) -> str:
    """'50% of answered' where failures make it differ from the headline; '' otherwise."""
    if not failed_text(row) or is_missing(row.get("accuracy_of_answered")):
        return ""
    return f"{pct(row['accuracy_of_answered'])} of answered"

"""Small static SVG charts for the report: no JavaScript, no external fonts, every label escaped.

Each function returns one `<svg>` element as a string. Measured marks are filled; projected ones
(`projected=True`) are hollow or dashed, so the two never look alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22"]
MARGIN = {"left": 170, "right": 24, "top": 28, "bottom": 48}


def color(index: int) -> str:
    """The palette colour for the index-th series."""
    return PALETTE[index % len(PALETTE)]


@dataclass
class Scale:
    """Maps a data interval onto pixels, linearly or logarithmically."""

    low: float
    high: float
    start: float
    end: float
    log: bool = False

    def __post_init__(self) -> None:
        if self.log:
            self.low, self.high = math.log10(self.low), math.log10(self.high)
        if self.high == self.low:
            self.low, self.high = self.low - 1, self.high + 1

    def __call__(self, value: float) -> float:
        v = math.log10(value) if self.log else value
        return self.start + (v - self.low) / (self.high - self.low) * (self.end - self.start)

    def ticks(self) -> list[float]:
        if self.log:
            steps = (1, 2, 5) if self.high - self.low < 3 else (1,)  # 1-2-5 ticks when few decades are shown
            return [m * 10.0**e for e in range(math.floor(self.low), math.ceil(self.high) + 1) for m in steps
                    if self.low - 1e-9 <= math.log10(m * 10.0**e) <= self.high + 1e-9]
        span = self.high - self.low
        step = 10 ** math.floor(math.log10(span / 5)) if span > 0 else 1
        for factor in (1, 2, 5, 10):
            if span / (step * factor) <= 6:
                step *= factor
                break
        first = math.ceil(self.low / step) * step
        return [first + i * step for i in range(int((self.high - first) / step + 1e-9) + 1)]


def fmt_number(value: float) -> str:
    """Compact tick label: 1e-05, 0.003, 12, 1.2k, 3.4M."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:g}M"
    if magnitude >= 1e3:
        return f"{value / 1e3:g}k"
    if magnitude < 1e-3:
        return f"{value:.0e}"
    return f"{value:.3g}"


LEGEND_ROW_PX = 16
LEGEND_CHAR_PX = 7.2   # a generous width of one 12px character, so that a label never runs past its column


def _legend_layout(labels: list[str], width: int) -> tuple[int, float]:
    """Columns and column width for a legend under the plot that keeps every label inside the chart's box."""
    room = width - 40
    longest = max((len(label) for label in labels), default=0) * LEGEND_CHAR_PX + 22   # swatch, gap, label
    columns = max(1, min(len(labels), int(room // max(longest, 1))))
    return columns, room / columns


def legend_height(labels: list[str], width: int) -> int:
    """Pixels the legend of `labels` takes under the plot (0 without labels)."""
    if not labels:
        return 0
    columns, _ = _legend_layout(labels, width)
    return math.ceil(len(labels) / columns) * LEGEND_ROW_PX + 12


def _legend(parts: list[str], entries: list[tuple[str, str]], top: float, width: int) -> None:
    """Legend entries (label, colour) in rows under the plot, inside the chart's box, in as many columns as fit."""
    columns, column_px = _legend_layout([label for label, _ in entries], width)
    for index, (label, colour) in enumerate(entries):
        row, column = divmod(index, columns)
        left, base = 20 + column * column_px, top + 12 + row * LEGEND_ROW_PX
        parts.append(f'<rect class="swatch" x="{left:.1f}" y="{base - 9}" width="9" height="9" fill="{colour}">'
                     f'<title>{escape(label)}</title></rect>'
                     f'<text class="legend" x="{left + 13:.1f}" y="{base}">{escape(label)}</text>')


def _frame(width: int, height: int, title: str) -> list[str]:
    return [f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
            f"<title>{escape(title)}</title>"]


def _axis(parts: list[str], scale: Scale, horizontal: bool, at: float, label: str, other_start: float,
          other_end: float, fmt=fmt_number) -> None:
    for tick in scale.ticks():
        p = scale(tick)
        if horizontal:
            parts.append(f'<line class="grid" x1="{p:.1f}" y1="{other_start:.1f}" x2="{p:.1f}" y2="{other_end:.1f}"/>')
            parts.append(f'<text class="tick" x="{p:.1f}" y="{at + 16:.1f}" text-anchor="middle">{escape(fmt(tick))}</text>')
        else:
            parts.append(f'<line class="grid" x1="{other_start:.1f}" y1="{p:.1f}" x2="{other_end:.1f}" y2="{p:.1f}"/>')
            parts.append(f'<text class="tick" x="{at - 6:.1f}" y="{p + 4:.1f}" text-anchor="end">{escape(fmt(tick))}</text>')
    if horizontal:
        middle = (scale.start + scale.end) / 2
        parts.append(f'<text class="axis-label" x="{middle:.1f}" y="{at + 36:.1f}" text-anchor="middle">{escape(label)}</text>')
    else:
        middle = (scale.start + scale.end) / 2
        parts.append(f'<text class="axis-label" transform="translate(14,{middle:.1f}) rotate(-90)" '
                     f'text-anchor="middle">{escape(label)}</text>')


def scatter(points: list[dict], x_label: str, y_label: str, title: str, log_x: bool = False,
            front: list[tuple[float, float]] | None = None, width: int = 720, height: int = 400,
            x_fmt=fmt_number) -> str:
    """Points {x, y, label, color, projected, title, x_ci, y_ci}; an optional frontier line through `front`.
    `title` (shown on hover) defaults to the label; x_ci / y_ci are (low, high) intervals drawn as whiskers."""
    xs = [v for p in points for v in (p["x"], *(p.get("x_ci") or ())) if not log_x or v > 0] or [1.0]
    ys = [v for p in points for v in (p["y"], *(p.get("y_ci") or ()))] or [0.0]
    lo_x, hi_x = (min(xs) / 2, max(xs) * 2) if log_x else (0.0, max(xs) * 1.1 or 1.0)
    x = Scale(lo_x, hi_x, 60, width - MARGIN["right"], log=log_x)
    y = Scale(0.0, max(1.0, max(ys)), height - MARGIN["bottom"], MARGIN["top"])
    parts = _frame(width, height, title)
    _axis(parts, x, True, height - MARGIN["bottom"], x_label, MARGIN["top"], height - MARGIN["bottom"], fmt=x_fmt)
    _axis(parts, y, False, 60, y_label, 60, width - MARGIN["right"], fmt=lambda v: f"{v:.0%}")
    if front and len(front) > 1:
        path = " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in front)
        parts.append(f'<polyline class="frontier" points="{path}"><title>frontier: no other model is both cheaper '
                     f'and more accurate</title></polyline>')
    for p in points:
        cx, cy = x(p["x"]), y(p["y"])
        fill = "none" if p.get("projected") else p["color"]
        title = escape(p.get("title") or p["label"])
        for key, horizontal in (("x_ci", True), ("y_ci", False)):  # interval whiskers, where known
            if p.get(key):
                lo, hi = p[key]
                ends = (x(lo), cy, x(hi), cy) if horizontal else (cx, y(lo), cx, y(hi))
                parts.append(f'<line class="ci" x1="{ends[0]:.1f}" y1="{ends[1]:.1f}" x2="{ends[2]:.1f}" '
                             f'y2="{ends[3]:.1f}" stroke="{p["color"]}" stroke-width="1.5"><title>{title}</title></line>')
        parts.append(f'<circle class="point" cx="{cx:.1f}" cy="{cy:.1f}" r="6" fill="{fill}" stroke="{p["color"]}" '
                     f'stroke-width="2"><title>{title}</title></circle>')
        parts.append(f'<text class="point-label" x="{cx + 9:.1f}" y="{cy - 8:.1f}">{escape(p["label"])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bars(items: list[dict], x_label: str, title: str, value_fmt=fmt_number, width: int = 720) -> str:
    """Horizontal bars {label, value, color, note, title}; bars with no value are listed as such. `title` (shown
    on hover) defaults to `label: value`. An item with `low` and `high` instead of a value is a range (an
    estimate): drawn as an error bar, never as a bar."""
    row_h = 26
    height = MARGIN["top"] + MARGIN["bottom"] + row_h * max(1, len(items))
    values = [i["value"] for i in items if i["value"] is not None]
    values += [i["high"] for i in items if i["value"] is None and i.get("high") is not None]
    reserve = 230 if any(i["value"] is None and i.get("high") is not None for i in items) else 90  # range labels
    x = Scale(0.0, max(values or [1.0]) * 1.15, MARGIN["left"], width - MARGIN["right"] - reserve)
    parts = _frame(width, height, title)
    _axis(parts, x, True, height - MARGIN["bottom"], x_label, MARGIN["top"], height - MARGIN["bottom"])
    for index, item in enumerate(items):
        top = MARGIN["top"] + index * row_h
        parts.append(f'<text class="bar-label" x="{MARGIN["left"] - 8}" y="{top + 17}" text-anchor="end">'
                     f'{escape(item["label"])}</text>')
        if item["value"] is None and item.get("low") is not None and item.get("high") is not None:
            parts.append(_range_bar(item, x, top + row_h / 2, value_fmt))
            continue
        if item["value"] is None:
            parts.append(f'<text class="bar-note" x="{MARGIN["left"] + 4}" y="{top + 17}">'
                         f'{escape(item.get("note") or "not measured")}</text>')
            continue
        right = x(item["value"])
        parts.append(f'<rect class="bar" x="{MARGIN["left"]}" y="{top + 4}" width="{max(right - MARGIN["left"], 1):.1f}" '
                     f'height="{row_h - 8}" fill="{item["color"]}"><title>'
                     f'{escape(item.get("title") or item["label"] + ": " + value_fmt(item["value"]))}</title></rect>')
        note = f" ({item['note']})" if item.get("note") else ""
        parts.append(f'<text class="bar-value" x="{right + 5:.1f}" y="{top + 17}">{escape(value_fmt(item["value"]) + note)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _range_bar(item: dict, x: Scale, mid: float, value_fmt) -> str:
    """An estimate's min–max range as an error bar with end caps (class `range`)."""
    low, high = x(item["low"]), x(item["high"])
    text = f"{value_fmt(item['low'])}–{value_fmt(item['high'])}" + (f" ({item['note']})" if item.get("note") else "")
    dash = ' stroke-dasharray="5 3"' if item.get("projected") else ""
    tip = f"<title>{escape(item['label'])}: {escape(text)}</title>"  # on every mark, as on every other chart
    return (f'<g class="range{" projected" if dash else ""}">'
            f'<line x1="{low:.1f}" y1="{mid:.1f}" x2="{high:.1f}" y2="{mid:.1f}" stroke="{item["color"]}" '
            f'stroke-width="3"{dash}>{tip}</line>'
            f'<line x1="{low:.1f}" y1="{mid - 7:.1f}" x2="{low:.1f}" y2="{mid + 7:.1f}" stroke="{item["color"]}" stroke-width="2">{tip}</line>'
            f'<line x1="{high:.1f}" y1="{mid - 7:.1f}" x2="{high:.1f}" y2="{mid + 7:.1f}" stroke="{item["color"]}" stroke-width="2">{tip}</line>'
            f'</g><text class="bar-value" x="{high + 5:.1f}" y="{mid + 4:.1f}">{escape(text)}</text>')


def boxes(items: list[dict], x_label: str, title: str, log_x: bool = True, width: int = 720) -> str:
    """Distributions as boxes {label, color, p5, p25, p50, p75, p95, n}: whiskers p5-p95, box p25-p75."""
    row_h = 30
    items = [i for i in items if i.get("p50") is not None]
    height = MARGIN["top"] + MARGIN["bottom"] + row_h * max(1, len(items))
    lows = [i["p5"] for i in items if i["p5"] > 0] or [1e-3]
    highs = [i["p95"] for i in items] or [1.0]
    x_low = min(lows) / 1.5 if log_x else 0.0
    x = Scale(x_low, max(highs) * 1.5, MARGIN["left"], width - MARGIN["right"], log=log_x)
    parts = _frame(width, height, title)
    _axis(parts, x, True, height - MARGIN["bottom"], x_label, MARGIN["top"], height - MARGIN["bottom"])

    def clamp(value: float) -> float:  # a zero on a log axis sits at its left edge
        return x(max(value, x_low)) if log_x else x(value)

    for index, item in enumerate(items):
        mid = MARGIN["top"] + index * row_h + row_h / 2
        parts.append(f'<text class="bar-label" x="{MARGIN["left"] - 8}" y="{mid + 4:.1f}" text-anchor="end">'
                     f'{escape(item["label"])}</text>')
        parts.append(f'<line class="whisker" x1="{clamp(item["p5"]):.1f}" y1="{mid:.1f}" x2="{clamp(item["p95"]):.1f}" '
                     f'y2="{mid:.1f}" stroke="{item["color"]}"><title>{escape(item["label"])}: p5 '
                     f'{fmt_number(item["p5"])} to p95 {fmt_number(item["p95"])}</title></line>')
        left, right = clamp(item["p25"]), clamp(item["p75"])
        parts.append(f'<rect class="box" x="{left:.1f}" y="{mid - 9:.1f}" width="{max(right - left, 1):.1f}" height="18" '
                     f'fill="{item["color"]}" fill-opacity="0.35" stroke="{item["color"]}"><title>'
                     f'{escape(item["label"])}: p5 {fmt_number(item["p5"])}, p25 {fmt_number(item["p25"])}, '
                     f'p50 {fmt_number(item["p50"])}, p75 {fmt_number(item["p75"])}, p95 {fmt_number(item["p95"])} '
                     f'(n={item["n"]})</title></rect>')
        parts.append(f'<line class="median" x1="{clamp(item["p50"]):.1f}" y1="{mid - 9:.1f}" x2="{clamp(item["p50"]):.1f}" '
                     f'y2="{mid + 9:.1f}" stroke="{item["color"]}" stroke-width="3"><title>{escape(item["label"])}: '
                     f'median {fmt_number(item["p50"])} (n={item["n"]})</title></line>')
    parts.append("</svg>")
    return "".join(parts)


def lines(series: list[dict], x_label: str, y_label: str, title: str, x_range: tuple[float, float],
          marks: list[dict] | None = None, width: int = 720, height: int = 420) -> str:
    """Log-log lines {label, color, points: [(x, y)], projected, title}; optional marks {x, y, label}."""
    ys = [y for s in series for _, y in s["points"] if y and y > 0] or [1.0]
    x = Scale(x_range[0], x_range[1], 70, width - MARGIN["right"], log=True)
    y = Scale(min(ys) / 1.5, max(ys) * 1.5, height - MARGIN["bottom"], MARGIN["top"], log=True)
    drawn = [s for s in series if any(b and b > 0 for _, b in s["points"])]
    parts = _frame(width, height + legend_height([s["label"] for s in drawn], width), title)
    _axis(parts, x, True, height - MARGIN["bottom"], x_label, MARGIN["top"], height - MARGIN["bottom"])
    _axis(parts, y, False, 70, y_label, 70, width - MARGIN["right"])
    for s in series:
        points = [(a, b) for a, b in s["points"] if b and b > 0]
        if not points:
            continue
        dash = ' stroke-dasharray="6 4"' if s.get("projected") else ""
        path = " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in points)
        parts.append(f'<polyline class="series" points="{path}" stroke="{s["color"]}" fill="none" stroke-width="2"{dash}>'
                     f'<title>{escape(s.get("title") or s["label"])}</title></polyline>')
    _legend(parts, [(s["label"], s["color"]) for s in drawn], height, width)
    for mark in marks or []:
        if mark["x"] and x_range[0] <= mark["x"] <= x_range[1] and mark["y"] > 0:
            parts.append(f'<circle class="mark" cx="{x(mark["x"]):.1f}" cy="{y(mark["y"]):.1f}" r="4"><title>'
                         f'{escape(mark["label"])}</title></circle>')
    parts.append("</svg>")
    return "".join(parts)


def timeline(series: list[dict], x_labels: list[str], y_label: str, title: str, width: int = 720,
             height: int = 320, y_fmt=fmt_number) -> str:
    """Values over successive runs: series {label, color, values (None where absent)}, one x per run."""
    values = [v for s in series for v in s["values"] if v is not None] or [0.0, 1.0]
    low, high = min(values), max(values)
    pad = (high - low) * 0.1 or abs(high) * 0.1 or 1.0
    left = 100  # room for dollar tick labels
    x = Scale(0, max(len(x_labels) - 1, 1), left + 20, width - MARGIN["right"])
    y = Scale(low - pad, high + pad, height - MARGIN["bottom"], MARGIN["top"])
    drawn = [s for s in series if any(v is not None for v in s["values"])]
    parts = _frame(width, height + legend_height([s["label"] for s in drawn], width), title)
    _axis(parts, y, False, left, y_label, left, width - MARGIN["right"], fmt=y_fmt)
    for index, label in enumerate(x_labels):
        parts.append(f'<text class="tick" x="{x(index):.1f}" y="{height - MARGIN["bottom"] + 16}" '
                     f'text-anchor="middle">{escape(label)}</text>')
    for s in series:
        points = [(i, v) for i, v in enumerate(s["values"]) if v is not None]
        if not points:
            continue
        path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in points)
        dash = ' stroke-dasharray="6 4"' if s.get("dashed") else ""
        parts.append(f'<polyline class="series" points="{path}" stroke="{s["color"]}" fill="none" stroke-width="2"{dash}>'
                     f'<title>{escape(s["label"])}</title></polyline>')
        if s.get("dashed"):  # a reference line: no points
            continue
        for i, v in points:
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.5" fill="{s["color"]}"><title>'
                         f'{escape(s["label"])} · {escape(x_labels[i])}: {escape(y_fmt(v))}</title></circle>')
    _legend(parts, [(s["label"], s["color"]) for s in drawn], height, width)
    parts.append("</svg>")
    return "".join(parts)

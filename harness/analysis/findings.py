"""The answer first: per suite, the few sentences a reader came for, each with its figures.

1. The most accurate model (ties named together), with its interval.
2. The cheapest model ($ per task) whose accuracy is not separated from the most accurate one by the paired
   95% interval (`harness.analysis.stats.separation`); API models that did not run have no accuracy and
   cannot take part.
3. For each local model, the cheapest API it beats on cost and from what daily volume
   (`harness.cost.local.break_even_tasks_per_day`), marked projected when that API did not run.

Also the break-even matrix (local models x API models) that the terminal and the report draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from harness.analysis.comparison import break_even, projected_costs
from harness.analysis.load_levels import level_summary
from harness.analysis.model_summary import accuracy_separation, summarize_frame
from harness.formatting import failed_text, of_answered_text, pct, per_day, points, usd

LOCAL_CHEAPER = "local cheaper above this volume"
BEYOND_CAPACITY = "beyond one machine's capacity"
API_CHEAPER = "api cheaper at any volume"


@dataclass
class Finding:
    """One sentence of the answer: its kind, its text, the models it names, and whether it rests on a
    projected (not measured) API cost."""

    kind: str            # most_accurate | cheapest_equivalent | local_vs_api
    text: str
    models: list[str]
    projected: bool = False


@dataclass
class SuiteAnswer:
    """The answer for one suite, and the tables it was read from."""

    suite: str
    findings: list[Finding]
    summary: pd.DataFrame
    break_even: pd.DataFrame = field(default_factory=pd.DataFrame)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def usd_text(value: float | None) -> str:
    """Dollars as `harness.formatting.usd` writes them ($0.0000160, $1.23, $1,234); 'unknown' when missing."""
    return usd(value, missing="unknown")


tasks_per_day_text = per_day
_points = points
_pct = pct


def most_accurate(summary: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows with the highest accuracy (several when tied), cheapest first."""
    rows = [r for r in summary.to_dict("records") if not _missing(r.get("accuracy"))]
    if not rows:
        return []
    best = max(r["accuracy"] for r in rows)
    tied = [r for r in rows if math.isclose(r["accuracy"], best)]
    return sorted(tied, key=lambda r: (math.inf if _missing(r["cost_usd_per_task"]) else r["cost_usd_per_task"]))


def _pair(separation: pd.DataFrame, a: str, b: str) -> dict[str, Any] | None:
    """The paired difference a − b (sign flipped when the table holds b − a)."""
    for row in separation.to_dict("records"):
        if (row["model_a"], row["model_b"]) == (a, b):
            return row
        if (row["model_a"], row["model_b"]) == (b, a):
            return {**row, "difference": -row["difference"], "ci_low": -row["ci_high"], "ci_high": -row["ci_low"]}
    return None


def findings(summary: pd.DataFrame, separation: pd.DataFrame, comparison: pd.DataFrame) -> list[Finding]:
    """The answer sentences for one suite from its summary, paired separation and break-even tables."""
    out: list[Finding] = []
    top = most_accurate(summary)
    if top:
        best = top[0]
        names = " and ".join(r["model"] for r in top)
        tie = " (tied)" if len(top) > 1 else ""
        answered = of_answered_text(best)
        denominator = best.get("n_attempted", best["n_scored"])
        out.append(Finding("most_accurate", f"Most accurate: {names}{tie}, {_pct(best['accuracy'])} correct "
                           f"({best['n_correct']}/{denominator}{failed_text(best, ', ')}; 95% CI "
                           f"{_pct(best['accuracy_ci_low'])}–{_pct(best['accuracy_ci_high'])}"
                           f"{'; ' + answered if answered else ''}).", [r["model"] for r in top]))
        out.append(_cheapest_equivalent(summary, separation, best))
    for local in (comparison["local_model"].drop_duplicates() if len(comparison) else []):
        out.append(_local_against_apis(local, comparison[comparison["local_model"] == local]))
    return out


def _cheapest_equivalent(summary: pd.DataFrame, separation: pd.DataFrame, best: dict[str, Any]) -> Finding:
    candidates = [best]
    for row in summary.to_dict("records"):
        pair = _pair(separation, row["model"], best["model"]) if row["model"] != best["model"] else None
        if pair is not None and not pair["separated"]:
            candidates.append({**row, "pair": pair})
    priced = [r for r in candidates if not _missing(r["cost_usd_per_task"])]
    if not priced:
        return Finding("cheapest_equivalent", f"No cost is known for {best['model']} or any model its accuracy "
                       "does not separate from, so none can be called cheapest.", [best["model"]])
    cheapest = min(priced, key=lambda r: r["cost_usd_per_task"])
    cost = f"{usd_text(cheapest['cost_usd_per_task'])} per task ({usd_text(cheapest['cost_usd_per_correct'])} " \
           "per correct task)"
    if cheapest["model"] == best["model"]:
        others = len(candidates) - 1
        reason = (f"the {others} model(s) its interval does not separate from it cost more" if others else
                  "every other model's accuracy is separated from it by the paired interval")
        return Finding("cheapest_equivalent", f"Cheapest at that accuracy: {best['model']} itself ({cost}); "
                       f"{reason}.", [best["model"]])
    pair = cheapest["pair"]
    return Finding("cheapest_equivalent", f"Cheapest with accuracy not separated from {best['model']}: {cheapest['model']} at {cost}, "
                   f"{_pct(cheapest['accuracy'])} correct (paired difference {_points(pair['difference'])} points, "
                   f"95% CI {_points(pair['ci_low'])} to {_points(pair['ci_high'])} over {pair['n_tasks']} "
                   "tasks).", [cheapest["model"], best["model"]])


def _basis(row: Any) -> str:
    """Where a break-even row's capacity comes from, as a sentence says it: the measured level and SLO, or
    "batch 1" (one request at a time; the matrix's caption says that no load level was measured)."""
    basis = row.get("capacity_basis") if hasattr(row, "get") else None
    if not isinstance(basis, str) or not basis or basis.startswith("batch 1"):
        return "batch 1"
    return basis


def _local_against_apis(local: str, rows: pd.DataFrame) -> Finding:
    beaten = rows[rows["verdict"] == LOCAL_CHEAPER].sort_values("api_cost_usd_per_task")
    if len(beaten):
        row = beaten.iloc[0]
        projected = row["api_cost_basis"] == "projected"
        mark = "*" if projected else ""
        note = ", projected: that API did not run" if projected else ""
        return Finding("local_vs_api", f"{local} (local) is cheaper than {row['api_model']}{mark} "
                       f"({usd_text(row['api_cost_usd_per_task'])} per task{note}), the cheapest API it beats, from "
                       f"{tasks_per_day_text(row['break_even_tasks_per_day'])} tasks/day (one machine's capacity: "
                       f"{tasks_per_day_text(row['capacity_tasks_per_day'])}/day, {_basis(row)}).",
                       [local, row["api_model"]], projected)
    cheapest = rows.sort_values("api_cost_usd_per_task").iloc[0]
    projected = cheapest["api_cost_basis"] == "projected"
    mark = "*" if projected else ""
    why = ("its marginal cost per task is above that API's price" if cheapest["verdict"] == API_CHEAPER else
           f"the break-even lies beyond one machine's capacity ({tasks_per_day_text(cheapest['capacity_tasks_per_day'])}"
           f"/day, {_basis(cheapest)})")
    return Finding("local_vs_api", f"{local} (local) beats no API on cost at a volume one machine can serve: even "
                   f"against the cheapest, {cheapest['api_model']}{mark} ({usd_text(cheapest['api_cost_usd_per_task'])}"
                   f" per task{', projected' if projected else ''}), {why}.", [local, cheapest["api_model"]], projected)


def suite_answers(frame: pd.DataFrame, manifest: dict[str, Any], skipped_models: list[Any],
                  suites: list[Any], overall: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame] | None = None
                  ) -> list[SuiteAnswer]:
    """The answer for every suite in `frame` (in first-seen order). `suites` are the loaded suites (for
    projecting the cost of API models that did not run); a suite missing there gets no projection. With a
    single suite, `overall` (its summary, separation and break-even, already computed) is used as it is."""
    names = list(dict.fromkeys(frame["suite"]))
    if len(names) == 1 and overall is not None:
        summary, separation, comparison = overall
        return [SuiteAnswer(str(names[0]), findings(summary, separation, comparison), summary, comparison)]
    by_name = {s.name: s for s in suites if s is not None}
    answers = []
    for name in names:
        part = frame[frame["suite"] == name]
        summary = summarize_frame(part, manifest)
        projected = projected_costs(part, skipped_models, [by_name[name]]) \
            if skipped_models and name in by_name else None
        slos_s = (manifest.get("settings") or {}).get("slos") or {}
        comparison = break_even(summary, manifest, projected, level_summary(part, manifest, slos_s))
        answers.append(SuiteAnswer(str(name), findings(summary, accuracy_separation(part), comparison), summary,
                                   comparison))
    return answers


def break_even_matrix(comparison: pd.DataFrame) -> tuple[list[str], list[dict[str, Any]], dict]:
    """Break-even rows as a matrix: local model names, API columns {model, cost_usd_per_task, projected}
    (cheapest first), and cells {(local, api): row}."""
    if not len(comparison):
        return [], [], {}
    locals_ = list(dict.fromkeys(comparison["local_model"]))
    apis = comparison.drop_duplicates("api_model").sort_values("api_cost_usd_per_task")
    columns = [{"model": r["api_model"], "cost_usd_per_task": r["api_cost_usd_per_task"],
                "projected": r["api_cost_basis"] == "projected"} for r in apis.to_dict("records")]
    cells = {(r["local_model"], r["api_model"]): r for r in comparison.to_dict("records")}
    return locals_, columns, cells

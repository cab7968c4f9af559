"""Synthetic workloads and trace replay: suites whose tasks are token counts, not texts.

A workload gives each request an input and an output length in tokens (and optionally a shared prefix);
the text is built per model at request time, with that model's own tokenizer, to the exact count
(`harness.execution.sizing`). Workload tasks are unscored: they measure cost and speed at a token mix.

Specs (`--workload`), comma-separated `key=value`:

    in=2000,out=300                       fixed lengths (tokens)
    in=normal:2000:400,out=uniform:100:500  distributions: normal:MEAN:SD, uniform:LOW:HIGH,
                                          lognormal:MEDIAN:SIGMA, hist:FILE (CSV rows `tokens,weight`)
    prefix=0.7:4096                       70% of requests start with one shared 4,096-token prefix
    n=20                                  requests (default 20)
    seed=0                                draws are fixed by the seed
    reuse=on                              let the runtime reuse its prefix (KV) cache between requests
    trace=FILE.jsonl                      replay rows {input_tokens, output_tokens, prefix_id?, at_s?}

Lengths are rounded and clipped to at least 1 token (prefix requests: at least the prefix + 1).
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import SuiteError

DEFAULT_REQUESTS = 20
# Bounds on a trace row: far above any model's context and any replay's length, far below what would
# overflow a float sum or make the replay's clock meaningless.
MAX_TOKENS = 10_000_000
MAX_TRACE_AT_S = 366 * 24 * 3600.0
MAX_REQUESTS = 1_000_000
MAX_SEED = 2**32 - 1
_KEYS = {"in", "out", "prefix", "n", "seed", "reuse", "trace"}


@dataclass(frozen=True)
class Distribution:
    """A token-length distribution: `fixed`, `normal`, `uniform`, `lognormal` or `hist` (values, weights)."""

    kind: str
    params: tuple[float, ...] = ()
    values: tuple[int, ...] = ()
    weights: tuple[float, ...] = ()

    def draw(self, rng: np.random.Generator, n: int) -> list[int]:
        """`n` lengths, rounded, at least 1."""
        if self.kind == "fixed":
            raw = np.full(n, self.params[0])
        elif self.kind == "normal":
            raw = rng.normal(self.params[0], self.params[1], n)
        elif self.kind == "uniform":
            raw = rng.uniform(self.params[0], self.params[1], n)
        elif self.kind == "lognormal":
            raw = rng.lognormal(np.log(self.params[0]), self.params[1], n)
        else:
            probabilities = np.asarray(self.weights) / sum(self.weights)
            raw = rng.choice(np.asarray(self.values), size=n, p=probabilities)
        return [min(MAX_TOKENS, max(1, int(round(v)))) for v in np.clip(raw, 1, MAX_TOKENS)]

    def describe(self) -> str:
        if self.kind == "fixed":
            return f"{self.params[0]:g}"
        if self.kind == "hist":
            return f"hist({len(self.values)} bins)"
        return f"{self.kind}:" + ":".join(f"{p:g}" for p in self.params)


@dataclass(frozen=True)
class WorkloadSpec:
    """A parsed `--workload`: lengths, the shared-prefix share, count, seed, reuse; or a trace file."""

    text: str
    input: Distribution | None = None
    output: Distribution | None = None
    prefix_share: float = 0.0
    prefix_tokens: int = 0
    n_requests: int = DEFAULT_REQUESTS
    seed: int = 0
    reuse_prefix: bool = False
    trace: str | None = None
    trace_rows: list[dict[str, Any]] = field(default_factory=list, compare=False)

    def describe(self) -> str:
        """The shape in one line, for the summary, the report and the break-even table."""
        if self.trace:
            ins = [r["input_tokens"] for r in self.trace_rows]
            outs = [r["output_tokens"] for r in self.trace_rows]
            shape = (f"trace {Path(self.trace).name}: {len(ins)} requests, mean {np.mean(ins):.0f} in / "
                     f"{np.mean(outs):.0f} out tokens")
        else:
            shape = f"{self.input.describe()} in / {self.output.describe()} out tokens"
            if self.prefix_share:
                shape += f", {self.prefix_share:.0%} share a {self.prefix_tokens}-token prefix"
        return shape + (", prefix cache reused" if self.reuse_prefix else "")


def _fail(spec: str, key: str, message: str) -> SuiteError:
    return SuiteError(f"--workload {spec!r}: key '{key}': {message}")


def _number(spec: str, key: str, text: str, upper: float = MAX_TOKENS) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _fail(spec, key, f"{text!r} is not a number") from None
    if not np.isfinite(value) or not 0 <= value <= upper:
        raise _fail(spec, key, f"{text!r} must be a finite number from 0 to {upper:,.0f}")
    return value


def _histogram(spec: str, key: str, path_text: str) -> Distribution:
    path = Path(path_text)
    try:
        rows = [row for row in csv.reader(path.read_text(encoding="utf-8").splitlines())
                if row and not row[0].startswith("#")]
    except OSError as exc:
        raise _fail(spec, key, f"cannot read histogram file {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise _fail(spec, key, f"histogram file {path} is not CSV text: {exc}") from None
    values, weights = [], []
    for number, row in enumerate(rows, 1):
        if number == 1 and not row[0].strip().lstrip("-").replace(".", "").isdigit():
            continue  # a header line
        if len(row) != 2:
            raise _fail(spec, key, f"{path}:{number}: expected 'tokens,weight'")
        values.append(int(_number(spec, key, row[0])))
        weights.append(_number(spec, key, row[1], upper=1e12))
    if not values or sum(weights) <= 0:
        raise _fail(spec, key, f"{path}: no rows with a positive weight")
    return Distribution("hist", values=tuple(values), weights=tuple(weights))


def _distribution(spec: str, key: str, text: str) -> Distribution:
    kind, _, rest = text.partition(":")
    if not rest:
        value = _number(spec, key, text)
        if value < 1:
            raise _fail(spec, key, "a length must be at least 1 token")
        return Distribution("fixed", (value,))
    if kind == "hist":
        return _histogram(spec, key, rest)
    arity = {"normal": 2, "uniform": 2, "lognormal": 2}
    if kind not in arity:
        raise _fail(spec, key, f"unknown distribution {kind!r} (normal, uniform, lognormal, hist)")
    params = tuple(_number(spec, key, p) for p in rest.split(":"))
    if len(params) != arity[kind]:
        raise _fail(spec, key, f"{kind} takes {arity[kind]} numbers, e.g. {kind}:2000:400")
    if kind == "uniform" and params[0] > params[1]:
        raise _fail(spec, key, "uniform:LOW:HIGH needs LOW <= HIGH")
    return Distribution(kind, params)


def read_trace(spec: str, path_text: str) -> list[dict[str, Any]]:
    """Rows of a trace file, validated: positive integer token counts, `at_s` non-decreasing where given."""
    path = Path(path_text)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise _fail(spec, "trace", f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise _fail(spec, "trace", f"{path} is not UTF-8 text (byte {exc.start})") from None
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            raw = json.loads(line, parse_constant=_no_constant)
        except RecursionError:
            raise SuiteError(f"{where}: malformed JSON: nested too deeply") from None
        except ValueError as exc:  # JSONDecodeError, or a NaN/Infinity constant
            if not isinstance(exc, json.JSONDecodeError):
                raise SuiteError(f"{where}: {exc}") from None
            raise SuiteError(f"{where}: malformed JSON: {exc.msg}") from None
        if not isinstance(raw, dict):
            raise SuiteError(f"{where}: expected an object with input_tokens and output_tokens")
        unknown = sorted(set(raw) - {"input_tokens", "output_tokens", "prefix_id", "prefix_tokens", "at_s"})
        if unknown:
            raise SuiteError(f"{where}: key '{unknown[0]}': unknown (input_tokens, output_tokens, prefix_id, "
                             "prefix_tokens, at_s)")
        row: dict[str, Any] = {}
        for key in ("input_tokens", "output_tokens"):
            value = raw.get(key)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_TOKENS:
                raise SuiteError(f"{where}: key '{key}': must be an integer from 1 to {MAX_TOKENS:,}")
            row[key] = value
        if raw.get("prefix_id") is not None:
            row["prefix_id"] = str(raw["prefix_id"])
            prefix_tokens = raw.get("prefix_tokens")
            if not isinstance(prefix_tokens, int) or not 1 <= prefix_tokens < row["input_tokens"]:
                raise SuiteError(f"{where}: key 'prefix_tokens': a row with prefix_id needs an integer "
                                 "1 <= prefix_tokens < input_tokens")
            row["prefix_tokens"] = prefix_tokens
        if raw.get("at_s") is not None:
            at_s = raw["at_s"]
            if not isinstance(at_s, (int, float)) or isinstance(at_s, bool) or not 0 <= at_s <= MAX_TRACE_AT_S:
                raise SuiteError(f"{where}: key 'at_s': must be a finite number of seconds from 0 to "
                                 f"{MAX_TRACE_AT_S:g}")
            if rows and rows[-1].get("at_s") is not None and at_s < rows[-1]["at_s"]:
                raise SuiteError(f"{where}: key 'at_s': arrival times must not decrease")
            row["at_s"] = float(at_s)
        rows.append(row)
    if not rows:
        raise _fail(spec, "trace", f"{path} has no rows")
    if 0 < sum("at_s" in r for r in rows) < len(rows):
        raise _fail(spec, "trace", f"{path}: give at_s on every row or on none")
    return rows


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a trace may hold (JSON has no NaN or Infinity)")


def parse_workload(text: str) -> WorkloadSpec:
    """Parse a `--workload` spec (see the module docstring); `SuiteError` names the key that is wrong."""
    parts: dict[str, str] = {}
    for item in (p.strip() for p in text.split(",") if p.strip()):
        key, sep, value = item.partition("=")
        if not sep or key not in _KEYS:
            raise _fail(text, key, f"unknown or missing key (one of: {', '.join(sorted(_KEYS))})")
        parts[key] = value
    reuse = parts.get("reuse", "off")
    if reuse not in ("on", "off"):
        raise _fail(text, "reuse", "on or off")
    seed = int(_number(text, "seed", parts.get("seed", "0"), MAX_SEED))
    if "trace" in parts:
        extra = sorted(set(parts) - {"trace", "reuse", "seed"})
        if extra:
            raise _fail(text, extra[0], "a trace gives its own lengths and prefixes")
        rows = read_trace(text, parts["trace"])
        return WorkloadSpec(text, n_requests=len(rows), seed=seed, reuse_prefix=reuse == "on",
                            trace=parts["trace"], trace_rows=rows)
    for key in ("in", "out"):
        if key not in parts:
            raise _fail(text, key, "required (e.g. in=2000,out=300)")
    n = _number(text, "n", parts.get("n", str(DEFAULT_REQUESTS)), MAX_REQUESTS)
    if n < 1 or n != int(n):
        raise _fail(text, "n", "must be a whole number of requests >= 1")
    share, prefix_tokens = 0.0, 0
    if "prefix" in parts:
        share_text, _, tokens_text = parts["prefix"].partition(":")
        share, prefix_tokens = _number(text, "prefix", share_text), int(_number(text, "prefix", tokens_text or "0"))
        if not 0 < share <= 1 or prefix_tokens < 1:
            raise _fail(text, "prefix", "SHARE:TOKENS with 0 < SHARE <= 1 and TOKENS >= 1, e.g. prefix=0.7:4096")
    return WorkloadSpec(text, _distribution(text, "in", parts["in"]), _distribution(text, "out", parts["out"]),
                        share, prefix_tokens, int(n), seed, reuse == "on")


def workload_rows(spec: WorkloadSpec) -> list[dict[str, Any]]:
    """One row per request: input_tokens, output_tokens and, for prefix requests, prefix_id/prefix_tokens."""
    if spec.trace:
        return [dict(r) for r in spec.trace_rows]
    rng = np.random.default_rng(spec.seed)
    inputs, outputs = spec.input.draw(rng, spec.n_requests), spec.output.draw(rng, spec.n_requests)
    n_prefixed = int(round(spec.prefix_share * spec.n_requests))
    prefixed = set(rng.choice(spec.n_requests, size=n_prefixed, replace=False).tolist()) if n_prefixed else set()
    rows = []
    for index, (n_in, n_out) in enumerate(zip(inputs, outputs)):
        row = {"input_tokens": n_in, "output_tokens": n_out}
        if index in prefixed:
            row.update(input_tokens=max(n_in, spec.prefix_tokens + 1), prefix_id="p0", prefix_tokens=spec.prefix_tokens)
        rows.append(row)
    return rows


def workload_hash(spec: WorkloadSpec, rows: list[dict[str, Any]]) -> str:
    """sha256 over the rows and the options that change what is measured (not the spec's spelling)."""
    canonical = json.dumps({"rows": rows, "reuse_prefix": spec.reuse_prefix}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def spec_record(spec: WorkloadSpec) -> dict[str, Any]:
    """The spec as stored in the manifest (enough to rebuild the suite on resume)."""
    data = asdict(spec)
    data.pop("trace_rows")
    data["shape"] = spec.describe()
    return data


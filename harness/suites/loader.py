"""Load suites from YAML/JSONL files, dataset suite files and built-in names; compute the content hash.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness.checkers import CHECKERS, needs_expected
from harness.checkers.scoring_identity import scoring_identity, scoring_label
from harness.config.model_config import NAME_PATTERN
from harness.config.yaml_file import format_validation_error, load_yaml_file
from harness.errors import ConfigError, SuiteError
from harness.suites.selection import Selection, select_positions
from harness.suites.task import (
    BUILTIN_DIR,
    DATASETS_DIR,
    Suite,
    Task,
)


def _normalise_task(raw: dict, defaults: dict) -> dict:
    data = {**defaults, **raw}
    if "prompt" in data:
        if "messages" in data:
            raise ValueError("give 'prompt' or 'messages', not both")
        prompt = data.pop("prompt")
        system = data.pop("system", None)
        data["messages"] = ([{"role": "system", "content": system}] if system is not None else []) + [
            {"role": "user", "content": prompt}
        ]
    spec = data.get("checker")
    if isinstance(spec, str):
        spec = {"kind": spec}
    if not isinstance(spec, dict) or spec.get("kind") not in CHECKERS:
        kind = spec.get("kind") if isinstance(spec, dict) else spec
        raise ValueError(f"key 'checker': unknown or missing checker {kind!r} (one of: {', '.join(CHECKERS)})")
    try:
        data["checker"] = CHECKERS[spec["kind"]].model_validate(spec)
    except ValidationError as exc:
        raise ValueError(f"checker {spec['kind']}: {format_validation_error(exc)}") from None
    return data


def _build_suite(path: Path, name: str, version: Any, description: str, defaults: dict, raw_tasks: list,
                 selection: Selection | None = None, dataset: dict[str, Any] | None = None,
                 n_total: int | None = None) -> Suite:
    """Validate tasks and hash them; `selection` (for written suites) takes part of them after validation."""
    selection = selection or Selection()
    if not re.fullmatch(NAME_PATTERN, name):  # the name becomes part of run ids, hence of paths
        where = "key 'name'" if path.suffix != ".jsonl" else "the file name (a JSONL suite is named after it)"
        raise SuiteError(f"{path}: {where}: {name!r} is not a valid suite name (letters, digits, . _ -)")
    if not raw_tasks:
        raise SuiteError(f"{path}: key 'tasks': the suite has no tasks")
    tasks: list[Task] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_tasks):
        label = f"task '{raw['id']}'" if isinstance(raw, dict) and isinstance(raw.get("id"), str) else f"task {index + 1}"
        if not isinstance(raw, dict):
            raise SuiteError(f"{path}: {label}: expected a mapping of keys")
        if not {"prompt", "messages"} & (set(raw) | set(defaults)):
            raise SuiteError(f"{path}: {label}: key 'prompt': required (a task needs 'prompt' or 'messages')")
        if "checker" not in raw and "checker" not in defaults:
            raise SuiteError(f"{path}: {label}: key 'checker': required")
        kind = (raw.get("checker") or defaults.get("checker"))
        kind = kind.get("kind") if isinstance(kind, dict) else kind
        if kind in CHECKERS and "expected" not in raw and "expected" not in defaults and needs_expected(kind):
            raise SuiteError(f"{path}: {label}: key 'expected': required by checker {kind}")
        try:
            task = Task.model_validate(_normalise_task(raw, defaults))
        except ValidationError as exc:
            raise SuiteError(f"{path}: {label}: {format_validation_error(exc)}") from None
        except ValueError as exc:
            raise SuiteError(f"{path}: {label}: {exc}") from None
        if task.id in seen:
            raise SuiteError(f"{path}: {label}: key 'id': duplicate task id")
        seen.add(task.id)
        tasks.append(task)
    if dataset is None:
        n_total = len(tasks)
        if selection.shots:
            raise SuiteError(f"--shots: suite {name} ({path}) is not a dataset suite with few-shot exemplars")
        if selection.subjects:
            unknown = sorted(set(selection.subjects) - {t.category for t in tasks})
            if unknown:
                raise SuiteError(f"--subject: {unknown[0]!r} is not a category of suite {name} ({path})")
            tasks = [t for t in tasks if t.category in selection.subjects]
        tasks = [tasks[p] for p in select_positions([t.category for t in tasks], selection)]
    content: dict[str, Any] = {"name": name, "version": version,
                               # Defaults left out: a field added later does not change existing suites' hashes.
                               "tasks": [t.model_dump(mode="json", exclude_defaults=True) for t in tasks]}
    # How the replies are scored, defaults included: a changed default or checker gives another hash.
    content["scoring"] = sorted({json.dumps(scoring_identity(t.checker), sort_keys=True) for t in tasks})
    if dataset is not None:
        content["dataset"] = {k: dataset.get(k) for k in ("dataset", "config", "revision", "split")}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return Suite(name=name, version=version, description=description, source=str(path),
                 sha256=hashlib.sha256(canonical.encode()).hexdigest(), tasks=tasks, dataset=dataset,
                 selection=None if selection.is_default else selection.to_record(), n_total=n_total,
                 scoring=sorted({scoring_label(t.checker) for t in tasks}))


def load_suite_file(path: Path, selection: Selection | None = None) -> Suite:
    """Load and validate a suite file (YAML, JSONL, or a `kind: dataset` YAML); raise `SuiteError` naming file,
    task and key (a dataset that is neither cached nor reachable: `DatasetUnavailable`)."""
    path = Path(path)
    if path.suffix == ".jsonl":
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise SuiteError(f"{path}: cannot read suite: {exc}") from None
        except UnicodeDecodeError as exc:
            raise SuiteError(f"{path}: not UTF-8 text (byte {exc.start})") from None
        raw_tasks = []
        for number, line in enumerate(lines, 1):
            if line.strip():
                try:
                    raw_tasks.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise SuiteError(f"{path}:{number}: malformed JSON: {exc.msg}") from None
                except RecursionError:
                    raise SuiteError(f"{path}:{number}: malformed JSON: nested too deeply") from None
        return _build_suite(path, path.stem, 1, "", {}, raw_tasks, selection)
    try:
        raw = load_yaml_file(path, "suite file")
    except ConfigError as exc:
        raise SuiteError(str(exc)) from None
    if not isinstance(raw, dict):
        raise SuiteError(f"{path}: expected a mapping with 'name', 'version' and 'tasks'")
    if raw.get("kind") == "dataset":
        return _load_dataset_suite(raw, path, selection or Selection())
    if "kind" in raw:
        raise SuiteError(f"{path}: key 'kind': {raw['kind']!r} is not a suite kind (dataset, or leave it out)")
    unknown = sorted(set(raw) - {"name", "version", "description", "defaults", "tasks"})
    if unknown:
        raise SuiteError(f"{path}: key '{unknown[0]}': unknown top-level key")
    for key in ("name", "version", "tasks"):
        if key not in raw:
            raise SuiteError(f"{path}: key '{key}': required")
    defaults = raw.get("defaults") or {}
    if not isinstance(defaults, dict) or not isinstance(raw["tasks"], list):
        raise SuiteError(f"{path}: keys 'defaults' and 'tasks' must be a mapping and a list")
    return _build_suite(path, str(raw["name"]), raw["version"], str(raw.get("description") or ""), defaults,
                        raw["tasks"], selection)


def _load_dataset_suite(raw: dict, path: Path, selection: Selection) -> Suite:
    from harness.suites.dataset_suite import build_dataset_tasks, parse_spec

    spec = parse_spec(raw, path)
    raw_tasks, dataset = build_dataset_tasks(spec, path, selection)
    return _build_suite(path, spec.name, spec.version, spec.description, {}, raw_tasks, selection, dataset,
                        n_total=dataset["n_items"])


def builtin_suites() -> dict[str, Path]:
    """Built-in suite names and their files: the written suites, then the recognised benchmarks."""
    return {p.stem: p for p in [*sorted(BUILTIN_DIR.glob("*.yaml")), *sorted(DATASETS_DIR.glob("*.yaml"))]}


def dataset_suites() -> dict[str, Path]:
    """The recognised benchmarks (dataset suites shipped with the harness) and their files."""
    return {p.stem: p for p in sorted(DATASETS_DIR.glob("*.yaml"))}


def load_suite(name_or_path: str, selection: Selection | None = None) -> Suite:
    """A built-in suite by name, a suite file by path, or `workload:SPEC` (harness.suites.workload);
    `selection` takes part of a suite file."""
    if name_or_path.startswith("workload:"):
        return workload_suite(name_or_path.removeprefix("workload:"))
    builtins = builtin_suites()
    if name_or_path in builtins:
        return load_suite_file(builtins[name_or_path], selection)
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml", ".jsonl") or path.exists():
        if not path.is_file():
            raise SuiteError(f"{path}: suite file not found")
        return load_suite_file(path, selection)
    raise SuiteError(f"unknown suite {name_or_path!r} (built-in: {', '.join(builtins)}; or give a .yaml/.jsonl path)")


def workload_suite(text: str) -> Suite:
    """The suite of a `--workload` spec (harness.suites.workload): one unscored task per request."""
    from harness.suites.workload import parse_workload, workload_hash, workload_rows

    spec = parse_workload(text)
    rows = workload_rows(spec)
    tasks = []
    for index, row in enumerate(rows):
        prefix = f", {row['prefix_tokens']}-token prefix {row['prefix_id']}" if row.get("prefix_id") else ""
        tasks.append(Task(
            id=f"w{index + 1:05d}",
            messages=[{"role": "user", "content": f"[synthetic: {row['input_tokens']} tokens in{prefix}]"}],
            max_tokens=row["output_tokens"], checker={"kind": "none"},
            workload={**row, "reuse_prefix": spec.reuse_prefix},
        ))
    return Suite(name="workload", version=1, description=spec.describe(), source=f"workload:{text}",
                 sha256=workload_hash(spec, rows), tasks=tasks)


def reload_suite(info: dict[str, Any]) -> Suite:
    """The suite a manifest entry describes (its file, with the selection the run made)."""
    if str(info["source"]).startswith("workload:"):
        return workload_suite(info["source"].removeprefix("workload:"))
    return load_suite_file(Path(info["source"]), Selection.from_record(info.get("selection")))

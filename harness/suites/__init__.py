"""Task suites: versioned data files of tasks, each with a prompt, an expected answer and a checker.

A suite file is YAML (a mapping with `name`, `version`, `description`, optional `defaults`, and `tasks`) or
JSONL (one task per line; the suite is named after the file), or a `kind: dataset` file whose tasks are made
from a dataset's rows (`harness.suites.dataset_suite`; the recognised benchmarks are such files, in
`benchmarks/`). The suite's content hash — sha256 of the canonical JSON of its validated tasks, and for a
dataset suite of the dataset's id, revision and split — is recorded with every run, so two runs are
comparable only when their hashes match. A `Selection` (`--limit`, `--sample`, `--subject`, `--shots`)
takes part of a suite; the hash then covers exactly the items, exemplars and prompts taken.

Stage rule: it may import checkers, config, store, errors, host.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from harness.checkers import CHECKERS, CheckerSpec, needs_expected
from harness.config.models import NAME_PATTERN, StrictModel, format_validation_error, load_yaml_file
from harness.errors import ConfigError, SuiteError
from harness.suites.selection import Selection, select_positions

BUILTIN_DIR = Path(__file__).parent
BENCHMARKS_DIR = BUILTIN_DIR / "benchmarks"
DEFAULT_COMPLETION_TEMPLATE = "Question: {prompt}\nAnswer:"
DEFAULT_COMPLETION_STOP = ["\n"]


class Message(StrictModel):
    """One chat message."""

    role: Literal["system", "user", "assistant"]
    content: str


class WorkloadShape(StrictModel):
    """A synthetic request's token counts (harness.suites.workload): its text is built per model, to size."""

    input_tokens: int = Field(ge=1)
    output_tokens: int = Field(ge=1)
    prefix_id: str | None = None
    prefix_tokens: int = Field(default=0, ge=0)
    reuse_prefix: bool = False
    at_s: float | None = Field(default=None, ge=0)


class Task(StrictModel):
    """One task: a chat prompt (and optionally a completion form for base models), an answer and a checker."""

    id: str = Field(pattern=NAME_PATTERN)
    category: str | None = Field(default=None, description="the task's subject (strata of --sample, breakdowns)")
    group: str | None = Field(default=None, description="a group of subjects (MMLU's categories)")
    messages: list[Message] = Field(min_length=1)
    completion: str | None = Field(default=None, description="prompt for base (completion-style) models")
    stop: list[str] | None = Field(default=None, description="stop strings of the completion form (default: a "
                                  "newline; [] for none)")
    max_tokens: int = Field(ge=1, le=32768)
    expected: str | int | float | list[Any] | dict[str, Any] | None = None
    reference: str | None = Field(default=None, description="a known-correct answer, for the suite self-test")
    answer_prefix: str | None = Field(default=None, description="prepended to a completion-style output before "
                                      "checking: the part of the answer the completion prompt already wrote")
    checker: CheckerSpec = Field(discriminator="kind")
    workload: WorkloadShape | None = Field(default=None, description="a synthetic request: token counts, no text")
    choices: list[str] | None = Field(default=None, min_length=2, description="continuations scored by "
                                      "log-likelihood after the completion prompt (the log-likelihood form); "
                                      "`expected` is the index of the gold one")

    @model_validator(mode="after")
    def _last_message_is_user(self) -> Task:
        if self.messages[-1].role != "user":
            raise ValueError("the last message must have role 'user'")
        return self

    @model_validator(mode="after")
    def _choices_scored_by_loglikelihood(self) -> Task:
        if (self.choices is not None) != (self.checker.kind == "loglikelihood"):
            raise ValueError("'choices' and checker 'loglikelihood' go together (the log-likelihood form)")
        if self.choices is not None and self.completion is None:
            raise ValueError("'choices' need a 'completion' prompt: the context they are scored after")
        return self

    @property
    def score_form(self) -> str:
        """`loglikelihood` (options scored by the model's log-probabilities) or `generative` (a reply checked)."""
        return "loglikelihood" if self.choices is not None else "generative"

    @property
    def question(self) -> str:
        """The task's last user message (what a judge is shown)."""
        return self.messages[-1].content

    def completion_prompt(self) -> tuple[str, list[str]]:
        """Prompt and stop strings for a completion-style model: the task's own form, else a default template."""
        if self.completion is not None:
            return self.completion, list(DEFAULT_COMPLETION_STOP) if self.stop is None else list(self.stop)
        return DEFAULT_COMPLETION_TEMPLATE.format(prompt=self.messages[-1].content), list(DEFAULT_COMPLETION_STOP)


class Suite(StrictModel):
    """A validated suite and its content hash."""

    name: str
    version: int | str
    description: str = ""
    source: str
    sha256: str
    tasks: list[Task]
    dataset: dict[str, Any] | None = Field(default=None, description="dataset id, revision, split, licence, "
                                           "n_rows (of the split), n_items (of the chosen subjects), shots")
    selection: dict[str, Any] | None = Field(default=None, description="the Selection that took part of the suite")
    n_total: int | None = Field(default=None, description="items in the whole suite (tasks: those selected)")


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
    if dataset is not None:
        content["dataset"] = {k: dataset.get(k) for k in ("dataset", "config", "revision", "split")}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return Suite(name=name, version=version, description=description, source=str(path),
                 sha256=hashlib.sha256(canonical.encode()).hexdigest(), tasks=tasks, dataset=dataset,
                 selection=None if selection.is_default else selection.to_record(), n_total=n_total)


def load_suite_file(path: Path, selection: Selection | None = None) -> Suite:
    """Load and validate a suite file (YAML, JSONL, or a `kind: dataset` YAML); raise `SuiteError` naming file,
    task and key (a dataset that is neither cached nor reachable: `DatasetUnavailable`)."""
    path = Path(path)
    if path.suffix == ".jsonl":
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise SuiteError(f"{path}: cannot read suite: {exc}") from None
        raw_tasks = []
        for number, line in enumerate(lines, 1):
            if line.strip():
                try:
                    raw_tasks.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise SuiteError(f"{path}:{number}: malformed JSON: {exc.msg}") from None
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
    return {p.stem: p for p in [*sorted(BUILTIN_DIR.glob("*.yaml")), *sorted(BENCHMARKS_DIR.glob("*.yaml"))]}


def benchmark_suites() -> dict[str, Path]:
    """The recognised benchmarks (dataset suites shipped with the harness) and their files."""
    return {p.stem: p for p in sorted(BENCHMARKS_DIR.glob("*.yaml"))}


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

